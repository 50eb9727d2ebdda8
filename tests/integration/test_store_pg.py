"""The state store on PostgreSQL (docs/state-store.md): two runneld nodes
share one database (state.store=postgresql://...); a Linkis task submitted
on one is answered by the other, also after the first was SIGKILLed right
after acknowledging it; a Jobe file PUT on one runs on the other; a
Zeppelin note saved on one is read by a node started after it died. A throw-away server comes from tests/pg/pg_fixture.sh;
without PostgreSQL installed the tests skip, except under CI=true."""

import base64
import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from linkis_helpers import ENTRANCE, HISTORY, rest, result_sets
from test_linkis import linkis_specs  # noqa: F401  (the fixture: a few languages only)
from test_linkis_history import CLI, cli_submit, history, wait_history
from test_zeppelin import zspecs  # noqa: F401  (the fixture)

FIXTURE = Path(__file__).resolve().parent.parent / "pg" / "pg_fixture.sh"


@pytest.fixture(scope="module")
def pg_uri():
    d = tempfile.mkdtemp(prefix="runnel-pg-it.")
    os.rmdir(d)
    p = subprocess.run([str(FIXTURE), "start", d], capture_output=True, text=True)
    if p.returncode == 77:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries missing under CI: " + p.stderr)
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    assert p.returncode == 0, p.stderr
    yield p.stdout.strip()
    subprocess.run([str(FIXTURE), "stop", d])


@pytest.fixture
def nodes(server_factory, linkis_specs, pg_uri):  # noqa: F811
    # A fresh schema per test: the nodes migrate it.
    drop = subprocess.run(["psql", "-q", "-d", pg_uri, "-c",
                           "DROP SCHEMA public CASCADE; CREATE SCHEMA public"],
                          capture_output=True, text=True)
    assert drop.returncode == 0, drop.stderr

    def make(name):
        return server_factory(name, _specs=linkis_specs, _config={"state": {"store": pg_uri}})
    return make


def test_task_answered_by_the_other_node(nodes):
    a, b = nodes("nodeA"), nodes("nodeB")
    assert "backend=postgresql" in a.log_text()
    eid, tid = cli_submit(a, "print('from A')\n", "python")
    task = wait_history(a, tid)
    assert task["status"] == "Succeed", task
    # B never saw the task: it reads it from the shared store (the end is
    # written there just after A's memory has it).
    tb = wait_history(b, tid)
    assert tb["execId"] == eid and tb["status"] == "Succeed"
    assert tb["instance"] == task["instance"]
    st, _, s = rest(b, "GET", f"{ENTRANCE}/{eid}/status", headers=CLI)
    assert st == 200 and s["data"]["status"] == "Succeed", s
    assert result_sets(b, tid, CLI) == result_sets(a, tid, CLI)
    # Ids do not collide: B's next task follows A's.
    eid_b, tid_b = cli_submit(b, "print('from B')\n", "python")
    assert tid_b == tid + 1 and eid_b != eid
    assert wait_history(b, tid_b)["status"] == "Succeed"
    st, _, ha = history(a, tid_b)
    assert ha["data"]["task"]["execId"] == eid_b


def test_ack_survives_sigkill_of_the_node(nodes):
    a = nodes("nodeA")
    eid, tid = cli_submit(a, "import time\ntime.sleep(30)\n", "python")
    a.stop(signal.SIGKILL)  # right after the acknowledged submit
    b = nodes("nodeB")  # started after: its start-up leaves A's task alone
    st, _, h = history(b, tid)
    assert st == 200 and h["status"] == 0, h
    assert h["data"]["task"]["execId"] == eid
    # Still A's: B does not mark it (its restart sweep is its own tasks only).
    assert h["data"]["task"]["status"] in ("Inited", "Scheduled", "Running"), h
    # A restarting marks its own unfinished task Failed; B answers that.
    a.start()
    task = wait_history(b, tid)
    assert task["status"] == "Failed" and task["errCode"] == 1
    assert task["errDesc"].startswith("the server restarted while this job was running")


def test_list_from_either_node(nodes):
    a, b = nodes("nodeA"), nodes("nodeB")
    ids = []
    for srv in (a, b, a):
        _, tid = cli_submit(srv, "print(1)\n", "python")
        wait_history(srv, tid)
        ids.append(tid)
    for srv in (a, b):
        st, _, r = rest(srv, "GET", f"{HISTORY}/list?pageNow=1&pageSize=10", headers=CLI)
        assert st == 200, r
        got = sorted(t["taskID"] for t in r["data"]["tasks"])
        assert got == sorted(ids)


def test_jobe_file_put_on_one_node_runs_on_the_other(server_factory, pg_uri, tmp_path):
    from conftest import SPECS
    drop = subprocess.run(["psql", "-q", "-d", pg_uri, "-c",
                           "DROP SCHEMA public CASCADE; CREATE SCHEMA public"],
                          capture_output=True, text=True)
    assert drop.returncode == 0, drop.stderr

    def node(name):
        return server_factory(name, _specs=SPECS, _config={
            "state": {"store": pg_uri},
            "jobe": {"files_dir": str(tmp_path / f"{name}.files")}},
            wall_ms=60000, cpu_ms=60000)
    a, b = node("jobeA"), node("jobeB")
    api = "/jobe/index.php/restapi"
    content = b"\x00binary\xff and text\n"
    body = {"file_contents": base64.b64encode(content).decode()}
    st, _, _ = a.http("PUT", f"{api}/files/sharedfile01", body)
    assert st == 204
    # B has it from the store: HEAD, then a run that reads it.
    assert b.http("HEAD", f"{api}/files/sharedfile01")[0] == 204
    assert b.http("HEAD", f"{api}/files/nosuchfile01")[0] == 404
    a.stop(signal.SIGKILL)  # the node that took the file is gone
    a.expect_exit = True
    src = ("print(open('d.bin', 'rb').read() == " + repr(content) + ")\n")
    st, _, data = b.http("POST", f"{api}/runs", {"run_spec": {
        "language_id": "python3", "sourcecode": src, "sourcefilename": "t.py",
        "file_list": [["sharedfile01", "d.bin"]]}}, timeout=120)
    assert st == 200, data
    obj = json.loads(data)
    assert (obj["outcome"], obj["stdout"]) == (15, "True\n"), obj
    # A file in neither: Jobe's 404.
    st, _, data = b.http("POST", f"{api}/runs", {"run_spec": {
        "language_id": "python3", "sourcecode": "print(1)",
        "file_list": [["nosuchfile02", "x"]]}}, timeout=120)
    assert st == 404, data


def test_zeppelin_note_saved_on_one_node_read_on_another(server_factory, pg_uri, tmp_path,
                                                         zspecs):  # noqa: F811
    from conftest import arun
    from test_zeppelin_notes import expect, send
    from zeppelin_client import ZWS
    drop = subprocess.run(["psql", "-q", "-d", pg_uri, "-c",
                           "DROP SCHEMA public CASCADE; CREATE SCHEMA public"],
                          capture_output=True, text=True)
    assert drop.returncode == 0, drop.stderr

    def node(name):
        d = tmp_path / f"{name}.nb"
        d.mkdir()
        return server_factory(name, _specs=zspecs, _config={
            "state": {"store": pg_uri}, "zeppelin": {"notebook_dir": str(d)}}), d
    a, _ = node("zA")

    async def write():
        ws = await ZWS.connect(a)
        mid = await send(ws, "NEW_NOTE", {"name": "/shared/doc"})
        note = (await expect(ws, "NEW_NOTE", mid))["note"]
        await expect(ws, "NOTES_INFO")
        pid = note["paragraphs"][0]["id"]
        await send(ws, "COMMIT_PARAGRAPH", {"id": pid, "noteId": note["id"],
                                            "paragraph": "%sh\necho shared",
                                            "config": {}, "params": {}})
        await expect(ws, "PARAGRAPH")
        os.kill(a.pid, signal.SIGKILL)  # acknowledged: in the store now
        return note["id"]
    nid = arun(write())
    a.proc.wait(5)
    a.expect_exit = True
    b, bdir = node("zB")  # an empty notebook directory of its own

    async def read():
        ws = await ZWS.connect(b)
        mid = await send(ws, "GET_NOTE", {"id": nid})
        n = (await expect(ws, "NOTE", mid))["note"]
        assert n["path"] == "/shared/doc"
        assert n["paragraphs"][0]["text"] == "%sh\necho shared"
        await ws.close()
    arun(read())
    # B wrote the note's file from the store.
    assert [p.name for p in bdir.rglob("*.zpln")] == [f"doc_{nid}.zpln"]
