"""Faults of the machine and of programs: runneld SIGKILLed with runs in
flight, too few fds, no pids left, full volumes, cgroup creation failing,
a spec's runtime missing, and programs that close stdout, write garbage,
trickle, or leave a grandchild holding the pipe. Each must give the client
that asked a clear error event (or a correct STOP), a log line, and leave
the server serving the next request with nothing leaked."""

import asyncio
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import (REASONS, Run, arun, async_wait_until, fd_count, marker, pids_with,
                      wait_until)

CG_V1 = Path("/sys/fs/cgroup")


async def run_ok(srv, code="echo fine", expect="fine\n", language="bash"):
    """A normal run on a fresh connection succeeds."""
    ws = await srv.ws()
    try:
        r = await ws.run(code, language=language, nonce=11, timeout=30)
        r.check_sequence()
        assert r.stdout == expect and r.stop["exitcode"] == 0, r
    finally:
        await ws.close()


def serves(srv):
    arun(run_ok(srv))
    assert srv.alive(), srv.log_tail()


async def one_run(srv, code, language="bash", timeout=30, **args):
    """EXEC on a fresh connection; returns a Run (events read raw: a run
    that could not start ends with reason "internal")."""
    ws = await srv.ws()
    r = Run(5)
    try:
        await ws.send({"op": 1, "nonce": 5, "args": {"language": language, "code": code, **args}})
        while not r.done:
            frame = await asyncio.wait_for(ws.conn.recv(), timeout)
            ev = json.loads(frame)
            assert ev.get("nonce") == 5 and ev["code"] in (1, 2, 3, 4), ev
            r.events.append((time.monotonic(), ev))
            if ev["code"] == 2:
                r.runid = ev["data"]["runid"]
            elif ev["code"] == 4:
                r.stop = ev["data"]
                assert ev["data"]["reason"] in REASONS | {"internal"}, ev
            elif ev["code"] == 1:
                r.error = ev["data"]
                assert ev["data"]["message"], ev
        return r
    finally:
        await ws.close()


# --------------------------------------------------------------------------
# the server dies
# --------------------------------------------------------------------------

def test_sigkill_with_runs_in_flight(server_factory):
    """SIGKILL runneld while runs sleep (and one compiles a busy loop): every
    sandboxed process is gone within a second, and a new runneld serves on
    the same port at once."""
    srv = server_factory("killed", concurrency=4, per_connection=8)
    marks = [marker() for _ in range(4)]

    async def main():
        ws = await srv.ws()
        for i, m in enumerate(marks):
            code = f"exec -a {m} sleep 60" if i % 2 else f"exec -a {m} bash -c 'while :; do :; done'"
            await ws.exec(code, nonce=i + 1)
        started = await async_wait_until(lambda: all(pids_with(m) for m in marks), 10)
        assert started, "runs did not start"
        os.kill(srv.pid, signal.SIGKILL)
        t0 = time.monotonic()
        gone = await async_wait_until(lambda: not any(pids_with(m) for m in marks), 1.0, 0.02)
        left = {m: pids_with(m) for m in marks if pids_with(m)}
        assert gone, f"sandboxed processes outlived runneld by {time.monotonic() - t0:.2f}s: {left}"
    arun(main())
    srv.proc.wait(5)
    srv.expect_exit = True
    # same port, same config: serves at once
    again = server_factory("restarted", _start=False)
    again.port = srv.port
    i = again.argv.index("--listen")
    again.argv[i + 1] = f"127.0.0.1:{srv.port}"
    t0 = time.monotonic()
    again.start()
    assert time.monotonic() - t0 < 5, "restart was slow"
    serves(again)


@pytest.fixture
def server_factory(server_factory):
    """These tests count the server's fds, cgroups and processes, and
    make its clones fail: no sandboxes built ahead (sandbox.warm), whose
    fds, cgroups and ready clones would blur that. test_server.py covers
    the warm boxes."""
    def make(*args, _config=None, **kw):
        cfg = dict(_config or {})
        cfg["sandbox"] = {"warm": 0, **cfg.get("sandbox", {})}
        return server_factory(*args, _config=cfg, **kw)
    return make


# --------------------------------------------------------------------------
# the machine runs out of something
# --------------------------------------------------------------------------

def test_out_of_fds(server_factory):
    """runneld under a low RLIMIT_NOFILE: runs that cannot get their pipes
    fail with an error event and a log line; sockets beyond the limit are
    refused without harm; once load goes, everything works again."""
    srv = server_factory("lowfd", _start=False, concurrency=8, per_connection=16, queue=64)
    srv.argv = ["prlimit", "--nofile=48:48", "--"] + srv.argv
    srv.start()
    assert "48" in open(f"/proc/{srv.pid}/limits").read().split("Max open files")[1][:40]

    async def main():
        socks = []
        errors, stops = [], []
        try:
            for _ in range(6):
                socks.append(await srv.ws())
            for i, ws in enumerate(socks):
                for k in range(4):
                    await ws.exec(f"sleep 2; echo {i}.{k}", nonce=100 * i + k + 1)
            for ws in socks:
                done = 0
                while done < 4:
                    ev = json.loads(await asyncio.wait_for(ws.conn.recv(), 30))
                    if ev["code"] == 1:
                        errors.append(ev)
                        done += 1
                    elif ev["code"] == 4:
                        stops.append(ev)
                        done += 1
        finally:
            for ws in socks:
                await ws.close()
        return errors, stops
    errors, stops = arun(main(), timeout=120)
    failed = [s for s in stops if s["data"]["reason"] in ("internal", "setup_failed")] + errors
    assert failed, "48 fds did not run out: the test proves nothing"
    for f in failed:
        msg = f["data"].get("message", "")
        assert msg, f"no message in {f!r}"
    log = srv.log_text()
    assert "run.start_failed" in log or "Too many open files" in log or "EMFILE" in log, log[-3000:]
    assert wait_until(lambda: fd_count(srv.pid) < 30, 10), fd_count(srv.pid)
    serves(srv)


def _cg_v1_ok():
    return (CG_V1 / "pids" / "cgroup.procs").exists() and os.geteuid() == 0


@pytest.mark.skipif(not _cg_v1_ok(), reason="needs root and the cgroup v1 pids controller")
def test_out_of_pids_server(server_factory):
    """runneld itself in a pids cgroup that is full: a run cannot be
    cloned; the client gets an error, the log says why; with room again the
    next run works."""
    srv = server_factory("lowpids")
    cg = CG_V1 / "pids" / f"runnel-fault-{uuid.uuid4().hex[:8]}"
    cg.mkdir()
    try:
        (cg / "cgroup.procs").write_text(str(srv.pid))
        tasks = len((cg / "tasks").read_text().split())
        (cg / "pids.max").write_text(str(tasks))
        r = arun(one_run(srv, "echo never"))
        assert r.error or (r.stop and r.stop["reason"] in ("internal", "setup_failed")), r
        msg = (r.error or r.stop).get("message", "")
        assert msg, r
        assert "run.start_failed" in srv.log_text(), srv.log_tail()
        (cg / "pids.max").write_text("max")
        serves(srv)
    finally:
        (cg / "pids.max").write_text("max")
        root = CG_V1 / "pids" / "cgroup.procs"
        for pid in (cg / "cgroup.procs").read_text().split():
            try:
                root.write_text(pid)
            except OSError:
                pass
        cg.rmdir()


def test_out_of_pids_in_run(server_factory):
    """A fork bomb meets the run's pids limit: the run ends (STOP), no
    process is left, and the next run works."""
    srv = server_factory("forkbomb", pids=16, wall_ms=4000, cpu_ms=4000)
    mark = marker()
    code = f"exec -a {mark} bash -c 'f() {{ f | f & }}; f; sleep 3'"
    r = arun(one_run(srv, code))
    assert r.stop and r.stop["reason"] in ("exited", "timeout", "signaled", "killed"), r
    assert wait_until(lambda: not pids_with(mark), 3), "fork bomb survived its run"
    serves(srv)


def test_work_and_tmp_full(server_factory):
    """The run's /tmp and /work are size-limited: filling them gives the
    program ENOSPC, the run a normal STOP, the host nothing."""
    srv = server_factory("full", tmp_bytes=1 << 20)
    code = ("head -c 4000000 /dev/zero > /tmp/big; echo tmp=$?; "
            "head -c 4000000 /dev/zero > /work/big; echo work=$?")
    r = arun(one_run(srv, code))
    r.check_sequence()
    assert "tmp=1" in r.stdout and "work=1" in r.stdout, r
    assert "No space left" in r.stderr, r
    serves(srv)


def test_host_tmp_full(server_factory, test_specs):
    """runneld with a full /tmp (its own mount namespace, a tmpfs with no
    inode left) and no compile cache: a compiled language cannot make its
    build dir; the client gets an error event, the log a line; interpreted
    runs still work."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare")
    base = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="runnel-fault-"))
    try:
        # real copies: the test specs' runtimes link points into /tmp
        shutil.copytree(test_specs.parent, base / "root", symlinks=False)
        srv = server_factory("tmpfull", _start=False, _specs=base / "root" / "specs")
        srv.config["cache"] = {"max_bytes": 0}
        # What the server keeps on disk lives outside the full /tmp.
        srv.config.setdefault("zeppelin", {})["notebook_dir"] = str(base / "notebook")
        cfg = base / "config.json"
        cfg.write_text(json.dumps(srv.config))
        srv.argv[srv.argv.index("--config") + 1] = str(cfg)
        # The build may itself live under /tmp: keep the old /tmp reachable
        # at a path outside it, and start runneld from there.
        old_tmp = base / "oldtmp"
        old_tmp.mkdir()
        if srv.argv[0].startswith("/tmp/"):
            srv.argv[0] = str(old_tmp) + srv.argv[0][len("/tmp"):]
        wrapper = ("mount --bind /tmp \"$OLD_TMP\" && "
                   "mount -t tmpfs -o size=64k,nr_inodes=1 tmpfs /tmp && exec \"$@\"")
        srv.argv = ["env", f"OLD_TMP={old_tmp}", f"RUNNEL_STATE_DIR={base / 'state'}", "unshare", "-m", "--propagation", "private",
                    "sh", "-c", wrapper, "sh"] + srv.argv
        srv.start()
        r = arun(one_run(srv, "int main(void){return 0;}", language="c"))
        failed = r.error or (r.stop and r.stop["reason"] in ("internal", "setup_failed"))
        assert failed, r
        assert (r.error or r.stop).get("message"), r
        assert "run.start_failed" in srv.log_text(), srv.log_tail()
        serves(srv)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _cg_base(name):
    return [CG_V1 / c / name for c in ("pids", "memory", "cpu", "cpuacct") if (CG_V1 / c).exists()]


@pytest.mark.skipif(not _cg_v1_ok(), reason="needs root and cgroup v1")
def test_cgroup_creation_fails(server_factory):
    """The runs' cgroup parent disappears: creating a run's cgroup fails;
    the client gets an error, the log a line; once it is back, runs work."""
    name = f"runnel-fault-{uuid.uuid4().hex[:8]}"
    # No cgroups made ahead: their directories would keep the parent busy.
    srv = server_factory("cgfail", _config={"sandbox": {"cgroup": name, "ahead": 0}})
    bases = [b for b in _cg_base(name) if b.exists()]
    if not bases:
        pytest.skip("runneld made no cgroup here")
    serves(srv)
    assert wait_until(lambda: all(not [d for d in b.iterdir() if d.is_dir()] for b in bases), 5)
    try:
        for b in bases:
            b.rmdir()
        r = arun(one_run(srv, "echo never"))
        failed = r.error or (r.stop and r.stop["reason"] in ("internal", "setup_failed"))
        assert failed, r
        assert (r.error or r.stop).get("message"), r
        assert "run.start_failed" in srv.log_text(), srv.log_tail()
    finally:
        for b in bases:
            b.mkdir(exist_ok=True)
    serves(srv)
    srv.expect_exit = True
    srv.stop()
    for b in bases:
        try:
            b.rmdir()
        except OSError:
            pass


def test_runtime_missing(server_factory, test_specs, tmp_path):
    """A spec whose program is not installed: "not installed" error event
    at once; a program that vanishes after start-up: the run ends with a
    setup failure, and the log says which."""
    specs = tmp_path / "specs"
    shutil.copytree(test_specs, specs, symlinks=True)
    prog = Path(f"/usr/local/bin/runnel-fault-{uuid.uuid4().hex[:8]}")
    prog.write_text("#!/bin/sh\necho vanishing\n")
    prog.chmod(0o755)
    try:
        for name, path in (("ghost", "/nonexistent/runnel/ghost"), ("vanish", str(prog))):
            (specs / f"{name}.json").write_text(json.dumps({
                "name": name, "display": name, "language": name, "filename": "main.txt",
                "run": [path, "{file}"], "example": "x", "example_output": ""}))
        srv = server_factory("missing", _specs=specs)
        r = arun(one_run(srv, "x", language="ghost"))
        assert r.error and "install" in r.error["message"].lower(), r
        r = arun(one_run(srv, "x", language="vanish"))
        assert r.stop and r.stdout == "vanishing\n", r
        prog.unlink()
        r = arun(one_run(srv, "x", language="vanish"))
        assert r.error or (r.stop and r.stop["reason"] in ("setup_failed", "exited")), r
        if r.stop:
            assert r.stop["reason"] == "setup_failed" or r.stop["exitcode"] != 0, r
            assert r.stop.get("message") or r.stderr, r
        serves(srv)
    finally:
        if prog.exists():
            prog.unlink()


# --------------------------------------------------------------------------
# programs that misbehave
# --------------------------------------------------------------------------

def _no_leak(srv, base_fds, mark=None):
    if mark:
        assert wait_until(lambda: not pids_with(mark), 3), f"process {mark} left behind"
    assert wait_until(lambda: fd_count(srv.pid) <= base_fds, 5), (base_fds, fd_count(srv.pid))


def test_program_closes_stdout_early(server):
    base = fd_count(server.pid)
    r = arun(one_run(server, "exec 1>&-; sleep 0.5; echo still-here >&2; exit 3"))
    r.check_sequence()
    assert r.stdout == "" and r.stderr == "still-here\n", r
    assert r.stop["exitcode"] == 3 and r.stop["reason"] == "exited", r
    _no_leak(server, base)


def test_program_writes_binary_garbage(server):
    base = fd_count(server.pid)
    r = arun(one_run(server, "head -c 200000 /dev/urandom; echo; echo end >&2"))
    r.check_sequence()
    assert r.stop["exitcode"] == 0 and r.stderr == "end\n", r.stop
    assert "\ufffd" in r.stdout and len(r.stdout) >= 100000, len(r.stdout)
    _no_leak(server, base)


def test_program_trickles_for_its_whole_wall_time(server_factory):
    srv = server_factory("trickle", wall_ms=3000, cpu_ms=3000)
    base = fd_count(srv.pid)
    mark = marker()
    r = arun(one_run(srv, f"exec -a {mark} bash -c 'while :; do printf x; sleep 0.01; done'"))
    r.check_sequence()
    assert r.stop["reason"] == "timeout", r.stop
    logs = r.logs()
    assert len(logs) >= 10, f"only {len(logs)} LOG events for a 3 s trickle"
    assert set(r.stdout) == {"x"} and len(r.stdout) >= 10, r.stdout[:100]
    assert r.stop["outputbytes"] == len(r.stdout), "output lost at the timeout"
    gaps = [b[0] - a[0] for a, b in zip(logs, logs[1:])]
    assert max(gaps) < 1.5, f"bytes were held back {max(gaps):.2f}s (not streamed)"
    _no_leak(srv, base, mark)


def test_program_leaves_grandchild_holding_pipe(server):
    """The program forks a grandchild that keeps stdout open and exits at
    once: STOP comes promptly with the program's exit, and the grandchild
    is killed with its run."""
    base = fd_count(server.pid)
    mark = marker()
    t0 = time.monotonic()
    r = arun(one_run(server, f"(exec -a {mark} sleep 30 &) ; echo parent-done; exit 0"))
    took = time.monotonic() - t0
    r.check_sequence()
    assert r.stdout == "parent-done\n" and r.stop["exitcode"] == 0, r
    assert took < 8, f"STOP waited {took:.1f}s for the grandchild"
    _no_leak(server, base, mark)
