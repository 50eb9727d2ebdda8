"""docs/faults.md stays true: its table is parsed, and for every row the
ranna cell's backticked text must appear in what a real server answers (or
the test the cell names must exist), and the log cell's backticked text in
what the server logged."""

import asyncio
import json
import re
import signal
import time
from pathlib import Path

import pytest
import websockets

from conftest import REPO, arun

DOC = REPO / "docs" / "faults.md"
HERE = Path(__file__).resolve().parent
WALL_MS = 2000


def table():
    rows = []
    lines = DOC.read_text().splitlines()
    header = None
    for line in lines:
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.split(" ")[0].lower() for c in cells]
            continue
        if set(cells[0]) <= {"-"}:
            continue
        rows.append(dict(zip(header, cells)))
    return header, rows


def ticks(cell):
    return re.findall(r"`([^`]+)`", cell)


def test_table_shape():
    header, rows = table()
    assert header[:7] == ["id", "bad", "ranna", "linkis", "zeppelin", "lenses", "log"], header
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate row ids"
    assert len(rows) >= 20, "the table lost rows"
    for r in rows:
        for col in ("ranna", "linkis", "zeppelin", "lenses", "log"):
            assert r.get(col), f"row {r['id']}: empty {col} cell"
        assert r["id"] in PROBES or REF_RE.search(r["ranna"]), \
            f"row {r['id']}: no probe here and no test named in its ranna cell"


REF_RE = re.compile(r"see `(test_[a-z_]+\.py)::(test_[a-z0-9_]+)`")


def test_referenced_tests_exist():
    for r in table()[1]:
        for f, name in REF_RE.findall(r["ranna"]):
            src = (HERE / f).read_text()
            assert re.search(rf"^def {name}\(", src, re.M), f"row {r['id']}: {f}::{name} is gone"


# --------------------------------------------------------------------------
# probes: each returns the text the client saw (frames, then "close N")
# --------------------------------------------------------------------------

async def frames_after(srv, send, n=1, binary=False, timeout=10):
    ws = await srv.ws()
    out = []
    try:
        await ws.conn.send(send)
        for _ in range(n):
            out.append(await asyncio.wait_for(ws.conn.recv(), timeout))
    except Exception as e:  # noqa: BLE001 - a close is an answer too
        rcvd = getattr(e, "rcvd", None)
        out.append(f"close {rcvd.code} {rcvd.reason}" if rcvd else f"close none {e!r}")
    finally:
        await ws.close()
    return " ".join(out)


async def run_events(srv, args, kill=False, timeout=20):
    ws = await srv.ws()
    out = []
    try:
        await ws.conn.send(json.dumps({"op": 1, "nonce": 3, "args": args}))
        while True:
            ev = json.loads(await asyncio.wait_for(ws.conn.recv(), timeout))
            out.append(json.dumps(ev))
            if ev["code"] == 2 and kill:
                await ws.conn.send(json.dumps({"op": 2, "args": {"runid": ev["data"]["runid"]}}))
            if ev["code"] in (1, 4):
                return " ".join(out)
    finally:
        await ws.close()


async def per_connection(srv):
    ws = await srv.ws()
    out = []
    try:
        for i in range(5):
            await ws.conn.send(json.dumps({"op": 1, "nonce": i + 1, "args": {
                "language": "bash", "code": "sleep 1"}}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ev = json.loads(await asyncio.wait_for(ws.conn.recv(), 10))
            out.append(json.dumps(ev))
            if ev["code"] == 1:
                break
    finally:
        await ws.close()
    return " ".join(out)


async def shutdown(srv):
    ws = await srv.ws()
    srv.proc.send_signal(signal.SIGTERM)
    srv.expect_exit = True
    try:
        while True:
            await asyncio.wait_for(ws.conn.recv(), 10)
    except websockets.ConnectionClosed as e:
        seen = f"close {e.rcvd.code} {e.rcvd.reason}" if e.rcvd else "close none"
    srv.proc.wait(10)
    return seen


async def bad_utf8(srv):
    ws = await srv.ws()
    try:
        # websockets refuses to send invalid UTF-8 as text: write the frame
        # ourselves (FIN, text, masked with a zero key)
        payload = b'{"op":0,"x":"\xff"}'
        frame = bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload
        ws.conn.transport.write(frame)
        code, _ = await ws.expect_closed(10)
        return f"close {code}"
    finally:
        await ws.close()


PROBES = {
    "not-json": lambda s: frames_after(s, '{"op":'),
    "deep": lambda s: frames_after(s, "[" * 100000 + "]" * 100000),
    "not-object": lambda s: frames_after(s, "[1,2]"),
    "binary": lambda s: frames_after(s, b"\x01\x02"),
    "bad-number": lambda s: frames_after(s, '{"op":0,"nonce":1e400}'),
    "bad-op": lambda s: frames_after(s, '{"op":7}'),
    "nul": lambda s: frames_after(s, '{"op":1,"args":{"language":"pyth\\u0000on3","code":"x"}}'),
    "bad-utf8": bad_utf8,
    "too-large": lambda s: frames_after(s, "[" + " " * (1 << 20) + "]"),
    "unknown-language": lambda s: run_events(s, {"language": "no-such", "code": "x"}),
    "code-too-big": lambda s: run_events(s, {"language": "bash", "code": "#" * 300000}),
    "per-connection": per_connection,
    "wall": lambda s: run_events(s, {"language": "bash", "code": "sleep 30"}),
    "output": lambda s: run_events(s, {"language": "bash", "code": "head -c 3000000 /dev/zero"}),
    "kill": lambda s: run_events(s, {"language": "bash", "code": "sleep 30"}, kill=True),
    "shutdown": shutdown,
}


def rows_with_probes():
    return [r for r in table()[1] if r["id"] in PROBES]


@pytest.mark.parametrize("row", rows_with_probes(), ids=lambda r: r["id"])
def test_ranna_row(server_factory, row):
    srv = server_factory("doc", wall_ms=WALL_MS, cpu_ms=WALL_MS)
    seen = arun(PROBES[row["id"]](srv), timeout=60)
    cell = re.sub(r"\(see `[^)]*\)", "", row["ranna"])
    for t in ticks(cell):
        assert t in seen, f"row {row['id']}: `{t}` not in what the client got: {seen[:600]!r}"
    time.sleep(0.3)
    log = srv.log_text()
    for t in ticks(row["log"]):
        if t.startswith("reason="):
            assert re.search(rf"event=run.stop .*{re.escape(t)}", log), \
                f"row {row['id']}: no run.stop with {t} in the log"
        else:
            assert t.split()[0] in log, f"row {row['id']}: log lacks `{t}`:\n{log[-2000:]}"
