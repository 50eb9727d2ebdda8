"""The Linkis envelope: entrance WebSocket with status/log/progress pushes,
the REST fallback, and the optional login (docs/linkis.md)."""

import asyncio
import json
import os
import shutil
import subprocess
import time

import pytest
import websockets

from conftest import SPECS, arun
from linkis_helpers import (CONNECT, ENTRANCE, EXECUTE, TERMINAL, JobFrames, LinkisWS,
                            check_frame, log_program_lines, parse_exec_id, rest, rest_wait,
                            result_sets)

LANGS = ("bash", "sh", "python3", "sqlite", "c")
SEED_DATA = {
    "params": {
        "variable": {"k1": "v1"},
        "configuration": {"special": {"k2": "v2"}, "runtime": {"k3": "v3"},
                          "startup": {"k4": "v4"}},
    },
    "executeApplicationName": "spark",
    "executionCode": "show tables",
    "runType": "sql",
    "source": {"scriptPath": "/home/Linkis/Linkis.sql"},
    "websocketTag": "37fcbd8b762d465a0c870684a0261c6e",
}


@pytest.fixture(scope="module")
def linkis_specs(tmp_path_factory):
    if os.environ.get("RUNNEL_IT_FULL_SPECS") == "1":
        return SPECS
    root = tmp_path_factory.mktemp("linkis-specs")
    d = root / "specs"
    d.mkdir()
    for lang in LANGS + ("schema",):
        src = SPECS / f"{lang}.json"
        if src.exists():
            shutil.copy(src, d / src.name)
    if (SPECS.parent / "runtimes").exists():
        os.symlink(SPECS.parent / "runtimes", root / "runtimes")
    return d


@pytest.fixture
def lk(server_factory, linkis_specs):
    def make(linkis=None, **limits):
        cfg = {"linkis": linkis} if linkis is not None else None
        return server_factory(_specs=linkis_specs, _config=cfg, **limits)
    return make


@pytest.fixture
def server(lk):
    return lk()


def seed(**over):
    d = json.loads(json.dumps(SEED_DATA))
    d.update(over)
    return d


async def run_ws(ws, data, tag, timeout=30.0):
    """Execute data over ws and return (reply, JobFrames)."""
    await ws.request(EXECUTE, data, tag)
    reply = await ws.recv()
    check_frame(reply, tag)
    assert reply["status"] == 0, reply
    eid, tid = reply["data"]["execID"], reply["data"]["taskID"]
    frames = await ws.collect_job(eid, timeout)
    return reply, JobFrames(eid, tid, frames, tag)


def check_whole_job(jf, stages=("queue", "run"), final="Succeed"):
    """Statuses, progress and ordering every successful WS job shows."""
    assert jf.statuses == ["Inited", "Scheduled", "Running", final], jf.frames
    assert jf.frames[-1]["method"].endswith("/status"), "the terminal status must come last"
    assert jf.frames[-2]["method"].endswith("/progress"), jf.frames[-3:]
    assert jf.frames[-2]["data"]["progress"] == 1.0
    progs = jf.progresses
    assert progs[0] == 0.0 and progs[-1] == 1.0, progs
    assert progs == sorted(progs), progs
    for f in jf.kind("progress"):
        d = f["data"]
        assert list(d) == ["execID", "taskID", "progress", "progressInfo", "websocketTag"], d
        assert [p["id"] for p in d["progressInfo"]] == list(stages), d
        for p in d["progressInfo"]:
            assert list(p) == ["id", "succeedTasks", "failedTasks", "runningTasks",
                               "totalTasks"], p
            assert p["totalTasks"] == 1
    last = jf.kind("progress")[-1]["data"]["progressInfo"]
    if final == "Succeed":
        assert all(p["succeedTasks"] == 1 and p["runningTasks"] == 0 for p in last), last
    jf.check_log_counts()
    info = jf.joined("info")
    assert "Your job is Scheduled. Please wait it to run." in info
    assert "Your job is Running now. Please wait it to complete." in info
    assert f"Your job is {final}" in info
    # the status pushes come in this order relative to the logs
    kinds = [f["method"].rsplit("/", 1)[1] for f in jf.frames]
    assert kinds[0] == "status", kinds


# --------------------------------------------------------------------------
# execute over the WebSocket
# --------------------------------------------------------------------------

def test_seed_example_python(server):
    async def main():
        ws = await LinkisWS.connect(server)
        tag = SEED_DATA["websocketTag"]
        code = "import sys\nprint('hello ${k1}')\nprint('oops', file=sys.stderr)\nprint('bye')\n"
        # exactly the seed's frame (tag inside data), with runType python
        await ws.send({"method": EXECUTE, "data": seed(runType="python", executionCode=code)})
        reply = await ws.recv()
        check_frame(reply, tag)
        assert reply["method"] == EXECUTE
        assert reply["status"] == 0
        assert reply["message"] == "The request was executed successfully"
        assert list(reply["data"]) == ["execID", "taskID", "websocketTag"]
        eid, tid = reply["data"]["execID"], reply["data"]["taskID"]
        assert type(tid) is int and tid >= 1
        creator, engine, instance, job = parse_exec_id(eid)
        assert (creator, engine) == ("IDE", "spark")
        assert instance == f"127.0.0.1:{server.port}"
        assert job == f"IDE_anonymous_{tid}"
        frames = await ws.collect_job(eid)
        jf = JobFrames(eid, tid, frames, tag)
        check_whole_job(jf)
        assert jf.joined("error") == "oops\n"
        assert jf.joined("warn") == ""
        assert log_program_lines(jf.joined("info")) == ["hello v1", "bye"]
        # stdout and stderr are separate pipes: only each one's order is fixed
        assert sorted(log_program_lines(jf.joined("all"))) == ["bye", "hello v1", "oops"]
        final = jf.kind("status")[-1]["data"]
        assert list(final) == ["execID", "taskID", "status", "result", "websocketTag"]
        assert final["result"]["reason"] == "exited" and final["result"]["exitCode"] == 0
        assert final["result"]["outputBytes"] == len("hello v1\noops\nbye\n")
        # the status messages
        assert {f["message"] for f in jf.kind("status")} == {"Return status information"}
        assert {f["message"] for f in jf.kind("log")} == {"Return log information"}
        assert {f["message"] for f in jf.kind("progress")} == {"Return progress information"}
        await ws.close()
    arun(main())


def test_seed_example_sql_verbatim_fails_in_sqlite(server):
    """'show tables' is not SQLite: the job fails with sqlite's message in
    the error log."""
    async def main():
        ws = await LinkisWS.connect(server)
        tag = SEED_DATA["websocketTag"]
        await ws.send({"method": EXECUTE, "data": seed()})
        reply = await ws.recv()
        check_frame(reply, tag)
        assert reply["status"] == 0
        eid, tid = reply["data"]["execID"], reply["data"]["taskID"]
        jf = JobFrames(eid, tid, await ws.collect_job(eid), tag)
        check_whole_job(jf, final="Failed")
        assert "syntax error" in jf.joined("error"), jf.joined("error")
        final = jf.kind("status")[-1]["data"]["result"]
        assert final["reason"] == "exited" and final["exitCode"] == 1
        last = jf.kind("progress")[-1]["data"]["progressInfo"]
        assert last[1] == {"id": "run", "succeedTasks": 0, "failedTasks": 1,
                           "runningTasks": 0, "totalTasks": 1}
        await ws.close()
    arun(main())


def test_sql_runs_on_sqlite(server):
    async def main():
        ws = await LinkisWS.connect(server)
        code = ("CREATE TABLE t(name TEXT, n INT);\n"
                "INSERT INTO t VALUES ('${who}', ${n});\n"
                "SELECT name || ':' || n FROM t;\n")
        data = seed(executionCode=code, params={"variable": {"who": "ada", "n": 36}})
        reply, jf = await run_ws(ws, data, "sqltag")
        check_whole_job(jf)
        # SQL rows are a table result set, not log lines
        assert log_program_lines(jf.joined("all")) == []
        assert jf.joined("error") == ""
        assert "runType sql runs as sqlite" in jf.joined("info")
        sets = result_sets(server, reply["data"]["taskID"])
        assert [(s["type"], s["fileContent"]) for s in sets] == [("2", [["ada:36"]])]
        assert sets[0]["metadata"] == [{"columnName": "name || ':' || n", "comment": "NULL",
                                        "dataType": "string"}]
        await ws.close()
    arun(main())


@pytest.mark.parametrize("run_type", ["shell", "sh"])
def test_shell(server, run_type):
    async def main():
        ws = await LinkisWS.connect(server)
        code = "echo out1; echo err1 >&2; echo \"$BASH_VERSION\" | cut -c1; echo out2"
        data = {"executeApplicationName": "shell", "executionCode": code, "runType": run_type,
                "params": {"variable": {}, "configuration": {}}}
        reply, jf = await run_ws(ws, data, "sh-tag")
        check_whole_job(jf)
        lines = log_program_lines(jf.joined("all"))
        # bash, not dash: BASH_VERSION is set
        assert lines[0] == "out1" and lines[-1] == "out2" and lines[-2].isdigit(), lines
        assert jf.joined("error") == "err1\n"
        assert parse_exec_id(reply["data"]["execID"])[1] == "shell"
        await ws.close()
    arun(main())


def test_compiled_language_has_compile_stage(server):
    async def main():
        ws = await LinkisWS.connect(server)
        # a unique comment: a compile-cache hit would skip the compile stage
        code = ('#include <stdio.h>\nint main(void){puts("compiled");return 0;}\n'
                f'/* {time.time_ns()} */\n')
        reply, jf = await run_ws(ws, {"executionCode": code, "runType": "c"}, "c1")
        check_whole_job(jf, stages=("queue", "compile", "run"))
        assert log_program_lines(jf.joined("info")) == ["compiled"]
        assert jf.progresses[0] == 0.0
        assert pytest.approx(1 / 3, abs=1e-3) in jf.progresses
        assert pytest.approx(2 / 3, abs=1e-3) in jf.progresses
        await ws.close()
    arun(main())


def test_engine_used_when_no_run_type(server):
    async def main():
        ws = await LinkisWS.connect(server)
        reply, jf = await run_ws(ws, {"executeApplicationName": "python",
                                      "executionCode": "print(6*7)"}, "e1")
        check_whole_job(jf)
        assert log_program_lines(jf.joined("info")) == ["42"]
        reply, jf = await run_ws(ws, {"executeApplicationName": "hive",
                                      "executionCode": "select 1+1;"}, "e2")
        sets = result_sets(server, reply["data"]["taskID"])
        assert [s["fileContent"] for s in sets] == [[["2"]]]
        await ws.close()
    arun(main())


def test_new_shape_execution_content(server):
    async def main():
        ws = await LinkisWS.connect(server)
        data = {"executionContent": {"code": "echo new-shape", "runType": "shell"},
                "params": {}, "labels": {"engineType": "shell-1", "userCreator": "hadoop-IDE"}}
        reply, jf = await run_ws(ws, data, "n1")
        check_whole_job(jf)
        assert log_program_lines(jf.joined("info")) == ["new-shape"]
        assert parse_exec_id(reply["data"]["execID"])[:2] == ("IDE", "shell")
        await ws.close()
    arun(main())


def test_tag_top_level_and_in_data(server):
    async def main():
        ws = await LinkisWS.connect(server)
        r1 = await ws.execute("print(1)", tag="top")
        f1 = await ws.collect_job(r1["data"]["execID"])
        JobFrames(r1["data"]["execID"], r1["data"]["taskID"], f1, "top")
        r2 = await ws.execute("print(2)", tag="inside", tag_in_data=True)
        f2 = await ws.collect_job(r2["data"]["execID"])
        JobFrames(r2["data"]["execID"], r2["data"]["taskID"], f2, "inside")
        assert r2["data"]["taskID"] == r1["data"]["taskID"] + 1
        # no tag at all: none is sent back
        await ws.request(EXECUTE, {"executionCode": "print(3)", "runType": "py"})
        r3 = await ws.recv()
        check_frame(r3, None)
        f3 = await ws.collect_job(r3["data"]["execID"])
        JobFrames(r3["data"]["execID"], r3["data"]["taskID"], f3, None)
        await ws.close()
    arun(main())


def test_two_jobs_on_one_socket_do_not_mix(server):
    async def main():
        ws = await LinkisWS.connect(server)
        code_a = "for i in $(seq 1 20); do echo A$i; sleep 0.02; done"
        code_b = "for i in $(seq 1 20); do echo B$i >&2; sleep 0.02; done"
        await ws.request(EXECUTE, {"executionCode": code_a, "runType": "shell"}, "tag-a")
        await ws.request(EXECUTE, {"executionCode": code_b, "runType": "shell"}, "tag-b")
        frames = {}
        tags = {}
        ended = set()
        deadline = time.monotonic() + 30
        while len(ended) < 2:
            msg = await ws.recv(max(0.1, deadline - time.monotonic()))
            if msg["method"] == EXECUTE:
                tag = msg["websocketTag"]
                tags[msg["data"]["execID"]] = (tag, msg["data"]["taskID"])
                frames[msg["data"]["execID"]] = []
                continue
            eid = msg["data"]["execID"]
            assert eid in frames, msg
            assert msg["websocketTag"] == tags[eid][0], msg
            frames[eid].append(msg)
            if msg["method"].endswith("/status") and msg["data"]["status"] in TERMINAL:
                ended.add(eid)
        by_tag = {}
        for eid, fr in frames.items():
            tag, tid = tags[eid]
            jf = JobFrames(eid, tid, fr, tag)
            check_whole_job(jf)
            by_tag[tag] = jf
        assert log_program_lines(by_tag["tag-a"].joined("all")) == [f"A{i}" for i in range(1, 21)]
        assert by_tag["tag-a"].joined("error") == ""
        assert by_tag["tag-b"].joined("error") == "".join(f"B{i}\n" for i in range(1, 21))
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# kill and timeout
# --------------------------------------------------------------------------

def test_kill_over_ws(server):
    async def main():
        ws = await LinkisWS.connect(server)
        r = await ws.execute("echo started; sleep 30", run_type="shell", tag="k")
        eid, tid = r["data"]["execID"], r["data"]["taskID"]
        frames = []
        while True:  # wait for the program's first line
            msg = await ws.recv()
            frames.append(msg)
            if msg["method"].endswith("/log") and "started" in msg["data"]["log"][3]:
                break
        t0 = time.monotonic()
        await ws.request(f"{ENTRANCE}/{eid}/kill", {}, "k")
        reply = await ws.recv()
        check_frame(reply, "k")
        assert reply["method"] == f"{ENTRANCE}/{eid}/kill"
        assert (reply["status"], reply["message"]) == (0, "Successfully killed the job")
        assert reply["data"] == {"execID": eid, "taskID": tid, "websocketTag": "k"}
        frames += await ws.collect_job(eid, 10)
        assert time.monotonic() - t0 < 5
        jf = JobFrames(eid, tid, frames, "k")
        check_whole_job(jf, final="Cancelled")
        assert jf.kind("status")[-1]["data"]["result"]["reason"] == "killed"
        # killing again: it has ended
        reply = await ws.call(f"{ENTRANCE}/{eid}/kill", {}, "k")
        assert reply["status"] == 0
        assert reply["message"] == "The job had already ended with status Cancelled"
        await ws.close()
    arun(main())


def test_kill_over_rest(server):
    st, _, r = rest(server, "POST", EXECUTE, {"executionCode": "sleep 30", "runType": "sh"})
    assert st == 200 and r["status"] == 0, r
    eid = r["data"]["execID"]
    time.sleep(0.3)
    st, _, k = rest(server, "GET", f"{ENTRANCE}/{eid}/kill")
    assert st == 200, k
    assert k == {"method": f"{ENTRANCE}/{eid}/kill", "status": 0,
                 "message": "Successfully killed the job",
                 "data": {"execID": eid, "taskID": r["data"]["taskID"]}}
    t0 = time.monotonic()
    final = rest_wait(server, eid, 10)
    assert time.monotonic() - t0 < 5
    assert final["data"]["status"] == "Cancelled"
    assert final["data"]["result"]["reason"] == "killed"


def test_timeout(server):
    async def main():
        ws = await LinkisWS.connect(server)
        data = {"executionCode": "echo t; sleep 20", "runType": "shell",
                "params": {"configuration": {"runtime": {"runnel.wall_ms": "800"}}}}
        t0 = time.monotonic()
        reply, jf = await run_ws(ws, data, "to")
        assert time.monotonic() - t0 < 8
        check_whole_job(jf, final="Timeout")
        assert jf.kind("status")[-1]["data"]["result"]["reason"] == "timeout"
        assert log_program_lines(jf.joined("all")) == ["t"]
        await ws.close()
    arun(main())


def test_runtime_limit_must_be_integer(server):
    async def main():
        ws = await LinkisWS.connect(server)
        data = {"executionCode": "echo", "runType": "shell",
                "params": {"configuration": {"runtime": {"runnel.wall_ms": "soon"}}}}
        r = await ws.call(EXECUTE, data, "x")
        check_frame(r, "x")
        assert r["status"] == 2
        assert r["message"] == ("params.configuration.runtime.runnel.wall_ms must be a "
                                "positive integer")
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# status/log/progress requests over the socket and over REST
# --------------------------------------------------------------------------

def test_ws_requests_status_log_progress(server):
    async def main():
        ws = await LinkisWS.connect(server)
        r = await ws.execute("print('a'); print('b')", tag="q")
        eid, tid = r["data"]["execID"], r["data"]["taskID"]
        await ws.collect_job(eid)
        st = await ws.call(f"{ENTRANCE}/{eid}/status", {}, "q2")
        check_frame(st, "q2")
        assert st["method"] == f"{ENTRANCE}/{eid}/status"
        assert st["data"]["status"] == "Succeed" and st["data"]["taskID"] == tid
        lg = await ws.call(f"{ENTRANCE}/{eid}/log", {"fromLine": 1, "size": -1}, "q3")
        check_frame(lg, "q3")
        assert log_program_lines(lg["data"]["log"][3]) == ["a", "b"]
        # fromLine is 1-based (Linkis' LogReader): the answer is the next line
        n = lg["data"]["fromLine"]
        assert n == lg["data"]["log"][3].count("\n") + 1
        lg = await ws.call(f"{ENTRANCE}/{eid}/log", {"fromLine": n}, "q4")
        assert lg["data"]["log"] == ["", "", "", ""] and lg["data"]["fromLine"] == n
        # 0 (and below) reads from line 1 too
        lg0 = await ws.call(f"{ENTRANCE}/{eid}/log", {"fromLine": 0, "size": -1}, "q4b")
        assert lg0["data"]["log"][3] == lg["data"]["log"][3] or lg0["data"]["fromLine"] == n
        pr = await ws.call(f"{ENTRANCE}/{eid}/progress", None, "q5")
        check_frame(pr, "q5")
        assert pr["data"]["progress"] == 1.0
        # the same requests under the seed's other spellings of the prefix
        st = await ws.call(f"/api/rest_j/entrance/{eid}/status", {}, "q6")
        assert st["status"] == 0 and st["method"] == f"/api/rest_j/entrance/{eid}/status"
        await ws.close()
    arun(main())


def test_rest_execute_status_progress_shapes(server):
    body = {"executeApplicationName": "python", "executionCode": "print('rest')",
            "runType": "python", "requestApplicationName": "Scriptis"}
    st, _, r = rest(server, "POST", EXECUTE, body)
    assert st == 200
    assert list(r) == ["method", "status", "message", "data"]
    assert r["method"] == EXECUTE and r["status"] == 0
    assert list(r["data"]) == ["execID", "taskID"]
    eid, tid = r["data"]["execID"], r["data"]["taskID"]
    assert parse_exec_id(eid) == ("Scriptis", "python", f"127.0.0.1:{server.port}",
                                  f"Scriptis_anonymous_{tid}")
    final = rest_wait(server, eid)
    assert final["method"] == f"{ENTRANCE}/{eid}/status"
    assert final["data"]["status"] == "Succeed"
    for path in ("progress", "progressWithResource"):
        st, _, p = rest(server, "GET", f"{ENTRANCE}/{eid}/{path}")
        assert st == 200 and p["status"] == 0, p
        assert p["data"]["progress"] == 1.0
        assert [x["id"] for x in p["data"]["progressInfo"]] == ["queue", "run"]
        assert ("yarnResource" in p["data"]) == (path == "progressWithResource")
    # a taskID works where an execID does
    st, _, s = rest(server, "GET", f"{ENTRANCE}/{tid}/status")
    assert st == 200 and s["data"]["execID"] == eid
    # the whole WS frame posted to the seed's execution path
    st, _, r2 = rest(server, "POST", "/api/res_j/entrance/execution",
                     {"method": EXECUTE, "data": {"executionCode": "echo x", "runType": "sh"}})
    assert st == 200 and r2["status"] == 0 and r2["data"]["taskID"] == tid + 1
    st, _, r3 = rest(server, "POST", "/api/rest_j/v1/entrance/submit",
                     {"executionCode": "echo y", "runType": "sh"})
    assert st == 200 and r3["data"]["taskID"] == tid + 2
    assert rest_wait(server, r3["data"]["execID"])["data"]["status"] == "Succeed"


def test_rest_log_paging_reassembles_output(server):
    n = 120
    code = f"for i in $(seq 1 {n}); do echo \"line $i\"; [ $((i % 10)) = 0 ] && sleep 0.03; done"
    st, _, r = rest(server, "POST", EXECUTE, {"executionCode": code, "runType": "shell"})
    assert st == 200 and r["status"] == 0, r
    eid = r["data"]["execID"]
    got, from_line, done = [], 1, False
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline
        # read the status first: once terminal, a page that comes back short
        # means the log is exhausted
        _, _, s = rest(server, "GET", f"{ENTRANCE}/{eid}/status")
        done = s["data"]["status"] in TERMINAL
        while True:
            st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine={from_line}&size=7")
            assert st == 200 and lg["status"] == 0, lg
            assert lg["method"] == f"{ENTRANCE}/{eid}/log"
            assert list(lg["data"]) == ["execID", "log", "taskID", "fromLine"]
            all_text = lg["data"]["log"][3]
            k = all_text.count("\n")
            assert k <= 7
            assert lg["data"]["fromLine"] == from_line + k
            got.append(all_text)
            from_line += k
            if k < 7:
                break
        if done:
            break
        time.sleep(0.02)
    assert log_program_lines("".join(got)) == [f"line {i}" for i in range(1, n + 1)]
    # distinctLevel=false gives one string, the same lines
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine=1&size=-1&distinctLevel=false")
    assert lg["data"]["log"] == "".join(got)
    assert lg["data"]["fromLine"] == from_line
    # default size is 100, from line 1
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log")
    assert lg["data"]["fromLine"] == 101 and lg["data"]["log"][3].count("\n") == 100
    assert lg["data"]["log"][3].split("\n")[0] == "".join(got).split("\n")[0]


def test_socket_closed_mid_run_then_rest_log(server):
    """The job outlives its socket; REST returns the whole log."""
    async def main():
        ws = await LinkisWS.connect(server)
        code = "for i in $(seq 1 30); do echo \"n$i\"; sleep 0.05; done"
        r = await ws.execute(code, run_type="shell", tag="drop")
        eid = r["data"]["execID"]
        while True:
            msg = await ws.recv()
            if msg["method"].endswith("/log") and "n1\n" in msg["data"]["log"][3]:
                break
        await ws.close()
        return eid
    eid = arun(main())
    final = rest_wait(server, eid, 20)
    assert final["data"]["status"] == "Succeed"
    st, _, lg = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine=0&size=-1")
    assert log_program_lines(lg["data"]["log"][3]) == [f"n{i}" for i in range(1, 31)]
    assert "Your job is Succeed" in lg["data"]["log"][2]


def test_kill_on_disconnect_option(lk):
    server = lk({"kill_on_disconnect": True})

    async def main():
        ws = await LinkisWS.connect(server)
        r = await ws.execute("echo go; sleep 30", run_type="shell", tag="d")
        while True:
            msg = await ws.recv()
            if msg["method"].endswith("/log") and "go\n" in msg["data"]["log"][3]:
                break
        await ws.close()
        return r["data"]["execID"]
    eid = arun(main())
    final = rest_wait(server, eid, 10)
    assert final["data"]["status"] == "Cancelled"


# --------------------------------------------------------------------------
# retention
# --------------------------------------------------------------------------

def test_retention_count_and_age(lk):
    """Finished tasks are kept by the state store's count and age bounds
    (pruned a second after start, then every minute)."""
    server = lk()
    server.config["state"] = {"retention_count": 2}
    server.config_path.write_text(json.dumps(server.config))
    server.stop()
    server.start()
    ids = []
    for i in range(3):
        st, _, r = rest(server, "POST", EXECUTE, {"executionCode": f"echo {i}", "runType": "sh"})
        assert r["status"] == 0, r
        ids.append(r["data"]["execID"])
        rest_wait(server, ids[-1])
    server.stop()
    server.start()
    time.sleep(1.8)
    st, _, r = rest(server, "GET", f"{ENTRANCE}/{ids[0]}/status")
    assert st == 404
    assert r == {"method": f"{ENTRANCE}/{ids[0]}/status", "status": 1,
                 "message": f"no such execID: {ids[0]}", "data": {}}
    for k in (1, 2):
        st, _, r = rest(server, "GET", f"{ENTRANCE}/{ids[k]}/log?size=-1")
        assert st == 200 and log_program_lines(r["data"]["log"][3]) == [str(k)]
    # an age bound of one second drops the rest
    server.config["state"] = {"retention_ms": 1000}
    server.config_path.write_text(json.dumps(server.config))
    server.stop()
    time.sleep(1.1)
    server.start()
    time.sleep(1.8)
    for eid in ids[1:]:
        st, _, r = rest(server, "GET", f"{ENTRANCE}/{eid}/log")
        assert st == 404 and r["status"] == 1, r


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

def test_ws_bad_input_keeps_connection(server):
    async def main():
        ws = await LinkisWS.connect(server)

        async def expect(raw, status, message, method=None, tag=None):
            await ws.send(raw)
            msg = await ws.recv()
            check_frame(msg, tag)
            assert msg["method"] == method, msg
            assert msg["status"] == status, msg
            if message.endswith("*"):
                assert msg["message"].startswith(message[:-1]), msg
            else:
                assert msg["message"] == message, msg
            return msg

        await expect("{nope", 1, "invalid JSON")
        await expect("[1,2]", 1, "invalid request: expected a JSON object")
        await expect({"data": {}}, 1, "missing method: send {method, data, websocketTag}")
        await expect({"method": 5}, 1, "method must be a string")
        await expect({"method": "/api/rest_j/v1/entrance/frobnicate", "websocketTag": "t"}, 1,
                     "Unresolvable webSocket request: /api/rest_j/v1/entrance/frobnicate",
                     "/api/rest_j/v1/entrance/frobnicate", "t")
        await expect({"method": EXECUTE, "data": {"runType": "python"}, "websocketTag": "t"}, 2,
                     "executionCode must not be empty", EXECUTE, "t")
        await expect({"method": EXECUTE, "data": {"runType": "python", "executionCode": ""},
                      "websocketTag": "t"}, 2, "executionCode must not be empty", EXECUTE, "t")
        await expect({"method": EXECUTE, "data": {"runType": "python", "executionCode": 3},
                      "websocketTag": "t"}, 2, "executionCode must be a string", EXECUTE, "t")
        await expect({"method": EXECUTE, "data": "x", "websocketTag": "t"}, 2,
                     "data must be an object", EXECUTE, "t")
        await expect({"method": EXECUTE, "data": {"executionCode": "x"}, "websocketTag": 7}, 2,
                     "websocketTag must be a string of at most 256 characters", EXECUTE)
        m = await expect({"method": EXECUTE, "data": {"executionCode": "x", "runType": "scala",
                                                      "executeApplicationName": "spark"},
                          "websocketTag": "t"}, 2,
                         "unsupported runType 'scala' (executeApplicationName 'spark')*",
                         EXECUTE, "t")
        for name in ("python", "sql", "shell", "sh"):
            assert name in m["message"], m
        m = await expect({"method": EXECUTE, "data": {"executionCode": "x"}, "websocketTag": "t"},
                         2, "runType (or executeApplicationName) must not be empty*", EXECUTE, "t")
        assert "spark" in m["message"] and "python" in m["message"]
        await expect({"method": EXECUTE, "data": {"executionCode": "x", "runType": "py",
                                                  "executeApplicationName": "sp/ark"},
                      "websocketTag": "t"}, 2,
                     "executeApplicationName must be 1 to 64 characters*", EXECUTE, "t")
        await expect({"method": f"{ENTRANCE}/nope/status", "websocketTag": "t"}, 1,
                     "no such execID: nope", f"{ENTRANCE}/nope/status", "t")
        await expect({"method": "/api/rest_j/v1/user/login", "data": {}}, 1, "log in and out*",
                     "/api/rest_j/v1/user/login")
        # a message cut inside a UTF-8 character still makes a valid frame
        long_method = "/api/rest_j/v1/entrance/" + "\u20ac" * 200
        m = await expect({"method": long_method}, 1, "Unresolvable webSocket request: *",
                         long_method)
        assert m["message"].endswith("\ufffd\ufffd"), m["message"][-5:]
        await ws.conn.send(b"\x00\x01")
        msg = await ws.recv()
        assert msg["status"] == 1 and msg["message"].startswith("binary frames"), msg
        # still usable
        reply, jf = await run_ws(ws, {"executionCode": "print('still')", "runType": "py"}, "ok")
        assert log_program_lines(jf.joined("info")) == ["still"]
        await ws.close()
    arun(main())


def test_rest_bad_input(server):
    st, _, r = rest(server, "POST", EXECUTE, "{nope")
    assert (st, r["status"], r["message"]) == (400, 1, "invalid JSON")
    st, _, r = rest(server, "POST", EXECUTE, {"runType": "python"})
    assert (st, r["status"], r["message"]) == (412, 2, "executionCode must not be empty")
    st, _, r = rest(server, "POST", EXECUTE, {"runType": "cobol", "executionCode": "x"})
    assert (st, r["status"]) == (412, 2) and "supported runTypes" in r["message"]
    st, _, r = rest(server, "GET", EXECUTE)
    assert (st, r["status"], r["message"]) == (405, 1, "Method Not Allowed")
    st, _, r = rest(server, "GET", f"{ENTRANCE}/whatever/log")
    assert (st, r["status"], r["message"]) == (404, 1, "no such execID: whatever")
    st, _, r = rest(server, "GET", "/api/rest_j/v1/entrance/a/b/c")
    assert (st, r["status"]) == (404, 1)
    st, _, r = rest(server, "GET", f"{ENTRANCE}/%FF%FE/status")
    assert (st, r["status"]) == (404, 1) and r["message"].startswith("no such execID: "), r
    st, _, r = rest(server, "GET", CONNECT)
    assert (st, r["status"]) == (426, 1)
    st, _, ok = rest(server, "POST", EXECUTE, {"runType": "sh", "executionCode": "echo"})
    eid = ok["data"]["execID"]
    st, _, r = rest(server, "GET", f"{ENTRANCE}/{eid}/log?fromLine=abc")
    assert (st, r["status"], r["message"]) == (412, 2, "fromLine and size must be integers")
    # code over the limit after substitution
    st, _, r = rest(server, "POST", EXECUTE, {
        "runType": "sh", "executionCode": "${a}" * 100,
        "params": {"variable": {"a": "x" * 4000}}})
    assert (st, r["status"]) == (412, 2) and "over the limit" in r["message"], r


def test_connect_paths(server):
    async def main():
        for path in ("/api/rest_j/v1/entrance/connect", "/api/rest_j/entrance/connect",
                     "/api/res_j/entrance/connect", "/ws/api/entrance/connect"):
            ws = await LinkisWS.connect(server, path)
            r = await ws.call(f"{ENTRANCE}/none/status", {}, "p")
            assert r["status"] == 1 and r["message"] == "no such execID: none"
            await ws.close()
    arun(main())


def test_per_connection_limit(lk):
    server = lk(per_connection=2)

    async def main():
        ws = await LinkisWS.connect(server)
        for i in range(2):
            await ws.request(EXECUTE, {"executionCode": "sleep 5", "runType": "sh"}, f"l{i}")
        await ws.request(EXECUTE, {"executionCode": "echo", "runType": "sh"}, "l3")
        replies = {}
        while len(replies) < 3:
            msg = await ws.recv()
            if msg["method"] == EXECUTE:
                replies[msg["websocketTag"]] = msg
        # replies come as each is ready (a task is saved before it starts)
        assert [replies[t]["status"] for t in ("l0", "l1", "l3")] == [0, 0, 1]
        msg = replies["l3"]
        assert msg["status"] == 1
        assert msg["message"] == "too many jobs running on this connection (limit 2)"
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# login
# --------------------------------------------------------------------------

def cookie_of(hdrs):
    sc = hdrs.get("set-cookie", "")
    assert sc.startswith("linkis_user_session_ticket_id_v1="), hdrs
    return sc.split(";", 1)[0]


def test_login_disabled_always_succeeds(server):
    st, hdrs, r = rest(server, "POST", "/api/rest_j/v1/user/login",
                       {"userName": "hadoop", "password": "whatever"})
    assert st == 200 and r["status"] == 0
    assert r["message"] == "login successful(登录成功)！"
    assert r["data"] == {"userName": "hadoop", "isAdmin": False, "sessionTimeOut": 7200000,
                         "enableWatermark": False}
    cookie = cookie_of(hdrs)
    assert "Path=/" in hdrs["set-cookie"]
    st, _, r = rest(server, "POST", EXECUTE, {"executionCode": "echo", "runType": "sh"},
                    headers={"Cookie": cookie})
    assert parse_exec_id(r["data"]["execID"])[3] == f"IDE_hadoop_{r['data']['taskID']}"
    st, _, r = rest(server, "POST", "/api/rest_j/v1/user/login", {"userName": "x"},
                    headers={"Cookie": cookie})
    assert r["status"] == 0 and "已经登录，请先退出再进行登录" in r["message"]
    # without logging in, jobs run as anonymous
    st, _, r = rest(server, "POST", EXECUTE, {"executionCode": "echo", "runType": "sh"})
    assert parse_exec_id(r["data"]["execID"])[3].startswith("IDE_anonymous_")


def test_login_enabled(lk):
    server = lk({"users": {"enabled": True, "list": [
        {"userName": "alice", "password": "s3cret", "admin": True},
        {"userName": "bob", "password": "hunter2"}]}})
    login = "/api/rest_j/v1/user/login"
    # no session: -1 / 401 on REST
    st, _, r = rest(server, "POST", EXECUTE, {"executionCode": "echo", "runType": "sh"})
    assert (st, r["status"]) == (401, -1)
    assert r["message"] == "You are not logged in, please login first(您尚未登录，请先登录)!"
    st, _, r = rest(server, "POST", login, {"userName": "alice", "password": "nope"})
    assert (st, r["status"], r["message"]) == (400, 1, "wrong user name or password(用户名或密码错误)！")
    st, _, r = rest(server, "POST", login, {"userName": "alice"})
    assert (st, r["status"], r["message"]) == (400, 1, "Password can not be blank(密码不能为空)！")
    st, _, r = rest(server, "POST", login, {"password": "x"})
    assert (st, r["status"], r["message"]) == (400, 1, "Username can not be empty(用户名不能为空)！")
    st, hdrs, r = rest(server, "POST", login, {"userName": "alice", "password": "s3cret"})
    assert st == 200 and r["data"]["userName"] == "alice" and r["data"]["isAdmin"] is True
    alice = {"Cookie": cookie_of(hdrs)}
    st, hdrs, r = rest(server, "POST", login, {"userName": "bob", "password": "hunter2"})
    bob = {"Cookie": cookie_of(hdrs)}
    st, _, r = rest(server, "POST", EXECUTE, {"executionCode": "echo hi", "runType": "sh"},
                    headers=alice)
    assert st == 200 and r["status"] == 0
    eid = r["data"]["execID"]
    assert parse_exec_id(eid)[3] == f"IDE_alice_{r['data']['taskID']}"
    rest_wait(server, eid, headers=alice)
    st, _, r = rest(server, "GET", f"{ENTRANCE}/{eid}/log", headers=bob)
    assert (st, r["status"]) == (403, 3)

    async def ws_part():
        ws = await LinkisWS.connect(server)
        r = await ws.call(f"{ENTRANCE}/{eid}/status", {}, "t")
        check_frame(r, "t")
        assert r["status"] == -1
        await ws.close()
        ws = await LinkisWS.connect(server, extra_headers=alice)
        reply, jf = await run_ws(ws, {"executionCode": "echo ws", "runType": "sh"}, "a")
        assert log_program_lines(jf.joined("all")) == ["ws"]
        r = await ws.call(f"{ENTRANCE}/{eid}/status", {}, "t")
        assert r["status"] == 0 and r["data"]["status"] == "Succeed"
        # logging out ends the session the socket was opened with
        st, hdrs, r = await asyncio.to_thread(rest, server, "GET", "/api/rest_j/v1/user/logout",
                                              None, alice)
        assert st == 200 and r["status"] == 0 and "Max-Age=0" in hdrs["set-cookie"]
        r = await ws.call(f"{ENTRANCE}/{eid}/status", {}, "t")
        assert r["status"] == -1
        await ws.close()
    arun(ws_part())
    st, _, r = rest(server, "GET", f"{ENTRANCE}/{eid}/status", headers=alice)
    assert (st, r["status"]) == (401, -1)


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------

def test_config_error_refuses_start(lk, tmp_path, linkis_specs):
    from conftest import RUNNEYD
    for section, needle in [
        ({"retention": 5}, "unknown key 'linkis.retention'"),
        ({"max_jobs": 0}, "'linkis.max_jobs' must be an integer from 1 to"),
        ({"users": {"enabled": True, "list": []}},
         "linkis.users.list: must name at least one user"),
        ({"users": {"enabled": True, "list": [{"userName": "a b", "password": "x"}]}},
         "linkis.users.list[0].userName"),
        ({"instance": "a/b:1"}, "linkis.instance: must be host:port"),
    ]:
        cfg = tmp_path / "bad.json"
        cfg.write_text(json.dumps({"linkis": section}))
        p = subprocess.run([str(RUNNEYD), "--listen", "127.0.0.1:0", "--specs", str(linkis_specs),
                            "--config", str(cfg)], capture_output=True, text=True, timeout=20,
                            env=dict(os.environ, RUNNEL_STATE_DIR=str(tmp_path / "state")))
        assert p.returncode != 0, (section, p.stderr)
        assert needle in p.stderr, (section, p.stderr)


def test_instance_override(lk):
    server = lk({"instance": "node7.example:9104"})
    st, _, r = rest(server, "POST", EXECUTE, {"executionCode": "echo", "runType": "sh",
                                              "executeApplicationName": "shell"})
    tid = r["data"]["taskID"]
    assert r["data"]["execID"] == f"030518IDEshellnode7.example:9104IDE_anonymous_{tid}"
