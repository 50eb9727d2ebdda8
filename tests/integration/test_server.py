"""runneld as a process: health, info, start-up, logs, signals."""

import asyncio
import json
import os
import re
import signal
import time

import pytest

from conftest import (SPECS, LOG, Run, arun, async_wait_until, fd_count, marker, pids_with,
                      wait_until)


def values(obj):
    """Every scalar in a JSON value, recursively."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from values(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from values(v)
    else:
        yield obj


def test_healthz(server):
    st, _, _ = server.http("GET", "/healthz")
    assert st == 200


def test_info_reports_config(server_factory):
    srv = server_factory(concurrency=3, queue=17, wall_ms=12345, output_bytes=654321,
                         code_bytes=23456, per_connection=5)
    st, hdrs, obj = srv.http_json("GET", "/v1/info")
    assert st == 200
    assert hdrs.get("content-type", "").startswith("application/json"), hdrs
    assert isinstance(obj.get("version"), str) and obj["version"], obj
    assert "sandbox" in obj, obj
    assert isinstance(obj.get("limits"), dict), obj
    lv = set(values(obj["limits"]))
    for v in (17, 12345, 654321, 23456, 5):
        assert v in lv, f"{v} from the config not in /v1/info limits {obj['limits']!r}"
    assert 3 in set(values(obj)), f"concurrency 3 not in /v1/info {obj!r}"


def test_starts_without_config(server_factory):
    srv = server_factory(_use_config=False)
    st, _, obj = srv.http_json("GET", "/v1/info")
    assert st == 200
    lv = set(values(obj["limits"]))
    for v in (64, 10000, 1048576, 262144, 268435456):
        assert v in lv, f"default {v} not in /v1/info limits {obj['limits']!r}"

    async def main():
        ws = await srv.ws()
        r = await ws.run("print('ok')", language="python3")
        r.check_sequence()
        assert r.stdout == "ok\n"
        await ws.close()
    arun(main())


def test_startup_log(server, test_specs):
    """Start-up says where it listens, how many languages it loaded and which
    sandbox protections are active."""
    log = server.log_text()
    assert f"127.0.0.1:{server.port}" in log, log
    n = len([p for p in test_specs.glob("*.json") if p.name != "schema.json"])
    assert re.search(rf"languages\W{{1,3}}{n}\b|\b{n}\b[^\n]{{0,20}}languages", log), \
        f"no language count {n} in the start-up log:\n{log}"
    assert "seccomp" in log.lower() and "namespace" in log.lower(), \
        f"protections not listed in the start-up log:\n{log}"


def test_run_log_lines(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("echo logged", nonce=1)
        r.check_sequence()
        await ws.close()
        return r.runid
    runid = arun(main())

    def logged():
        lines = server.log_text().splitlines()
        with_id = [l for l in lines if runid in l]
        return (any("bash" in l for l in with_id)
                and any("exited" in l for l in with_id))
    assert wait_until(logged, 3), \
        f"no run start/stop lines with runid, language and reason:\n{server.log_tail(30)}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_signal(server_factory, sig):
    srv = server_factory()
    mark = marker()

    async def main():
        busy = await srv.ws()
        idle = await srv.ws()
        r = Run(1)
        await busy.exec(f"echo ready; exec -a {mark} sleep 30", nonce=1)
        await busy.collect({1: r}, 10, until=lambda e: e["code"] == LOG)
        assert r.stdout == "ready\n"
        assert await async_wait_until(lambda: pids_with(mark), 3), "program not running"
        t0 = time.monotonic()
        srv.proc.send_signal(sig)
        srv.expect_exit = True
        (code_busy, frames), (code_idle, _) = await asyncio.gather(
            busy.expect_closed(6), idle.expect_closed(6))
        assert (code_busy, code_idle) == (1001, 1001), \
            f"close codes: client with a run {code_busy}, idle client {code_idle} (frames {frames!r})"
        for f in frames:   # whatever came before the close belongs to the run
            ev = json.loads(f)
            assert ev.get("nonce") == 1, ev
        rc = await asyncio.to_thread(srv.proc.wait, max(0.1, 5 - (time.monotonic() - t0)))
        assert rc == 0, f"exit status {rc}"
        assert time.monotonic() - t0 < 5
        assert await async_wait_until(lambda: not pids_with(mark), 2), \
            "a run survived the server"

    arun(main())
    # nothing listens any more
    with pytest.raises(OSError):
        srv.http("GET", "/healthz", timeout=2)


def test_shutdown_idle_server_fast(server):
    t0 = time.monotonic()
    server.expect_exit = True
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(5)
    assert rc == 0
    assert time.monotonic() - t0 < 2


RANNA_KEYS = ["python3", "py", "python", "bash", "c", "node", "js", "javascript", "golang",
              "go", "openjdk-17", "java", "cpp", "c++", "mono", "csharp", "typescript", "ts",
              "rust", "ruby", "php"]


def test_full_specs(server_factory):
    """The shipped specs dir: ranna's keys and aliases are all in /v1/spec."""
    t0 = time.monotonic()
    srv = server_factory(_specs=SPECS)
    started = time.monotonic() - t0
    st, _, obj = srv.http_json("GET", "/v1/spec")
    assert st == 200
    missing = [k for k in RANNA_KEYS if k not in obj]
    assert not missing, f"ranna keys missing from /v1/spec: {missing}"
    for k, v in obj.items():
        if "use" in v:
            assert v["use"] in obj and "use" not in obj[v["use"]], (k, v)
    print(f"runneld became healthy in {started:.1f} s with the shipped specs")


# --------------------------------------------------------------------------
# sandboxes built ahead (sandbox.warm)
# --------------------------------------------------------------------------

def _warm(srv):
    st, _, obj = srv.http_json("GET", "/v1/info")
    assert st == 200, obj
    return obj["warm"]


def _run_uid_procs(srv):
    """(pid, comm) of the server's descendants that run as a run's uid
    (uid_first and up, the built-in default range)."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as f:
                st = f.read()
        except OSError:
            continue
        uid = int(re.search(r"^Uid:\s+\d+\s+(\d+)", st, re.M).group(1))
        ppid = int(re.search(r"^PPid:\s+(\d+)", st, re.M).group(1))
        name = re.search(r"^Name:\s+(.*)$", st, re.M).group(1)
        procs[int(d)] = (ppid, name, 0x70000000 <= uid < 0x70000000 + 65536)

    def under_server(pid):
        for _ in range(16):
            if pid not in procs:
                return False
            pid = procs[pid][0]
            if pid == srv.pid:
                return True
        return False
    return [(p, v[1]) for p, v in sorted(procs.items()) if v[2] and under_server(p)]


def _fd_kinds(pid):
    """What the server's fds are, for a failure message."""
    kinds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        k = re.sub(r"[:\[].*", "", t)
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def test_warm_boxes_serve_runs_and_leave_nothing(server_factory):
    """sandbox.warm: that many sandboxes wait built ahead (a runnel-init and
    its program, not yet exec'd); runs take them and get their own output,
    files, argv, env and limits; the pool is topped up while the server is
    idle; the server's fds come back to the same count; a stop leaves no
    process."""
    srv = server_factory("warm", _config={"sandbox": {"warm": 2}})
    assert wait_until(lambda: _warm(srv) == 2, 5), _warm(srv)
    # each child builds its sandbox on its own, then clones the program
    want = ["runnel-init", "runnel-init", "runneld", "runneld"]
    assert wait_until(lambda: sorted(n for _, n in _run_uid_procs(srv)) == want, 5), \
        _run_uid_procs(srv)
    base = fd_count(srv.pid)
    base_fds = _fd_kinds(srv.pid)

    async def main():
        ws = await srv.ws()
        for i in range(8):
            r = await ws.run(f"echo run {i} $0 \"$1\" $FOO; ulimit -n; cat main.sh | wc -c; "
                             f"id -u; pwd", nonce=i + 1, arguments=["a b"],
                             environment={"FOO": f"foo{i}"})
            r.check_sequence()
            code = (f"echo run {i} $0 \"$1\" $FOO; ulimit -n; cat main.sh | wc -c; "
                    f"id -u; pwd")
            assert r.stdout == f"run {i} main.sh a b foo{i}\n256\n{len(code)}\n1000\n/work\n", r
            assert r.stop["reason"] == "exited" and r.stop["exitcode"] == 0, r
            # a user's pause between runs: the pool fills up again
            assert await async_wait_until(lambda: _warm(srv) == 2, 5), _warm(srv)
        await ws.close()
    arun(main())

    # Network and IPC namespace fds belong to the pool the made-ahead thread
    # fills while the server is idle (sandbox.ahead, 4, plus the fds of the
    # server's own namespaces that the context and the thread keep to come
    # back to): bounded, and perhaps still filling when base was taken.
    def settled():
        k = _fd_kinds(srv.pid)
        ns = k.get("net", 0) + k.get("ipc", 0)
        return k.get("net", 0) <= 6 and k.get("ipc", 0) <= 6 and \
            fd_count(srv.pid) - ns <= base - base_fds.get("net", 0) - base_fds.get("ipc", 0)
    if not wait_until(settled, 5):
        pytest.fail(f"fds: {base_fds} at start, {_fd_kinds(srv.pid)} after", pytrace=False)
    srv.expect_exit = True
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(5) == 0
    assert wait_until(lambda: not _run_uid_procs(srv), 3), _run_uid_procs(srv)


def test_warm_box_holds_no_fd_of_other_runs(server_factory):
    """A sandbox built while another run is going must not keep a copy of
    that run's stdin pipe (its EOF would never come) or of a client's
    socket: its init closes every fd of the server's it was cloned with."""
    srv = server_factory("warmfds", _config={"sandbox": {"warm": 2}})
    assert wait_until(lambda: _warm(srv) == 2, 5)

    async def main():
        ws = await srv.ws()
        reader = Run(1)
        runs = {1: reader}
        await ws.exec("echo ready; cat; echo eof-seen", language="bash", nonce=1,
                      interactive=True)
        await ws.collect(runs, 10, until=lambda e: "ready" in reader.stdout)
        # Runs that end while the reader waits; the pool is refilled after
        # each, with the reader's stdin open in the server.
        other = await srv.ws()
        for i in range(3):
            r = await other.run(f"echo other{i}", nonce=50 + i)
            assert r.stdout == f"other{i}\n", r
            assert await async_wait_until(lambda: _warm(srv) == 2, 5)
        await other.close()
        await ws.send({"op": 3, "args": {"runid": reader.runid, "data": "line\n"}})
        await ws.send({"op": 3, "args": {"runid": reader.runid, "eof": True}})
        stray = await ws.collect(runs, 5)
        assert not stray, stray
        assert reader.stdout == "ready\nline\neof-seen\n", reader
        assert reader.stop["reason"] == "exited", reader.stop
        await ws.close()
    arun(main())


def test_warm_off(server_factory):
    """sandbox.warm 0: nothing waits; runs start cold and work."""
    srv = server_factory("nowarm", _config={"sandbox": {"warm": 0}})

    async def main():
        ws = await srv.ws()
        r = await ws.run("echo cold", nonce=3)
        assert r.stdout == "cold\n", r
        await ws.close()
    arun(main())
    time.sleep(0.2)
    assert _warm(srv) == 0
    assert not _run_uid_procs(srv), _run_uid_procs(srv)
