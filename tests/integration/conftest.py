"""Fixtures for the runneld integration tests.

Every test gets its own runneld on a free loopback port (``server`` with the
default test limits, or ``server_factory(**limits)`` for tests that need small
limits). The server's stderr goes to a file in the test's tmp dir and is
printed when the test fails.

All waits are bounded: a hung or crashed server fails the test, it never
hangs the suite.
"""

import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import websockets

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RUNNEL_BUILD", str(REPO / "build")))
SPECS = Path(os.environ.get("RUNNEL_SPECS", str(REPO / "specs")))
RUNNEYD = BUILD / "src" / "runneld"
# The languages these tests use. Servers load only these spec files (copied
# from SPECS) unless RUNNEL_IT_FULL_SPECS=1: start-up runs every spec's
# version command, and some toolchains (kotlinc) take seconds to answer.
# test_server.py::test_full_specs starts one server with the whole SPECS dir.
TEST_LANGS = ("bash", "sh", "python3", "c")

DEFAULT_LIMITS = {
    "concurrency": 2,
    "queue": 64,
    "per_connection": 4,
    "wall_ms": 10000,
    "cpu_ms": 10000,
    "memory_bytes": 268435456,
    "output_bytes": 1048576,
    "code_bytes": 262144,
    "message_bytes": 1048576,
    "pids": 64,
    "idle_client_ms": 10000,
}

RUNID_RE = re.compile(r"^[0-9a-f]{64}$")
REASONS = {
    "exited", "timeout", "killed", "oom", "output_limit", "cpu_limit",
    "compile_error", "signaled", "setup_failed",
}
STOP_KEYS = {"runid", "exectimems", "exitcode", "signal", "reason", "cputimems",
             "memorypeakbytes"}
PONG, ERROR, SPAWN, LOG, STOP = 0, 1, 2, 3, 4


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def arun(coro, timeout=60):
    """Run a coroutine to completion with an overall deadline."""
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


def marker():
    """A unique argv[0] for a program, to find it in the host's /proc."""
    return "runnel_marker_" + uuid.uuid4().hex


def pids_with(text):
    """Host pids whose cmdline contains text."""
    found = []
    needle = text.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if needle in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


async def async_wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


def vm_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def check_event(ev):
    """Shape checks every event must pass (ranna's wire shape)."""
    assert isinstance(ev, dict), f"event is not an object: {ev!r}"
    assert set(ev) <= {"code", "nonce", "data"}, f"unexpected keys in {ev!r}"
    assert "code" in ev and "data" in ev, f"missing code/data in {ev!r}"
    code = ev["code"]
    assert code in (PONG, ERROR, SPAWN, LOG, STOP), f"bad event code in {ev!r}"
    if "nonce" in ev:
        assert type(ev["nonce"]) is int and ev["nonce"] != 0, \
            f"nonce must be a non-zero int when present: {ev!r}"
    d = ev["data"]
    if code == PONG:
        assert d == "Pong!", ev
    elif code == ERROR:
        assert isinstance(d, dict) and set(d) == {"code", "message"}, ev
        assert d["code"] in (400, 404, 413, 429, 500), ev
        assert isinstance(d["message"], str) and d["message"], ev
    elif code == SPAWN:
        assert isinstance(d, dict) and set(d) == {"runid"}, ev
        assert isinstance(d["runid"], str) and RUNID_RE.match(d["runid"]), ev
    elif code == LOG:
        assert isinstance(d, dict), ev
        assert set(d) in ({"runid", "stdout"}, {"runid", "stderr"}), \
            f"LOG must carry runid and exactly one of stdout/stderr: {ev!r}"
        assert RUNID_RE.match(d["runid"]), ev
        (k,) = set(d) - {"runid"}
        assert isinstance(d[k], str) and d[k] != "", f"empty LOG chunk: {ev!r}"
    elif code == STOP:
        assert isinstance(d, dict), ev
        assert STOP_KEYS <= set(d), f"STOP lacks {STOP_KEYS - set(d)}: {ev!r}"
        assert RUNID_RE.match(d["runid"]), ev
        for k in ("exectimems", "exitcode", "signal", "cputimems", "memorypeakbytes"):
            assert type(d[k]) is int, f"STOP.{k} not an int: {ev!r}"
        for k in ("exectimems", "signal", "cputimems", "memorypeakbytes"):
            assert d[k] >= 0, f"STOP.{k} negative: {ev!r}"
        assert d["reason"] in REASONS, f"unknown reason: {ev!r}"


class Run:
    """Events of one EXEC, grouped."""

    def __init__(self, nonce):
        self.nonce = nonce
        self.events = []   # (monotonic arrival time, event)
        self.runid = None
        self.stop = None
        self.error = None

    @property
    def done(self):
        return self.stop is not None or self.error is not None

    def logs(self):
        return [(t, e) for t, e in self.events if e["code"] == LOG]

    @property
    def stdout(self):
        return "".join(e["data"].get("stdout", "") for _, e in self.logs())

    @property
    def stderr(self):
        return "".join(e["data"].get("stderr", "") for _, e in self.logs())

    def codes(self):
        return [e["code"] for _, e in self.events]

    def __repr__(self):
        return f"Run(nonce={self.nonce!r}, events={[e for _, e in self.events]!r})"

    def check_sequence(self):
        """SPAWN first, LOGs, STOP last; one runid; nonce echoed exactly."""
        evs = [e for _, e in self.events]
        assert self.error is None, f"EXEC failed: {self.error!r}; events {evs!r}"
        assert evs and evs[0]["code"] == SPAWN, f"first event is not SPAWN: {evs!r}"
        assert evs[-1]["code"] == STOP, f"last event is not STOP: {evs!r}"
        assert all(e["code"] == LOG for e in evs[1:-1]), f"bad sequence: {evs!r}"
        for e in evs:
            assert e["data"]["runid"] == self.runid, f"runid changed: {evs!r}"
            if self.nonce in (None, 0):
                assert "nonce" not in e, f"nonce must be omitted: {e!r}"
            else:
                assert e.get("nonce") == self.nonce, f"nonce not echoed: {e!r}"


class WS:
    """A ranna WebSocket client with bounded receives."""

    def __init__(self, conn, server):
        self.conn = conn
        self.server = server
        self.raw = []   # every frame received, for diagnostics
        self.last_time = None  # monotonic arrival time of the last event

    async def send(self, obj):
        await self.conn.send(json.dumps(obj))

    async def send_raw(self, data):
        await self.conn.send(data)

    async def recv_event(self, timeout=5.0):
        """The next event (parsed and shape-checked); fails on timeout."""
        try:
            frame = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"no event within {timeout}s; frames so far: {self.raw[-10:]!r}") from None
        self.raw.append(frame)
        assert isinstance(frame, str), f"server sent a binary frame: {frame!r}"
        self.last_time = time.monotonic()
        ev = json.loads(frame)
        check_event(ev)
        return ev

    async def expect_closed(self, timeout=5.0):
        """Read until the server closes; returns (close code, events read)."""
        evs = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"connection not closed within {timeout}s; got {evs!r}")
            try:
                frame = await asyncio.wait_for(self.conn.recv(), left)
            except asyncio.TimeoutError:
                continue
            except websockets.ConnectionClosed as e:
                # no close frame from the server: 1006 (abnormal closure)
                return (e.rcvd.code if e.rcvd else 1006), evs
            evs.append(frame)

    async def send_until_closed(self, data, timeout=5.0):
        """Send something the server must answer by closing; returns (close
        code, frames read). The server may close while we are still sending
        (e.g. between fragments)."""
        try:
            await self.conn.send(data)
        except websockets.ConnectionClosed as e:
            return (e.rcvd.code if e.rcvd else 1006), []
        return await self.expect_closed(timeout)

    async def ping(self, nonce=None, timeout=5.0):
        op = {"op": 0}
        if nonce is not None:
            op["nonce"] = nonce
        await self.send(op)
        return await self.recv_event(timeout)

    async def assert_alive(self, nonce=31337):
        """A PING gets its PONG as the very next event."""
        await self.send({"op": 0, "nonce": nonce})
        ev = await self.recv_event(5)
        assert ev == {"code": PONG, "nonce": nonce, "data": "Pong!"}, \
            f"expected PONG for nonce {nonce}, got {ev!r}"

    async def sync(self, runs, nonce=100, timeout=10.0):
        """PING and file every event before its PONG into runs; after this the
        server has processed everything sent before."""
        await self.send({"op": 0, "nonce": nonce})
        stray = await self.collect(runs, timeout, until=lambda ev: ev["code"] == PONG
                                   and ev.get("nonce") == nonce, stop_when_done=False)
        assert stray and stray[-1] == {"code": PONG, "nonce": nonce, "data": "Pong!"}, stray
        assert len(stray) == 1, f"unexpected events: {stray[:-1]!r}"

    async def exec(self, code, language="bash", nonce=None, **args):
        op = {"op": 1, "args": {"language": language, "code": code, **args}}
        if nonce is not None:
            op["nonce"] = nonce
        await self.send(op)

    async def kill(self, runid, nonce=None):
        op = {"op": 2, "args": {"runid": runid}}
        if nonce is not None:
            op["nonce"] = nonce
        await self.send(op)

    async def collect(self, runs, timeout=20.0, until=None, stop_when_done=True):
        """Read events and file them into runs (dict nonce -> Run) until every
        run is done (or until(ev) is true). Events are grouped by nonce; a
        nonce-less event goes to the run whose runid it carries, or to the
        run keyed None. Returns the list of events that fit no run."""
        by_runid = {}
        for r in runs.values():
            if r.runid:
                by_runid[r.runid] = r
        stray = []
        deadline = time.monotonic() + timeout
        while not (stop_when_done and all(r.done for r in runs.values())):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"runs not finished within {timeout}s: {runs!r}")
            ev = await self.recv_event(left)
            t = self.last_time
            r = None
            if "nonce" in ev and ev["nonce"] in runs:
                r = runs[ev["nonce"]]
            elif isinstance(ev["data"], dict) and ev["data"].get("runid") in by_runid:
                r = by_runid[ev["data"]["runid"]]
            elif "nonce" not in ev and None in runs and ev["code"] != PONG:
                r = runs[None]
            if r is None:
                stray.append(ev)
                if until and until(ev):
                    return stray
                continue
            assert not r.done, f"event after the run ended: {ev!r} for {r!r}"
            r.events.append((t, ev))
            if ev["code"] == SPAWN:
                assert r.runid is None, f"second SPAWN for one EXEC: {ev!r}"
                r.runid = ev["data"]["runid"]
                by_runid[r.runid] = r
            elif ev["code"] == STOP:
                r.stop = ev["data"]
            elif ev["code"] == ERROR:
                r.error = ev["data"]
            if until and until(ev):
                return stray
        return stray

    async def run(self, code, language="bash", nonce=77, timeout=20.0,
                  check_after=True, **args):
        """EXEC and collect its events until STOP or ERROR. With check_after,
        a PING afterwards must come back before any further event of the run
        (events of a run never arrive after its STOP)."""
        r = Run(nonce)
        await self.exec(code, language, nonce, **args)
        stray = await self.collect({nonce or None: r}, timeout)
        assert not stray, f"unexpected events: {stray!r}"
        if check_after:
            await self.assert_alive(nonce=424242)
        return r

    async def close(self):
        await self.conn.close()


class Server:
    def __init__(self, tmp_path, name, specs, limits=None, config=None, use_config=True,
                 extra_args=()):
        self.port = free_port()
        self.host = "127.0.0.1"
        self.dir = tmp_path
        self.name = name
        self.log_path = tmp_path / f"{name}.stderr.log"
        # Each server its own compile cache: a cache directory is locked by
        # the one runneld that uses it.
        cfg = {"limits": dict(DEFAULT_LIMITS), "cache": {"dir": str(tmp_path / f"{name}.cache")}}
        if limits:
            cfg["limits"].update(limits)
        if config:
            cfg.update(config)
        # Each server its own notebook directory (Zeppelin notes on disk).
        cfg.setdefault("zeppelin", {})
        cfg["zeppelin"] = dict(cfg["zeppelin"])
        cfg["zeppelin"].setdefault("notebook_dir", str(tmp_path / f"{name}.notebook"))
        self.config = cfg
        self.config_path = tmp_path / f"{name}.json"
        self.config_path.write_text(json.dumps(cfg, indent=1))
        self.argv = [str(RUNNEYD), "--listen", f"{self.host}:{self.port}",
                     "--specs", str(specs), "--log-level", "debug"]
        if use_config:
            self.argv += ["--config", str(self.config_path)]
        self.argv += list(extra_args)
        self.proc = None
        self.logf = None

    def start(self):
        if not RUNNEYD.exists():
            pytest.fail(f"{RUNNEYD} does not exist (set RUNNEL_BUILD)")
        self.logf = open(self.log_path, "wb")
        # Each server its own state store, kept across restarts of it.
        env = dict(os.environ)
        env.setdefault("RUNNEL_STATE_DIR", str(self.dir / f"{self.name}.state"))
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, env=env,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"runneld exited with {self.proc.returncode} at start:\n"
                            + self.log_tail())
            try:
                st, _, _ = self.http("GET", "/healthz", timeout=1)
                if st == 200:
                    return self.versions_known()
            except OSError:
                pass
            time.sleep(0.05)
        pytest.fail("runneld not healthy within 10 s:\n" + self.log_tail())

    def versions_known(self, timeout=60):
        """Toolchain versions are detected in the background after start:
        wait until /v1/info no longer says versions_pending (a server
        that asks for a token, or has no such field, is taken as is)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                st, _, body = self.http("GET", "/v1/info", timeout=2)
                if st != 200 or not json.loads(body).get("versions_pending"):
                    return self
            except (OSError, ValueError):
                return self
            time.sleep(0.1)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signal and wait; returns the exit status (None if it had to be
        SIGKILLed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        if self.logf:
            self.logf.close()
            self.logf = None
        return self.proc.returncode

    # -- HTTP ---------------------------------------------------------------
    def http(self, method, path, body=None, headers=None, timeout=30):
        """Returns (status, headers dict lowercased, body bytes)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                body = body.encode()
            c.request(method, path, body=body, headers=hdrs)
            resp = c.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            c.close()

    def http_json(self, method, path, body=None, headers=None, timeout=30):
        st, hdrs, data = self.http(method, path, body, headers, timeout)
        try:
            obj = json.loads(data)
        except ValueError:
            raise AssertionError(f"{method} {path}: {st} with non-JSON body {data[:300]!r}")
        return st, hdrs, obj

    # -- WebSocket ----------------------------------------------------------
    @property
    def ws_url(self):
        return f"ws://{self.host}:{self.port}/v1/ws"

    async def ws(self, **kw):
        opts = dict(max_size=None, ping_interval=None, open_timeout=5, close_timeout=2)
        opts.update(kw)
        conn = await websockets.connect(self.ws_url, **opts)
        return WS(conn, self)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def test_specs(tmp_path_factory):
    """A specs dir holding only TEST_LANGS (see above), with the runtimes
    dir beside it as the loader expects (<specs>/../runtimes)."""
    if os.environ.get("RUNNEL_IT_FULL_SPECS") == "1":
        return SPECS
    root = tmp_path_factory.mktemp("specs-subset")
    d = root / "specs"
    d.mkdir()
    for lang in TEST_LANGS:
        src = SPECS / f"{lang}.json"
        if src.exists():
            shutil.copy(src, d / src.name)
    if (SPECS / "schema.json").exists():
        shutil.copy(SPECS / "schema.json", d / "schema.json")
    runtimes = SPECS.parent / "runtimes"
    if runtimes.exists():
        os.symlink(runtimes, root / "runtimes")
    return d


@pytest.fixture
def server_factory(tmp_path, request, test_specs):
    servers = []

    def make(_name=None, _start=True, _use_config=True, _config=None, _args=(),
             _specs=None, **limits):
        s = Server(tmp_path, _name or f"runneld{len(servers)}", _specs or test_specs,
                   limits=limits,
                   config=_config, use_config=_use_config, extra_args=_args)
        servers.append(s)
        if _start:
            s.start()
        return s

    yield make

    failed = any(getattr(request.node, "rep_" + w, None) is not None
                 and getattr(request.node, "rep_" + w).failed
                 for w in ("setup", "call"))
    crashed = []
    for s in servers:
        if s.proc is None:
            continue
        if s.proc.poll() is not None and not getattr(s, "expect_exit", False):
            crashed.append(s)
        s.stop(signal.SIGTERM)
        if s.proc.returncode is None:
            s.stop(signal.SIGKILL)
        if failed or s in crashed:
            print(f"----- {s.name} log ({s.log_path}) -----")
            print(s.log_tail(80))
    if crashed and not failed:
        pytest.fail("runneld died during the test: "
                    + "; ".join(f"{s.name} exit {s.proc.returncode}:\n{s.log_tail(40)}"
                                for s in crashed))


@pytest.fixture
def server(server_factory):
    return server_factory("runneld")
