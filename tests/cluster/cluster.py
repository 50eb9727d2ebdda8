"""A runnel cluster on loopback: PostgreSQL in a temporary directory (when
runneld has the PostgreSQL store; otherwise one shared SQLite file), N
runneld nodes sharing it, and HAProxy with the shipped configuration
(packaging/haproxy/runnel.cfg, its addresses rewritten to these ports).

Used by tests/cluster/test_cluster.py and tests/bench/cluster. Everything it
starts is stopped by stop() (and by the process' atexit)."""

import atexit
import http.client as httpc
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RUNNEL_BUILD", str(REPO / "build")))
RUNNELD = BUILD / "src" / "runneld"
PG_BIN = Path(os.environ.get("RUNNEL_PG_BIN", "/usr/lib/postgresql/15/bin"))
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
LANGS = ("bash", "sh", "python3")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port, method, path, body=None, headers=None, timeout=30):
    """One request to 127.0.0.1:port: (status, headers dict lower-cased, bytes)."""
    c = httpc.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        c.request(method, path, data, hdrs)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def http_json(port, method, path, body=None, headers=None, timeout=30):
    st, h, data = http(port, method, path, body, headers, timeout)
    try:
        return st, h, json.loads(data)
    except ValueError:
        raise AssertionError(f"{method} {path}: {st} non-JSON {data[:300]!r}")


def wait(pred, timeout, what):
    """pred's first true value, polled until timeout (an AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def has_pg_store():
    """Whether this runneld takes state.store (the PostgreSQL backend)."""
    out = subprocess.run([str(RUNNELD), "--config-keys"], capture_output=True, text=True)
    return any(line.startswith("state.store\t") for line in out.stdout.splitlines())


class Cluster:
    def __init__(self, nodes=3, heartbeat_ms=500, dead_after_ms=3000, haproxy=True,
                 concurrency=2, pg=None, cluster=True):
        self.tmp = Path(tempfile.mkdtemp(prefix="runnel-cluster-"))
        os.chmod(self.tmp, 0o755)
        self.n = nodes
        self.heartbeat_ms = heartbeat_ms
        self.dead_after_ms = dead_after_ms
        self.concurrency = concurrency
        self.use_haproxy = haproxy
        self.cluster = cluster
        self.pg = has_pg_store() if pg is None else pg
        self.procs = {}
        self.ports = {}
        self.pg_port = None
        self.pg_bin = PG_BIN
        self.pg_dir = None
        self.haproxy_port = None
        self.stats_port = None
        atexit.register(self.stop)

    # -------------------------------------------------------------- store
    def as_postgres(self, argv, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + argv, check=True,
                              capture_output=True, text=True, **kw)

    def start_pg(self):
        self.pg_dir = self.tmp / "pg"
        self.pg_dir.mkdir()
        shutil.chown(self.pg_dir, "postgres", "postgres")
        self.pg_port = free_port()
        self.as_postgres([str(PG_BIN / "initdb"), "-D", str(self.pg_dir / "data"), "-U",
                          "runnel", "-A", "trust", "--no-sync"])
        self.as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.pg_dir / "data"), "-l",
                          str(self.pg_dir / "log"), "-w", "-o",
                          f"-p {self.pg_port} -k {self.pg_dir} -c listen_addresses=127.0.0.1 "
                          "-c max_connections=200", "start"])
        self.as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p",
                          str(self.pg_port), "-U", "runnel", "runnel"])

    def store_conf(self, name):
        if self.pg:
            return {"store": f"postgresql://runnel@127.0.0.1:{self.pg_port}/runnel",
                    "dir": str(self.tmp / f"{name}.state")}
        return {"dir": str(self.tmp / "shared.state")}

    # -------------------------------------------------------------- nodes
    def node_config(self, name):
        cfg = {
            "limits": {"concurrency": self.concurrency, "queue": 256, "per_connection": 8,
                       "wall_ms": 60000, "cpu_ms": 60000, "memory_bytes": 268435456},
            "cache": {"dir": str(self.tmp / f"{name}.cache")},
            "state": self.store_conf(name),
            "zeppelin": {"notebook_dir": str(self.tmp / f"{name}.notebook")},
            "security": {"trusted_proxies": ["127.0.0.1"]},
        }
        if self.cluster:
            cfg["cluster"] = {"enabled": True, "node_id": name, "heartbeat_ms": self.heartbeat_ms,
                              "dead_after_ms": self.dead_after_ms}
        return cfg

    def start_node(self, name):
        port = self.ports.setdefault(name, free_port())
        specs = self.tmp / "specs"
        if not specs.exists():
            specs.mkdir()
            for lang in LANGS:
                shutil.copy(REPO / "specs" / f"{lang}.json", specs / f"{lang}.json")
        cfg_path = self.tmp / f"{name}.json"
        cfg_path.write_text(json.dumps(self.node_config(name)))
        log = open(self.tmp / f"{name}.log", "ab")
        p = subprocess.Popen([str(RUNNELD), "--listen", f"127.0.0.1:{port}", "--specs",
                              str(specs), "--config", str(cfg_path), "--log-level", "info"],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = p
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise AssertionError(f"{name} exited at start:\n{self.log(name)[-3000:]}")
            try:
                if http(port, "GET", "/readyz", timeout=1)[0] == 200:
                    return port
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{name} not ready in 30 s:\n{self.log(name)[-3000:]}")

    def log(self, name):
        try:
            return (self.tmp / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    # -------------------------------------------------------------- haproxy
    def haproxy_config(self, names):
        text = (REPO / "packaging" / "haproxy" / "runnel.cfg").read_text()
        text = text.replace("/etc/haproxy/runnel.lua",
                            str(REPO / "packaging" / "haproxy" / "runnel.lua"))
        text = text.replace("maxconn 20000", "maxconn 4000")  # this machine's fd limit
        text = text.replace("bind :8080", f"bind 127.0.0.1:{self.haproxy_port}")
        text = text.replace("bind :8404", f"bind 127.0.0.1:{self.stats_port}")
        text = text.replace("log stdout format raw local0 notice", "log stdout format raw "
                            "local0 warning")
        lines = []
        servers_done = False
        for line in text.splitlines():
            m = re.match(r"\s*(use-server|server) node-\d", line)
            if m:
                if m.group(1) == "server" and not servers_done:
                    servers_done = True
                    for name in names:
                        lines.append(f"    server {name} 127.0.0.1:{self.ports[name]} "
                                     f"cookie {name}")
                continue
            if line.strip() == "cookie RUNNEL_NODE insert indirect nocache httponly":
                lines.append(line)
                for name in names:
                    lines.append(f"    use-server {name} if {{ var(txn.node) -m str {name} }}")
                continue
            lines.append(line)
        return "\n".join(lines) + "\n"

    def start_haproxy(self, names):
        self.haproxy_port = free_port()
        self.stats_port = free_port()
        cfg = self.tmp / "haproxy.cfg"
        cfg.write_text(self.haproxy_config(names))
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], check=True)
        log = open(self.tmp / "haproxy.log", "ab")
        self.procs["haproxy"] = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)],
                                                 stdin=subprocess.DEVNULL, stdout=log,
                                                 stderr=subprocess.STDOUT)
        self.wait_servers(lambda st: all(st.get(n) == "UP" for n in names), 20)

    def server_states(self):
        """HAProxy's view: {server name: "UP" / "DOWN" / ...}."""
        st, _, data = http(self.stats_port, "GET", "/stats;csv", timeout=2)
        out = {}
        for line in data.decode().splitlines():
            f = line.split(",")
            if len(f) > 17 and f[0] == "nodes" and f[1] not in ("BACKEND", "FRONTEND"):
                out[f[1]] = f[17].split(" ")[0]
        return out

    def wait_servers(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                st = self.server_states()
                if pred(st):
                    return st
            except OSError:
                st = None
            if time.monotonic() > deadline:
                raise AssertionError(f"HAProxy servers {st} not as expected in {timeout} s")
            time.sleep(0.05)

    # -------------------------------------------------------------- all
    def start(self):
        if self.pg:
            self.start_pg()
        names = [f"node-{i + 1}" for i in range(self.n)]
        for name in names:
            self.start_node(name)
        if self.use_haproxy:
            self.start_haproxy(names)
        return self

    @property
    def entry(self):
        return self.haproxy_port

    def stop(self):
        for name, p in list(self.procs.items()):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in list(self.procs.items()):
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        if self.pg_dir and (self.pg_dir / "data" / "postmaster.pid").exists():
            try:
                self.as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.pg_dir / "data"),
                                  "-m", "immediate", "-w", "stop"])
            except subprocess.CalledProcessError:
                pass
        if os.environ.get("RUNNEL_CLUSTER_KEEP"):
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
