#!/usr/bin/python3
"""runneld smoke on this machine's cgroups (run as root; the cgroup v2 leg
runs it inside a cgroup-v2-only guest, see tests/cgroup2/leg.sh).

    smoke.py [BUILD_DIR]          (default: build next to this repo's tests)

Starts the real runneld with the bash and python3 specs and checks, over
POST /v1/exec, that a plain run works, that allocating 2 GiB ends with
reason "oom", that a fork bomb stays within the pids limit and ends, that a
runneld SIGKILLed mid-run leaves no run cgroup once the next one has
started, and that none is left after a clean shutdown. Prints one line per
case and "N passed, M failed"; exits 1 when anything failed.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "build"
RUNNELD = BUILD / "src" / "runneld"
CG_NAME = "runnel-smoke"
PIDS = 32
MEMORY = 256 << 20
STARTED = []  # every Server started, to be stopped at the end


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def run_cgroups(pid):
    """The run cgroups of runneld `pid` (named "<pid>-..." under CG_NAME),
    in every hierarchy mounted under /sys/fs/cgroup."""
    found = []
    prefix = f"{pid}-"
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top.count("/") > 10:
            dirs[:] = []
            continue
        if os.path.basename(top) == CG_NAME:
            found += [os.path.join(top, d) for d in dirs if d.startswith(prefix)]
            dirs[:] = []
    return found


def read_int(path, default=0):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else default
    except OSError:
        return default


class Server:
    def __init__(self, tmp):
        self.tmp = tmp
        self.port = free_port()
        specs = tmp / "specs"
        specs.mkdir(exist_ok=True)
        for lang in ("bash", "python3"):
            shutil.copy(REPO / "specs" / f"{lang}.json", specs)
        cfg = {
            "limits": {"concurrency": 2, "wall_ms": 20000, "cpu_ms": 20000,
                       "memory_bytes": MEMORY, "pids": PIDS},
            "sandbox": {"cgroup": CG_NAME},
            "cache": {"dir": str(tmp / "cache")},
        }
        (tmp / "runneld.json").write_text(json.dumps(cfg))
        self.argv = [str(RUNNELD), "--listen", f"127.0.0.1:{self.port}", "--specs", str(specs),
                     "--config", str(tmp / "runneld.json")]
        self.proc = None

    def start(self):
        if self not in STARTED:
            STARTED.append(self)
        self.log = open(self.tmp / "runneld.log", "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if not wait_until(self.healthy, 60, 0.1):
            raise AssertionError("runneld not healthy within 60 s: " + self.log_tail())
        return self

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"runneld exited with {self.proc.returncode}: "
                                 + self.log_tail())
        try:
            return self.http("GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def log_tail(self):
        text = (self.tmp / "runneld.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-20:])

    def http(self, method, path, body=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def exec(self, language, code, timeout=60):
        st, data = self.http("POST", "/v1/exec", {"language": language, "code": code},
                             timeout=timeout)
        if st != 200:
            raise AssertionError(f"POST /v1/exec: HTTP {st}: {data[:300]!r}")
        return json.loads(data)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def case_plain(srv):
    r = srv.exec("bash", "echo hello; echo oops >&2; exit 3")
    assert (r["stdout"], r["stderr"], r["reason"], r["exitcode"]) == \
        ("hello\n", "oops\n", "exited", 3), r
    r = srv.exec("python3", "print(sum(range(10)))")
    assert (r["stdout"], r["reason"]) == ("45\n", "exited"), r


def case_oom(srv):
    # 2 GiB in 64 MiB pieces (each within any overcommit heuristic), every
    # page written: the run's memory limit (256 MiB) ends it.
    code = "chunks = []\nfor i in range(32):\n    chunks.append(b'a' * (64 << 20))\nprint('alive')\n"
    r = srv.exec("python3", code)
    assert r["reason"] == "oom" and r["stdout"] == "", r
    assert r["memorypeakbytes"] <= MEMORY + (16 << 20), r


def case_forkbomb(srv):
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for d in run_cgroups(srv.proc.pid):
                peak[0] = max(peak[0], read_int(os.path.join(d, "pids.current")))
            time.sleep(0.02)

    t = threading.Thread(target=sample)
    t.start()
    start = time.monotonic()
    try:
        r = srv.exec("bash", "f() { f | f & }; f; sleep 3; echo done", timeout=90)
    finally:
        stop.set()
        t.join()
    took = time.monotonic() - start
    assert r["reason"] in ("exited", "timeout", "killed", "signaled"), r
    assert took < 40, f"the fork bomb run took {took:.1f} s"
    # The init is one more than the program's pids.
    assert 0 < peak[0] <= PIDS + 1, f"pids.current peaked at {peak[0]} (limit {PIDS} + init)"
    assert subprocess.run(["/bin/true"]).returncode == 0, "the host cannot fork"
    r = srv.exec("bash", "echo after")
    assert r["stdout"] == "after\n", r


def case_sigkill_restart(srv, tmp):
    """runneld SIGKILLed mid-run; the next one removes the run cgroups it
    left. Returns the new server."""
    old = srv.proc.pid
    result = {}

    def long_run():
        try:
            result["r"] = srv.exec("bash", "sleep 30", timeout=60)
        except (OSError, http.client.HTTPException) as e:
            result["e"] = e

    t = threading.Thread(target=long_run)
    t.start()
    busy = lambda: any(read_int(os.path.join(d, "pids.current")) > 0
                       for d in run_cgroups(old))
    assert wait_until(busy, 20), f"no busy run cgroup of {old}: {run_cgroups(old)}"
    srv.stop(signal.SIGKILL)
    t.join(30)
    assert "e" in result, f"the run outlived runneld: {result}"
    srv2 = Server(tmp)
    STARTED.append(srv2)
    srv2.start()
    left = run_cgroups(old)
    assert not left, f"run cgroups of the killed runneld left after the next start: {left}"
    return srv2


def case_shutdown(srv):
    r = srv.exec("bash", "echo last")
    assert r["stdout"] == "last\n", r
    pid = srv.proc.pid
    status = srv.stop(signal.SIGTERM)
    assert status == 0, f"runneld exited with {status} on SIGTERM"
    left = run_cgroups(pid)
    assert not left, f"run cgroups left after shutdown: {left}"


def main():
    if os.geteuid() != 0:
        print("smoke.py: run as root", file=sys.stderr)
        return 2
    if not RUNNELD.exists():
        print(f"smoke.py: {RUNNELD} does not exist", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="runnel-smoke."))
    passed = failed = 0
    srv = None

    def check(name, fn, *args):
        nonlocal passed, failed
        t0 = time.monotonic()
        try:
            out = fn(*args)
            passed += 1
            print(f"ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
            return out
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            return None

    try:
        srv = check("start", lambda: Server(tmp).start())
        if srv:
            check("plain run", case_plain, srv)
            check("2 GiB allocation ends oom", case_oom, srv)
            check("fork bomb contained by pids", case_forkbomb, srv)
            check("SIGKILL mid-run, restart, no run cgroup left", case_sigkill_restart, srv, tmp)
            srv = STARTED[-1]
            if srv.proc.poll() is not None:
                srv = check("restart", lambda: Server(tmp).start())
            if srv:
                check("no run cgroup left after shutdown", case_shutdown, srv)
    finally:
        for s in STARTED:
            if s.proc and s.proc.poll() is None:
                s.stop(signal.SIGKILL)
        if failed:
            print((tmp / "runneld.log").read_text(errors="replace")[-4000:], flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
