"""Shared pieces of the Python benchmarks (languages.py, server.py): start a
runneld of a build dir on a free port, a small ranna WebSocket client that
times EXEC -> STOP, percentiles, and writing a section of README.md.

Run with Debian's /usr/bin/python3 (python3-websockets)."""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

REPO = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parent / "README.md"


def build_dir():
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        return Path(sys.argv[1]).resolve()
    return Path(os.environ.get("RUNNEL_BUILD", str(REPO / "build"))).resolve()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    """The p-th percentile (nearest rank) of xs."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def p50(xs):
    return pct(xs, 50)


class Runneld:
    """runneld from a build dir on a free loopback port, with a config file
    and its own compile cache dir; stopped with SIGTERM."""

    def __init__(self, build, config, specs=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="runnel-bench-")
        self.port = free_port()
        cfg = dict(config)
        cfg.setdefault("cache", {"dir": os.path.join(self.tmp.name, "cache")})
        cfg.setdefault("state", {"dir": os.path.join(self.tmp.name, "state")})
        self.config_path = os.path.join(self.tmp.name, "runneld.json")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        self.log_path = os.path.join(self.tmp.name, "runneld.log")
        self.argv = [str(build / "src" / "runneld"), "--listen", f"127.0.0.1:{self.port}",
                     "--specs", str(specs or REPO / "specs"), "--config", self.config_path,
                     "--log-level", "warn"]
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("runneld exited at start:\n" + open(self.log_path).read())
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise SystemExit("runneld not healthy within 60 s")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.tmp.cleanup()

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def get_json(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as r:
            return json.loads(r.read())

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


class Client:
    """One ranna WebSocket connection; exec() runs one program and returns
    (seconds from sending EXEC to receiving STOP, stdout, stderr, STOP)."""

    def __init__(self, conn):
        self.conn = conn
        self.nonce = 0

    @classmethod
    async def connect(cls, url):
        return cls(await websockets.connect(url, max_size=None, ping_interval=None,
                                            open_timeout=30, close_timeout=5))

    async def exec(self, language, code, timeout=300, count_only=False, **args):
        self.nonce += 1
        nonce = self.nonce
        out, err = [], []
        nout = 0
        t0 = time.monotonic()
        await self.conn.send(json.dumps({"op": 1, "nonce": nonce,
                                         "args": {"language": language, "code": code, **args}}))
        deadline = t0 + timeout
        while True:
            frame = await asyncio.wait_for(self.conn.recv(), max(0.001, deadline - time.monotonic()))
            ev = json.loads(frame)
            if ev.get("nonce") != nonce:
                continue
            if ev["code"] == 3:
                d = ev["data"]
                if "stdout" in d:
                    if count_only:
                        nout += len(d["stdout"])
                    else:
                        out.append(d["stdout"])
                else:
                    err.append(d["stderr"])
            elif ev["code"] == 4:
                dt = time.monotonic() - t0
                stdout = nout if count_only else "".join(out)
                return dt, stdout, "".join(err), ev["data"]
            elif ev["code"] == 1:
                raise RuntimeError(f"EXEC {language}: ERROR {ev['data']}")

    async def ping(self, timeout=30):
        self.nonce += 1
        await self.conn.send(json.dumps({"op": 0, "nonce": self.nonce}))
        while True:
            ev = json.loads(await asyncio.wait_for(self.conn.recv(), timeout))
            if ev["code"] == 0 and ev.get("nonce") == self.nonce:
                return

    async def close(self):
        await self.conn.close()


def write_section(name, body):
    """Replace (or append) the '## <name>' section of tests/bench/README.md,
    leaving every other section as it is."""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"## {name}\n\n{body.rstrip()}\n"
    pat = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(text):
        text = pat.sub(lambda _: block + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + block
    README.write_text(text)


def machine_line():
    load = open("/proc/loadavg").read().split()[:3]
    return (f"{os.cpu_count()} CPUs, kernel {os.uname().release}, load average "
            f"{' '.join(load)} at the end of the run")
