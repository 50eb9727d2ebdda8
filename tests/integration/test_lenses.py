"""The Lenses SQL envelope (issue 8): Lenses' SQL WebSocket over SQLite,
run in the sandbox by runnel-sql over read-only per-environment datasets."""

import ast
import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import REPO, RUNNEYD, SPECS, Server, arun  # noqa: E402
from lenses_client import SQL_PATH, query, records, types  # noqa: E402

GOOD = "tok-good-0123456789"      # every environment
DEMO_ONLY = "tok-demo-0123456789"  # demo only

EVENTS = [
    {"key": {"id": 1}, "value": {"n": 1, "ok": True, "tags": ["a"]},
     "metadata": {"offset": 0, "partition": 0, "timestamp": 1678707744267}},
    "this is not json",
    {"key": None, "value": {"n": 2, "ok": False, "tags": []},
     "metadata": {"offset": 1, "partition": 0, "timestamp": 1678707745267}},
    [1, 2, 3],
    {"key": {"id": 3}, "value": {"n": 3, "ok": True, "tags": ["b", "c"]},
     "metadata": {"offset": 2, "partition": 1, "timestamp": 1678707746267}},
]


def make_datasets(d: Path):
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "events.jsonl", "w") as f:
        for e in EVENTS:
            f.write((e if isinstance(e, str) else json.dumps(e)) + "\n")
    (d / "people.csv").write_text('name,age,city\nada,36,"London, UK"\nalan,41,Wilmslow\n'
                                  'grace,85,"New ""York"""\nbroken,1\n')
    con = sqlite3.connect(d / "shop.db")
    con.execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT, qty INTEGER)")
    con.executemany("INSERT INTO orders(item, qty) VALUES(?, ?)",
                    [("apple", 3), ("pear", 5), ("plum", 7)])
    con.commit()
    con.close()
    (d / "secret.txt").write_text("not a dataset\n")


def digest(d: Path):
    h = hashlib.sha256()
    for p in sorted(d.iterdir()):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def lenses_config(data: Path, **over):
    cfg = {
        "environments": {
            "demo": {"path": str(REPO / "runtimes" / "lenses-demo"), "auth": False},
            "secure": {"path": str(data)},
        },
        "tokens": {GOOD: ["*"], DEMO_ONLY: ["demo"]},
        "default_environment": "demo",
        "heartbeat_ms": 10000,
    }
    cfg.update(over)
    return cfg


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    """One quick spec, with the runtimes dir (and so the demo data) beside it."""
    root = tmp_path_factory.mktemp("lenses-specs")
    (root / "specs").mkdir()
    shutil.copy(SPECS / "bash.json", root / "specs" / "bash.json")
    os.symlink(REPO / "runtimes", root / "runtimes")
    return root / "specs"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("lenses") / "secure"
    make_datasets(d)
    return d


@pytest.fixture(scope="module")
def srv(tmp_path_factory, data_dir, specs):
    tmp = tmp_path_factory.mktemp("srv")
    s = Server(tmp, "lenses", specs, limits={"concurrency": 4, "queue": 64, "per_connection": 4},
               config={"lenses": lenses_config(data_dir)})
    s.start()
    yield s
    code = s.stop()
    # a clean exit (sanitizer builds may exit 1 for leaks inside libwebsockets)
    assert code is not None and code >= 0, s.log_tail()


@pytest.fixture(scope="module")
def limited(tmp_path_factory, data_dir, specs):
    tmp = tmp_path_factory.mktemp("limited")
    s = Server(tmp, "limited", specs, config={"lenses": lenses_config(
        data_dir, max_rows=5, max_bytes=2048, max_time_ms=1500, heartbeat_ms=300)})
    s.start()
    yield s
    s.stop()


AUTH = {"Authorization": "Bearer " + GOOD}


def q(server, sql, env="demo", headers=None, **extra):
    return arun(query(server, {"sql": sql, **extra}, env=env, headers=headers), 60)


def upgrade_status(server, path, headers=None):
    """The HTTP status of a WebSocket upgrade request (refusals come before it)."""
    h = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    h.update(headers or {})
    st, _, _ = server.http("GET", path, headers=h, timeout=10)
    return st


def assert_ends(frames, code):
    assert code == 1000, f"close code {code}"
    assert frames and frames[-1] == {"type": "END"}, frames[-3:]
    assert types(frames).count("END") == 1


# ---------------------------------------------------------------- the seed

def test_seed_client_as_written_against_embedded_demo(tmp_path, specs):
    """No config at all: the embedded demo environment needs no token."""
    s = Server(tmp_path, "defaults", specs, use_config=False)
    s.start()
    try:
        env = dict(os.environ, HQ_HOST=f"{s.host}:{s.port}", HQ_TOKEN="anything")
        p = subprocess.run([sys.executable, str(Path(__file__).parent / "lenses_seed_client.py")],
                           env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        printed = ast.literal_eval(p.stdout.strip().splitlines()[-1])
        assert len(printed) == 100
        assert [r["data"]["rownum"] for r in printed] == list(range(100))
        for r in printed:
            assert r["type"] == "RECORD"
            assert set(r["data"]) == {"key", "value", "metadata", "rownum"}
            assert set(r["data"]["value"]) == {"id", "name", "score", "active", "tags"}
        # the embedded defaults have no other environment
        assert upgrade_status(s, SQL_PATH.format(env="prod")) == 404
    finally:
        code = s.stop()
        assert code is not None and code >= 0, s.log_tail()


# ---------------------------------------------------------------- shapes

def test_select_star_topic_order_and_shapes(srv):
    frames, raw, code = q(srv, "SELECT * FROM sea_vessel_position_reports LIMIT 3")
    assert_ends(frames, code)
    assert types(frames) == ["METADATA", "RECORD", "RECORD", "RECORD", "END"]
    assert frames[0]["data"]["fields"] == ["offset", "partition", "timestamp", "__keysize",
                                           "__valuesize", "keySchemaId", "valueSchemaId"]
    recs = records(frames)
    for i, r in enumerate(recs):
        assert list(r) == ["key", "value", "metadata", "rownum"]
        assert r["rownum"] == i
        assert set(r["key"]) == {"MMSI"} and r["key"]["MMSI"] == r["value"]["MMSI"]
        assert list(r["value"]) == ["Type", "Repeat", "MMSI", "Speed", "Accuracy", "Longitude",
                                    "Latitude", "location", "Course", "Heading", "Second",
                                    "RAIM", "Radio", "Status", "Turn", "Maneuver", "Timestamp"]
        assert type(r["value"]["Accuracy"]) is bool
        assert list(r["metadata"]) == frames[0]["data"]["fields"]
        assert r["metadata"]["timestamp"].endswith("Z") and "T" in r["metadata"]["timestamp"]
    # numbers are passed through as written: 64-bit integers and -128.0
    assert '"Timestamp":1491318144456507320' in raw[1] and '"Turn":-128.0' in raw[1]
    assert all(f.get("statementIndex") == 0 for f in frames if f["type"] == "RECORD")


def test_key_projection_has_metadata_but_no_key(srv):
    frames, _, code = q(srv, "SELECT _key.MMSI FROM sea_vessel_position_reports LIMIT 2")
    assert_ends(frames, code)
    assert types(frames) == ["METADATA", "RECORD", "RECORD", "END"]
    for r in records(frames):
        assert list(r) == ["value", "metadata", "rownum"]
        assert list(r["value"]) == ["MMSI"] and type(r["value"]["MMSI"]) is int
        assert {"offset", "partition", "timestamp"} <= set(r["metadata"])


def test_aggregation_has_no_key_or_metadata(srv):
    frames, _, code = q(srv, "SELECT count(*), currency FROM cc_payments GROUP BY currency")
    assert_ends(frames, code)
    assert frames[0] == {"type": "METADATA", "data": {"fields": []}}
    recs = records(frames)
    assert len(recs) == 6 and sum(r["value"]["count"] for r in recs) == 1000
    for r in recs:
        assert list(r) == ["value", "rownum"] and list(r["value"]) == ["count", "currency"]


def test_statements_run_in_order_with_their_index(srv):
    frames, _, code = q(srv, "SELECT id FROM input WHERE id < 2; SELECT 'x' AS a;")
    assert_ends(frames, code)
    assert types(frames) == ["METADATA", "RECORD", "RECORD", "METADATA", "RECORD", "END"]
    assert [f["statementIndex"] for f in frames if f["type"] == "RECORD"] == [0, 0, 1]
    assert records(frames)[2]["value"] == {"a": "x"}


def test_stats_periodic_and_last(srv):
    sql = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
           "SELECT count(*) AS n FROM c")
    frames, _, code = q(srv, sql, stats=100, live=True)
    assert_ends(frames, code)
    t = types(frames)
    assert t[0] == "METADATA" and t[-2:] == ["STATS", "END"]
    assert t.count("RECORD") == 1 and records(frames)[0]["value"] == {"n": 3000000}
    last = frames[-2]["data"]
    assert last["results"] == 1
    stats = [f for f in frames if f["type"] == "STATS"]
    assert len({s["data"]["id"] for s in stats}) == 1


def test_stats_names_sources(srv):
    frames, _, code = q(srv, "SELECT * FROM cc_payments LIMIT 2", stats=1000)
    assert_ends(frames, code)
    assert types(frames) == ["METADATA", "RECORD", "RECORD", "STATS", "END"]
    d = frames[-2]["data"]
    assert list(d["sources"].values()) == ["cc_payments"]
    (sid,) = d["sources"]
    assert d["sourcesStats"][sid]["0"]["recordsScanned"] == 1000
    assert d["results"] == 2 and d["bytesRead"] > 0


def test_default_and_alternate_paths(srv):
    for path in ("/api/ws/v2/sql/execute", "/environment/demo/proxy/api/ws/v2/sql/execute",
                 "/api/v1/environments/demo/proxy/api/ws/v2/sql/execute/"):
        frames, _, code = arun(query(srv, {"sql": "SELECT count(*) AS n FROM input"},
                                     path=path))
        assert_ends(frames, code)
        assert records(frames)[0]["value"] == {"n": 100}, path
    st, _, _ = srv.http("GET", "/api/ws/v2/sql/execute")
    assert st == 426


# ---------------------------------------------------------------- datasets

def test_jsonl_badrecords_csv_and_sqlite(srv, data_dir):
    before = digest(data_dir)
    frames, _, code = q(srv, "SELECT * FROM events", env="secure", headers=AUTH)
    assert_ends(frames, code)
    assert types(frames) == ["METADATA", "BADRECORD", "BADRECORD", "RECORD", "RECORD", "RECORD",
                             "END"]
    bad = [f["data"]["metadata"] for f in frames if f["type"] == "BADRECORD"]
    assert [b["offset"] for b in bad] == [1, 3] and {b["table"] for b in bad} == {"events"}
    recs = records(frames)
    assert [r["value"]["n"] for r in recs] == [1, 2, 3]
    assert "key" not in recs[1] and recs[0]["key"] == {"id": 1}
    assert recs[0]["value"] == {"n": 1, "ok": True, "tags": ["a"]}

    frames, _, code = q(srv, "SELECT name, age, city FROM people ORDER BY age", env="secure",
                        headers=AUTH)
    assert_ends(frames, code)
    assert types(frames).count("BADRECORD") == 1
    assert [r["value"] for r in records(frames)] == [
        {"name": "ada", "age": 36, "city": "London, UK"},
        {"name": "alan", "age": 41, "city": "Wilmslow"},
        {"name": "grace", "age": 85, "city": 'New "York"'}]

    frames, _, code = q(srv, "SELECT item, qty FROM orders WHERE qty > 4", env="secure",
                        headers=AUTH)
    assert_ends(frames, code)
    assert [r["value"] for r in records(frames)] == [{"item": "pear", "qty": 5},
                                                    {"item": "plum", "qty": 7}]
    assert digest(data_dir) == before


@pytest.mark.parametrize("sql, words", [
    ("ATTACH '/etc/passwd' AS x", "ATTACH is not allowed"),
    ("ATTACH 'file:/data/shop.db?mode=rw' AS w", "ATTACH is not allowed"),
    ("INSERT INTO events(_key) VALUES ('1')", "not allowed"),
    ("UPDATE orders SET qty = 0", "not allowed"),
    ("DELETE FROM orders", "not allowed"),
    ("CREATE TABLE t(a)", "not allowed"),
    ("DROP TABLE orders", "not allowed"),
    ("SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')", "load_extension"),
    ("PRAGMA writable_schema = 1", "not allowed"),
    ("PRAGMA shop.journal_mode = WAL", "not allowed"),
    ("VACUUM INTO '/tmp/copy.db'", "not allowed"),
    ("SELECT readfile('/etc/passwd')", "readfile"),
])
def test_writes_attach_and_extensions_refused(srv, data_dir, sql, words):
    before = digest(data_dir)
    frames, _, code = q(srv, sql, env="secure", headers=AUTH)
    assert_ends(frames, code)
    assert types(frames) == ["ERROR", "END"], frames
    assert words in frames[0]["data"], frames[0]
    assert digest(data_dir) == before


def test_sql_error_is_error_then_end(srv):
    frames, _, code = q(srv, "SELEC * FROM input")
    assert_ends(frames, code)
    assert frames == [{"type": "ERROR", "data": 'near "SELEC": syntax error'}, {"type": "END"}]
    frames, _, code = q(srv, "SELECT * FROM no_such_table")
    assert frames == [{"type": "ERROR", "data": "no such table: no_such_table"},
                      {"type": "END"}]
    # an error in a later statement comes after the earlier one's records
    frames, _, code = q(srv, "SELECT 1 AS a; SELECT nope FROM input")
    assert types(frames) == ["METADATA", "RECORD", "ERROR", "END"]


@pytest.mark.parametrize("raw, words", [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ("{}", "missing field 'sql'"),
    ('{"sql": 5}', "'sql' must be a string"),
    ('{"sql": "  ; "}', "'sql' is empty"),
    ('{"sql": "SELECT 1", "live": "yes"}', "'live' must be a boolean"),
    ('{"sql": "SELECT 1", "stats": "2"}', "'stats' must be an integer"),
    ('{"sql": "SELECT 1", "stats": -1}', "'stats' must be an integer"),
    (json.dumps({"sql": "SELECT 1 --" + "x" * 70000}), "longer than"),
])
def test_bad_first_message(srv, raw, words):
    frames, _, code = arun(query(srv, raw))
    assert_ends(frames, code)
    assert types(frames) == ["ERROR", "END"]
    assert words in frames[0]["data"], frames[0]


def test_binary_first_message(srv):
    frames, _, code = arun(query(srv, b'{"sql": "SELECT 1"}'))
    assert_ends(frames, code)
    assert types(frames) == ["ERROR", "END"]


# ---------------------------------------------------------------- auth

@pytest.mark.parametrize("env, headers, status", [
    ("secure", None, 401),
    ("secure", {"Authorization": "Bearer wrong-token-123"}, 401),
    ("secure", {"Authorization": "Basic " + GOOD}, 401),
    ("secure", {"Authorization": "Bearer " + DEMO_ONLY}, 403),
    ("nope", AUTH, 404),
    ("..", AUTH, 404),
])
def test_auth_refused_before_upgrade(srv, env, headers, status):
    st = upgrade_status(srv, SQL_PATH.format(env=env), headers)
    assert st == status


def test_auth_accepted(srv):
    for tok in (GOOD,):
        frames, _, code = q(srv, "SELECT count(*) AS n FROM orders", env="secure",
                            headers={"Authorization": "Bearer " + tok})
        assert_ends(frames, code)
        assert records(frames)[0]["value"] == {"n": 3}
    # demo has auth off; a token is not needed but does no harm
    frames, _, code = q(srv, "SELECT 1 AS a", headers={"Authorization": "Bearer " + DEMO_ONLY})
    assert records(frames)[0]["value"] == {"a": 1}


# ---------------------------------------------------------------- limits

def test_max_rows_sentinel(limited):
    frames, _, code = q(limited, "SELECT * FROM cc_payments")
    assert_ends(frames, code)
    assert types(frames) == ["METADATA"] + ["RECORD"] * 5 + ["SENTINEL", "END"]
    r = frames[-2]["data"]["reason"]
    assert r["type"] == "max.records" and r["amount"] == 5 and r["source"] == "cc_payments"


def test_max_bytes_sentinel(limited):
    frames, raw, code = q(limited, "SELECT * FROM sea_vessel_position_reports")
    assert_ends(frames, code)
    t = types(frames)
    assert t[0] == "METADATA" and t[-2:] == ["SENTINEL", "END"]
    assert t.count("RECORD") >= 1, t
    sent = sum(len(x) + 1 for x, f in zip(raw, frames) if f["type"] == "RECORD")
    # records here are under 800 bytes: the limit stopped the query only when
    # the next one would not fit
    assert 2048 - 800 < sent <= 2048, sent
    assert frames[-2]["data"]["reason"]["type"] == "max.size"


def test_max_time_sentinel_with_heartbeats(limited):
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    frames, _, code = q(limited, sql, stats=5000)
    assert_ends(frames, code)
    t = types(frames)
    assert t[0] == "METADATA" and t[-3:] == ["SENTINEL", "STATS", "END"]
    assert set(t[1:-3]) == {"HEARTBEAT"} and len(t[1:-3]) >= 2, t
    r = frames[-3]["data"]["reason"]
    assert r["type"] == "max.query.time" and r["timeout"] == 1500


# ---------------------------------------------------------------- load

def test_twenty_concurrent_queries(srv):
    async def many():
        return await asyncio.gather(*[
            query(srv, {"sql": f"SELECT * FROM cc_payments WHERE rowid % 20 = {i}"})
            for i in range(20)])
    results = arun(many(), 120)
    for i, (frames, _, code) in enumerate(results):
        assert_ends(frames, code)
        # queued queries may get HEARTBEATs before they start
        t = [x for x in types(frames) if x != "HEARTBEAT"]
        assert t == ["METADATA"] + ["RECORD"] * 50 + ["END"], (i, t)


# ---------------------------------------------------------------- config

@pytest.mark.parametrize("section, key", [
    ({"max_rows": 0}, "lenses.max_rows"),
    ({"environments": {"a/b": "/tmp"}}, "lenses.environments"),
    ({"environments": {"x": "relative"}}, "lenses.environments.x.path"),
    ({"default_environment": "nope"}, "lenses.default_environment"),
    ({"tokens": {"short": ["demo"]}}, "lenses.tokens"),
    ({"tokens": {"long-enough-token": ["nope"]}}, "lenses.tokens"),
    ({"bogus": 1}, "lenses.bogus"),
    ({"helper": "/nonexistent/runnel-sql"}, "lenses.helper"),
])
def test_bad_config_refused_with_the_key(tmp_path, specs, section, key):
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"lenses": section}))
    p = subprocess.run([str(RUNNEYD), "--listen", "127.0.0.1:0", "--specs", str(specs),
                        "--config", str(cfg)], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, RUNNEL_STATE_DIR=str(tmp_path / "state")))
    assert p.returncode != 0
    lines = [x for x in p.stderr.splitlines() if x.startswith("runneld:")]
    assert len(lines) == 1 and key in lines[0], p.stderr
