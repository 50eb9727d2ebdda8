"""Linkis job history, result sets and persistence (docs/linkis.md): the
requests linkis-cli and linkis-web send once a job is submitted, kept across
restarts, a SIGKILL mid-run, a corrupt database at start, and bad input."""

import asyncio
import json
import os
import signal
import time
from urllib.parse import quote

import pytest

from conftest import arun
from linkis_helpers import (CONNECT, ENTRANCE, EXECUTE, FS, HISTORY, TERMINAL, LinkisWS,
                            log_program_lines, rest, rest_wait, result_sets)

from test_linkis import linkis_specs  # noqa: F401  (the fixture: a few languages only)

SUBMIT = ENTRANCE + "/submit"
CLI = {"Token-User": "hadoop", "Token-Code": "cli-token"}
PY = "print('hello')\nprint('world')\n"
SQL = ("CREATE TABLE t(a INT, b TEXT, c REAL);\n"
       "INSERT INTO t VALUES (1, 'x', 2.5), (NULL, 'y', NULL);\n"
       "SELECT a, b, c FROM t ORDER BY b;\n"
       "SELECT 42 AS answer;\n")
VO_FIELDS = {"taskID", "instance", "execId", "umUser", "executeUser", "engineType", "runType",
             "executionCode", "status", "progress", "errCode", "errDesc", "createdTime",
             "updatedTime", "costTime", "logPath", "resultLocation", "labels", "paramsJson"}


@pytest.fixture
def lk(server_factory, linkis_specs):  # noqa: F811
    def make(linkis=None, **limits):
        cfg = {"linkis": linkis} if linkis is not None else None
        return server_factory(_specs=linkis_specs, _config=cfg, **limits)
    return make


def cli_submit(server, code, run_type, user="hadoop", headers=CLI):
    """linkis-cli's JobSubmitAction body (executionContent, executeUser, labels)."""
    body = {"executionContent": {"code": code, "runType": run_type},
            "params": {"variable": {}, "configuration": {}},
            "source": {"scriptPath": "LinkisCli"},
            "labels": {"engineType": "spark-2.4.3", "userCreator": f"{user}-LINKISCLI",
                       "codeType": run_type},
            "executeUser": user}
    st, _, r = rest(server, "POST", SUBMIT, body, headers)
    assert st == 200 and r["status"] == 0, r
    assert list(r["data"]) == ["execID", "taskID"]
    return r["data"]["execID"], r["data"]["taskID"]


def history(server, task_id, headers=CLI):
    return rest(server, "GET", f"{HISTORY}/{task_id}/get", headers=headers)


def wait_history(server, task_id, headers=CLI, timeout=30):
    """linkis-cli polls jobhistory/{taskID}/get until a final status."""
    deadline = time.monotonic() + timeout
    while True:
        st, _, r = history(server, task_id, headers)
        assert st == 200 and r["status"] == 0, r
        task = r["data"]["task"]
        if task["status"] in TERMINAL:
            return task
        assert time.monotonic() < deadline, task
        time.sleep(0.1)


def snapshot(server, task_id, exec_id, headers=CLI):
    """Everything a client reads of a finished task."""
    st, _, s = rest(server, "GET", f"{ENTRANCE}/{exec_id}/status", headers=headers)
    assert st == 200
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{exec_id}/log?fromLine=1&size=-1",
                     headers=headers)
    assert st == 200
    st, _, h = history(server, task_id, headers)
    assert st == 200
    return {"status": s, "log": lg, "history": h, "sets": result_sets(server, task_id, headers)}


# --------------------------------------------------------------------------
# linkis-cli
# --------------------------------------------------------------------------

def test_cli_python_text_result(lk):
    server = lk()
    eid, tid = cli_submit(server, PY, "python")
    # at once, as InteractiveJob does right after submit
    st, _, r = history(server, tid)
    assert st == 200 and r["status"] == 0, r
    first = r["data"]["task"]
    assert first["taskID"] == tid and first["execId"] == eid
    assert first["status"] in ("Inited", "Scheduled", "Running", "Succeed")
    task = wait_history(server, tid)
    assert task["status"] == "Succeed", task
    assert VO_FIELDS <= set(task), VO_FIELDS - set(task)
    assert (task["umUser"], task["executeUser"]) == ("hadoop", "hadoop")
    assert (task["runType"], task["executionCode"], task["progress"]) == ("python", PY, "1")
    assert task["errCode"] is None and task["errDesc"] is None
    assert task["resultLocation"] == f"file:///runnel/linkis/hadoop/{tid}"
    assert task["logPath"] == f"file:///runnel/linkis/hadoop/{tid}.log"
    assert task["labels"]["userCreator"] == "hadoop-LINKISCLI"
    assert task["updatedTime"] >= task["createdTime"] > 1.6e12
    # log from line 1 (LogReader is 1-based)
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine=1&size=-1", headers=CLI)
    all_lines = lg["data"]["log"][3]
    assert all_lines.startswith(time.strftime("%Y-"))  # the first line is there
    assert log_program_lines(all_lines) == ["hello", "world"]
    assert lg["data"]["fromLine"] == all_lines.count("\n") + 1
    # getDirFileTrees + openFile, page by page until an empty page
    st, _, tree = rest(server, "GET", f"{FS}/getDirFileTrees?path={quote(task['resultLocation'])}",
                       headers=CLI)
    assert tree["status"] == 0, tree
    d = tree["data"]["dirFileTrees"]
    assert (d["name"], d["path"], d["isLeaf"]) == (str(tid), task["resultLocation"], False)
    assert [c["name"] for c in d["children"]] == ["_0.dolphin"]
    child = d["children"][0]
    assert child["path"] == task["resultLocation"] + "/_0.dolphin"
    assert child["isLeaf"] is True and child["properties"]["size"] == str(len("hello\nworld\n"))
    path = quote(child["path"])
    st, _, p1 = rest(server, "GET", f"{FS}/openFile?path={path}&page=1&pageSize=1&charset=utf-8"
                     "&nullValue=LINKIS_NULL", headers=CLI)
    assert p1["status"] == 0, p1
    assert p1["data"] == {"metadata": "NULL", "fileContent": [["hello"]], "type": "1",
                          "totalLine": 2, "page": 1, "totalPage": 2}
    st, _, p2 = rest(server, "GET", f"{FS}/openFile?path={path}&page=2&pageSize=1", headers=CLI)
    assert p2["data"]["fileContent"] == [["world"]]
    # past the end: an empty page (linkis-cli stops on it) that says so
    st, _, p3 = rest(server, "GET", f"{FS}/openFile?path={path}&page=3&pageSize=1", headers=CLI)
    assert st == 200 and p3["status"] == 0 and p3["data"]["fileContent"] == []
    assert p3["message"] == "page 3 is past the end of the result set (2 pages of 1)"


def test_cli_sql_table_result(lk):
    server = lk()
    eid, tid = cli_submit(server, SQL, "sql")
    task = wait_history(server, tid)
    assert task["status"] == "Succeed", task
    sets = result_sets(server, tid, CLI)
    assert [s["type"] for s in sets] == ["2", "2"]
    assert sets[0]["metadata"] == [
        {"columnName": "a", "comment": "NULL", "dataType": "bigint"},
        {"columnName": "b", "comment": "NULL", "dataType": "string"},
        {"columnName": "c", "comment": "NULL", "dataType": "double"}]
    assert sets[0]["fileContent"] == [["1", "x", "2.5"], ["NULL", "y", "NULL"]]
    assert sets[0]["totalLine"] == 2
    assert sets[1]["metadata"] == [{"columnName": "answer", "comment": "NULL",
                                    "dataType": "bigint"}]
    assert sets[1]["fileContent"] == [["42"]]
    # the client's nullValue is used for nulls
    path = quote(task["resultLocation"] + "/_0.dolphin")
    st, _, r = rest(server, "GET", f"{FS}/openFile?path={path}&nullValue=LINKIS_NULL",
                    headers=CLI)
    assert r["data"]["fileContent"][1] == ["LINKIS_NULL", "y", "LINKIS_NULL"]
    # rows are not log lines
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine=1&size=-1", headers=CLI)
    assert log_program_lines(lg["data"]["log"][3]) == []
    assert "2 result sets with 3 rows written" in lg["data"]["log"][2]


# --------------------------------------------------------------------------
# linkis-web
# --------------------------------------------------------------------------

@pytest.mark.parametrize("run_type,code,want", [
    ("python", PY, [("1", "NULL", [["hello"], ["world"]])]),
    ("sql", "SELECT 'ada' AS name, 36 AS age;",
     [("2", [{"columnName": "name", "comment": "NULL", "dataType": "string"},
             {"columnName": "age", "comment": "NULL", "dataType": "bigint"}], [["ada", "36"]])]),
])
def test_web_ws_then_rest(lk, run_type, code, want):
    server = lk()

    async def main():
        ws = await LinkisWS.connect(server)
        r = await ws.execute(code, run_type=run_type, tag="web-1")
        tid = r["data"]["taskID"]
        frames = await ws.collect_job(r["data"]["execID"])
        statuses = [f["data"]["status"] for f in frames if f["method"].endswith("/status")]
        assert statuses[-1] == "Succeed", statuses
        await ws.close()
        return tid
    tid = arun(main())
    st, _, r = rest(server, "GET", f"{HISTORY}/{tid}/get")
    assert r["status"] == 0 and r["data"]["task"]["umUser"] == "anonymous"
    sets = result_sets(server, tid)
    assert [(s["type"], s["metadata"], s["fileContent"]) for s in sets] == want
    # linkis-web's history page
    st, _, r = rest(server, "GET", f"{HISTORY}/list?pageSize=100&status=Succeed")
    assert r["status"] == 0 and r["data"]["totalPage"] == 1
    assert [t["taskID"] for t in r["data"]["tasks"]] == [tid]


# --------------------------------------------------------------------------
# persistence
# --------------------------------------------------------------------------

def test_restart_answers_the_same(lk):
    server = lk()
    before = {}
    for code, rt in ((PY, "python"), (SQL, "sql")):
        eid, tid = cli_submit(server, code, rt)
        wait_history(server, tid)
        before[tid] = (eid, snapshot(server, tid, eid))
    rc = server.stop(signal.SIGTERM)
    # (the sanitizer build may report libwebsockets' own buffers: tests/lsan.supp)
    assert rc == 0 or "LeakSanitizer" in server.log_path.read_text(), rc
    server.start()
    for tid, (eid, snap) in before.items():
        assert snapshot(server, tid, eid) == snap
    # new tasks continue the numbering
    _, tid = cli_submit(server, "print(1)", "python")
    assert tid == max(before) + 1


def test_sigkill_while_running_then_failed(lk):
    server = lk()
    eid, tid = cli_submit(server, "import time\nprint('started', flush=True)\ntime.sleep(60)\n",
                          "python")
    deadline = time.monotonic() + 20
    while history(server, tid)[2]["data"]["task"]["status"] != "Running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.stop(signal.SIGKILL)
    server.start()
    st, _, s = rest(server, "GET", f"{ENTRANCE}/{eid}/status", headers=CLI)
    assert st == 200 and s["data"]["status"] == "Failed", s
    task = history(server, tid)[2]["data"]["task"]
    assert task["status"] == "Failed" and task["errCode"] == 1
    assert task["errDesc"].startswith("the server restarted while this job was running")
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine=1&size=-1", headers=CLI)
    assert "the server restarted while this job was running" in lg["data"]["log"][0]
    # no result location content
    st, _, tree = rest(server, "GET", f"{FS}/getDirFileTrees?path="
                       f"{quote(task['resultLocation'])}", headers=CLI)
    assert tree["data"]["dirFileTrees"]["children"] == []


def test_corrupt_database_moved_aside(lk):
    server = lk()
    state = server.dir / f"{server.name}.state"
    server.stop()
    for f in state.iterdir():
        f.unlink()
    (state / "runnel.db").write_bytes(b"this is not a database " * 200)
    server.start()
    log = server.log_path.read_text()
    assert "event=store.corrupt" in log
    aside = [f for f in os.listdir(state) if f.startswith("runnel.db.corrupt-")]
    assert len(aside) == 1, os.listdir(state)
    assert (state / aside[0]).read_bytes().startswith(b"this is not a database")
    eid, tid = cli_submit(server, PY, "python")
    assert tid == 1
    assert wait_history(server, tid)["status"] == "Succeed"


def test_tenants_from_server_tokens(server_factory, linkis_specs):  # noqa: F811
    """auth.users: a token names its tenant, who sees only their own tasks
    whatever Token-User says; an auth.admins tenant sees everyone's; a plain
    auth.tokens token is the anonymous tenant; no token gets 401."""
    server = server_factory(_specs=linkis_specs, _config={"auth": {
        "tokens": ["plain-token-0"],
        "users": ["alice:tok-alice-1", "bob:tok-bob-2", "root:tok-root-3"],
        "admins": ["root"]}})
    alice = {"Authorization": "Bearer tok-alice-1"}
    bob = {"Authorization": "Bearer tok-bob-2"}
    root = {"Authorization": "Bearer tok-root-3"}
    # alice names bob in Token-User: her token decides who she is
    _, tid_a = cli_submit(server, "print('a')", "python", user="alice",
                          headers=dict(alice, **{"Token-User": "bob"}))
    task = wait_history(server, tid_a, alice)
    assert (task["umUser"], task["executeUser"]) == ("alice", "alice")
    _, tid_b = cli_submit(server, "print('b')", "python", user="bob", headers=bob)
    wait_history(server, tid_b, bob)
    st, _, r = history(server, tid_a, bob)
    assert r["status"] == 1 and r["message"].startswith("The corresponding job was not found")
    st, _, r = history(server, tid_a, dict(bob, **{"Token-User": "alice"}))
    assert r["status"] == 1, r
    st, _, r = rest(server, "GET", f"{HISTORY}/list", headers=alice)
    assert [t["taskID"] for t in r["data"]["tasks"]] == [tid_a]
    st, _, r = rest(server, "GET", f"{HISTORY}/list?isAdminView=true", headers=root)
    assert sorted(t["taskID"] for t in r["data"]["tasks"]) == [tid_a, tid_b]
    st, _, r = rest(server, "GET", f"{HISTORY}/list", headers={
        "Authorization": "Bearer plain-token-0"})
    assert st == 200 and r["data"]["tasks"] == [], r
    st, _, _ = server.http("GET", f"{HISTORY}/list")
    assert st == 401


# --------------------------------------------------------------------------
# users
# --------------------------------------------------------------------------

def test_users_see_their_own_tasks(lk):
    server = lk({"admin_tokens": ["admin-secret"]})
    _, tid_a = cli_submit(server, "print('a')", "python", user="alice",
                          headers={"Token-User": "alice"})
    _, tid_b = cli_submit(server, "print('b')", "python", user="bob",
                          headers={"Token-User": "bob"})
    wait_history(server, tid_a, {"Token-User": "alice"})
    wait_history(server, tid_b, {"Token-User": "bob"})
    st, _, r = history(server, tid_b, {"Token-User": "alice"})
    assert r["status"] == 1 and r["message"].startswith("The corresponding job was not found")
    st, _, r = rest(server, "GET", f"{HISTORY}/list", headers={"Token-User": "alice"})
    assert [t["taskID"] for t in r["data"]["tasks"]] == [tid_a]
    loc = f"file:///runnel/linkis/bob/{tid_b}"
    st, _, r = rest(server, "GET", f"{FS}/getDirFileTrees?path={quote(loc)}",
                    headers={"Token-User": "alice"})
    assert r["status"] == 1
    assert r["message"].startswith(f"The user: alice has no permission to view the contents "
                                   f"of the directory:{loc}")
    # a non-admin may not name another executeUser
    body = {"executionContent": {"code": "print(1)", "runType": "python"}, "executeUser": "bob"}
    st, _, r = rest(server, "POST", SUBMIT, body, {"Token-User": "alice"})
    assert r["status"] == 3 and "only an admin" in r["message"], r
    # an admin token sees everyone's and may submit as anyone
    admin = {"Token-User": "root", "Token-Code": "admin-secret"}
    st, _, r = rest(server, "GET", f"{HISTORY}/list?isAdminView=true", headers=admin)
    assert sorted(t["taskID"] for t in r["data"]["tasks"]) == [tid_a, tid_b]
    st, _, r = history(server, tid_b, admin)
    assert r["status"] == 0
    st, _, r = rest(server, "POST", SUBMIT, body, admin)
    assert r["status"] == 0, r
    task = wait_history(server, r["data"]["taskID"], admin)
    assert (task["umUser"], task["executeUser"]) == ("root", "bob")
    # bob sees the task run as him
    st, _, r = history(server, task["taskID"], {"Token-User": "bob"})
    assert r["status"] == 0


# --------------------------------------------------------------------------
# bad input and bounds
# --------------------------------------------------------------------------

def test_bad_input(lk):
    server = lk()
    st, _, r = history(server, 999)
    assert (st, r["status"]) == (400, 1)
    assert r["message"].startswith("The corresponding job was not found")
    st, _, r = history(server, "abc")
    assert r["status"] == 1 and r["message"] == "taskID must be a number: abc"
    _, tid = cli_submit(server, PY, "python")
    wait_history(server, tid)
    for path in (f"file:///runnel/linkis/hadoop/{tid}/../{tid}/_0.dolphin",
                 "file:///runnel/linkis/hadoop/../../etc/passwd"):
        st, _, r = rest(server, "GET", f"{FS}/openFile?path={quote(path)}", headers=CLI)
        assert r["status"] == 1 and r["message"] == f"The path {path} must not contain '..'", r
    for path in ("/etc/passwd", "file:///etc/passwd", "hdfs:///tmp/linkis/hadoop"):
        st, _, r = rest(server, "GET", f"{FS}/openFile?path={quote(path)}", headers=CLI)
        assert r["status"] == 1 and "has no permission" in r["message"], r
    path = f"file:///runnel/linkis/hadoop/{tid}/_7.dolphin"
    st, _, r = rest(server, "GET", f"{FS}/openFile?path={quote(path)}", headers=CLI)
    assert r["status"] == 1 and r["message"].startswith(f"File: {path} does not exist")
    path = f"file:///runnel/linkis/hadoop/{tid}/_0.dolphin"
    st, _, r = rest(server, "GET", f"{FS}/openFile?path={quote(path)}&page=0", headers=CLI)
    assert r["status"] == 1 and r["message"] == "page and pageSize must be integers of at least 1"
    st, _, r = rest(server, "GET", f"{HISTORY}/list?pageNow=5&pageSize=10", headers=CLI)
    assert r["status"] == 1
    assert r["message"] == "pageNow 5 is past the end: 1 tasks match, 1 page of 10"
    st, _, r = rest(server, "GET", f"{HISTORY}/list?status=Bogus", headers=CLI)
    assert r["status"] == 1 and r["message"] == "Invalid status : Bogus"


def test_result_bytes_bounded(lk):
    server = lk({"result_max_bytes": 1024})
    eid, tid = cli_submit(server, "for i in range(1000):\n    print('x' * 20)\n", "python")
    assert wait_history(server, tid)["status"] == "Succeed"
    sets = result_sets(server, tid, CLI)
    rows = sets[0]["fileContent"]
    assert rows[-1] == ["[runnel: the result was cut at 1024 bytes (linkis.result_max_bytes)]"]
    # exactly the first 1024 bytes of the output are kept
    assert "\n".join(r[0] for r in rows[:-1]) == (("x" * 20 + "\n") * 1000)[:1024]
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine=1&size=-1", headers=CLI)
    assert "The result was cut at 1024 bytes (linkis.result_max_bytes)." in lg["data"]["log"][2]


def test_list_cuts_long_code(lk):
    server = lk()
    code = "# " + "c" * 6000 + "\nprint('ok')\n"
    _, tid = cli_submit(server, code, "python")
    assert wait_history(server, tid)["executionCode"] == code  # get: all of it
    st, _, r = rest(server, "GET", f"{HISTORY}/list", headers=CLI)
    listed = r["data"]["tasks"][0]["executionCode"]
    assert listed == code[:4096] + ("\n-- [runnel: the code is cut here; "
                                    "jobhistory/{taskID}/get has it all]")


def test_ws_token_user(lk):
    """The Token-User header of the WebSocket upgrade names the user."""
    server = lk()

    async def main():
        ws = await LinkisWS.connect(server, extra_headers={"Token-User": "carol"})
        r = await ws.execute("print('c')", run_type="python", tag="tu")
        await ws.collect_job(r["data"]["execID"])
        await ws.close()
        return r["data"]["taskID"]
    tid = arun(main())
    st, _, r = history(server, tid, {"Token-User": "carol"})
    assert r["status"] == 0 and r["data"]["task"]["umUser"] == "carol"
    st, _, r = history(server, tid, {"Token-User": "dave"})
    assert r["status"] == 1
