#!/usr/bin/python3
"""Soak: runneld under mixed load from all four envelopes for a chosen time,
then checks that nothing leaked.

    tests/soak/soak.py --build BUILD_DIR [--seconds 60] [--connections 50]

Load: ranna clients (short and long programs, big outputs, stdin, KILLs,
compiled C, bad requests, slow readers, disconnects mid-run), Zeppelin and
Linkis clients running shell paragraphs/jobs, Lenses clients running SQL
queries (one socket each, as the protocol has it). Every client that stays
checks that its run's output is complete and in order.

After the load: runneld's open fds no more than after the warm-up, no
process left in the runs' uid range, no cgroup, build dir or temp file left,
RSS within 10 % of its post-warm-up level (25 % under ASan) apart from the
store's page cache, which fills as the database grows and must stay under
its bound. Prints a JSON summary; exits 1 on any failure.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import websockets  # noqa: E402

# SQLite's default page cache is 2000 KiB per connection, plus its prepared
# statements and schema: more than this is growth without a bound.
STORE_MEMORY_MAX = 3 * 1024 * 1024

from lenses_client import query as lenses_query  # noqa: E402
from linkis_helpers import LinkisWS, log_program_lines  # noqa: E402
from zeppelin_client import ZWS  # noqa: E402

# A uid range of this soak's own (two soaks at once must not see each
# other's runs): 0x60000000 + a slot by pid.
UID_COUNT = 65536
UID_FIRST = 0x60000000 + (os.getpid() % 512) * UID_COUNT
LANGS = ("bash", "sh", "python3", "c")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


# --------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runneld:
    def __init__(self, build, specs, workdir, cgroup_name):
        self.port = free_port()
        self.host = "127.0.0.1"
        self.dir = workdir
        self.cgroup = cgroup_name
        specs_root = workdir / "root"
        (specs_root / "specs").mkdir(parents=True)
        for lang in LANGS:
            if (specs / f"{lang}.json").exists():
                shutil.copy(specs / f"{lang}.json", specs_root / "specs")
        os.symlink(specs.parent / "runtimes", specs_root / "runtimes")
        cfg = {
            "limits": {"concurrency": 2, "queue": 256, "per_connection": 4, "wall_ms": 15000,
                       "cpu_ms": 15000, "output_bytes": 4 << 20, "message_bytes": 1 << 20,
                       "idle_client_ms": 4000, "pids": 64},
            "cache": {"dir": str(workdir / "cache")},
            "state": {"dir": str(workdir / "state")},
            "sandbox": {"uid_first": UID_FIRST, "uid_count": UID_COUNT, "cgroup": cgroup_name},
            "linkis": {"retention_ms": 3000, "max_jobs": 64},
            "zeppelin": {"max_notes": 64, "note_ttl_ms": 5000,
                         "notebook_dir": str(workdir / "notebook")},
        }
        (workdir / "soak.json").write_text(json.dumps(cfg))
        self.argv = [str(build / "src" / "runneld"), "--listen", f"127.0.0.1:{self.port}",
                     "--specs", str(specs_root / "specs"), "--config",
                     str(workdir / "soak.json"), "--log-level", "info"]
        self.log_path = workdir / "runneld.log"
        self.proc = None

    def start(self):
        self.logf = open(self.log_path, "wb")
        env = dict(os.environ)
        if "ASAN_OPTIONS" in env:
            # ASan keeps freed memory resident in its quarantine until the
            # quarantine is full: a large one still filling after the
            # warm-up reads as growth. 1 MB fills within the warm-up, so the
            # RSS bound below measures the server, not the sanitizer.
            env["ASAN_OPTIONS"] += ":quarantine_size_mb=1"
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, "runneld exited at start:\n" + self.tail())
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise Failure("runneld did not listen")

    def store_memory(self):
        """runnel_store_memory_bytes from /metrics: the embedded store's page
        cache, which fills as the database grows, up to SQLite's cache size."""
        with urllib.request.urlopen(f"http://{self.host}:{self.port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("runnel_store_memory_bytes "):
                    return int(float(line.split()[1]))
        raise Failure("/metrics has no runnel_store_memory_bytes")

    def tail(self, n=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    @property
    def pid(self):
        return self.proc.pid

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


# --------------------------------------------------------------------------
# clients
# --------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.counts = {}
        self.failures = []

    def add(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n


async def ranna_connect(srv):
    return await websockets.connect(f"ws://{srv.host}:{srv.port}/v1/ws", max_size=None,
                                    ping_interval=None, open_timeout=10, close_timeout=2)


async def ranna_run(conn, nonce, args, slow=0.0, kill_after_output=False, timeout=60):
    """Send one EXEC and read its events; returns (stdout, stderr, stop or
    error dict, kind)."""
    await conn.send(json.dumps({"op": 1, "nonce": nonce, "args": args}))
    out, err = [], []
    runid = None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, f"run {nonce} did not end within {timeout}s")
        ev = json.loads(await asyncio.wait_for(conn.recv(), left))
        check(ev.get("nonce") == nonce, f"event of another run: {ev!r}")
        if ev["code"] == 1:
            return "".join(out), "".join(err), ev["data"], "error"
        if ev["code"] == 2:
            check(runid is None, "second SPAWN")
            runid = ev["data"]["runid"]
        elif ev["code"] == 3:
            check(ev["data"]["runid"] == runid, "LOG with a foreign runid")
            if kill_after_output and not out and not err:
                # the program runs (it printed): kill it now
                await conn.send(json.dumps({"op": 2, "nonce": nonce + 1,
                                            "args": {"runid": runid}}))
            (out if "stdout" in ev["data"] else err).append(
                ev["data"].get("stdout", ev["data"].get("stderr")))
            if slow:
                await asyncio.sleep(slow)
        elif ev["code"] == 4:
            return "".join(out), "".join(err), ev["data"], "stop"


def seq_text(n):
    return "".join(f"{i}\n" for i in range(1, n + 1))


async def ranna_worker(srv, stats, deadline, rnd, role):
    nonce = 1
    conn = await ranna_connect(srv)
    try:
        while time.monotonic() < deadline:
            nonce += 2
            kind = role if role != "mixed" else rnd.choice(
                ["short", "short", "big", "stdin", "long", "kill", "error", "python", "c",
                 "badjson"])
            if kind == "short":
                n = rnd.randrange(1, 200)
                o, e, d, k = await ranna_run(conn, nonce, {"language": "bash",
                                                           "code": f"seq 1 {n}"})
                check(k == "stop" and d["exitcode"] == 0 and o == seq_text(n), f"short: {d}")
            elif kind == "big" or kind == "slow":
                n = 150000 if kind == "big" else 60000
                o, e, d, k = await ranna_run(conn, nonce, {"language": "sh", "code": f"seq 1 {n}"},
                                             slow=0.002 if kind == "slow" else 0.0)
                check(k == "stop" and o == seq_text(n), f"{kind} output incomplete: {len(o)} {d}")
            elif kind == "stdin":
                data = "".join(f"in-{i}\n" for i in range(rnd.randrange(1, 3000)))
                o, e, d, k = await ranna_run(conn, nonce, {"language": "bash", "code": "cat",
                                                           "stdin": data})
                check(k == "stop" and o == data, f"stdin echo differs: {len(o)} vs {len(data)}")
            elif kind == "long":
                o, e, d, k = await ranna_run(conn, nonce, {"language": "bash",
                                                           "code": "sleep 2; echo slept"})
                check(k == "stop" and o == "slept\n", f"long: {d}")
            elif kind == "kill":
                o, e, d, k = await ranna_run(conn, nonce, {"language": "bash",
                                                           "code": "echo start; sleep 30"},
                                             kill_after_output=True)
                check(k == "stop" and d["reason"] == "killed", f"kill: {d}")
            elif kind == "error":
                o, e, d, k = await ranna_run(conn, nonce, {"language": "no-such-lang",
                                                           "code": "x"})
                check(k == "error" and d["code"] == 400, f"error: {d}")
            elif kind == "badjson":
                await conn.send('{"op":1,"nonce":' + str(nonce) + ',"args":{')
                ev = json.loads(await asyncio.wait_for(conn.recv(), 10))
                check(ev["code"] == 1, f"bad JSON: {ev}")
                k = "error"
            elif kind == "python":
                o, e, d, k = await ranna_run(conn, nonce, {"language": "python3",
                                                           "code": "print(sum(range(10**5)))"})
                check(k == "stop" and o == "4999950000\n", f"python: {o!r} {d}")
            elif kind == "c":
                v = rnd.randrange(5)  # a few distinct programs: cache hits and misses
                code = f'#include <stdio.h>\nint main(void){{printf("c{v}\\n");return 0;}}\n'
                o, e, d, k = await ranna_run(conn, nonce, {"language": "c", "code": code})
                check(k == "stop" and o == f"c{v}\n", f"c: {o!r} {e!r} {d}")
            elif kind == "disconnect":
                await conn.send(json.dumps({"op": 1, "nonce": nonce, "args": {
                    "language": "bash", "code": "seq 1 100000000"}}))
                while True:
                    ev = json.loads(await asyncio.wait_for(conn.recv(), 20))
                    if ev["code"] == 3:
                        break
                conn.transport.abort() if hasattr(conn, "transport") else None
                await conn.close()
                conn = await ranna_connect(srv)
                k = "disconnect"
            stats.add(f"ranna.{kind}")
    finally:
        await conn.close()


async def zeppelin_worker(srv, stats, deadline, rnd, idx):
    z = await ZWS.connect(srv)
    try:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            n = rnd.randrange(1, 3000)
            pid = f"soak-{idx}-{i % 4}"
            p = await z.run_and_collect(pid, f"%sh\nseq 1 {n}", note=f"soak-note-{idx}",
                                        timeout=60)
            final = p.final
            check(final["status"] == "FINISHED", f"zeppelin: {final['status']}")
            text = "".join(m["data"] for m in final["results"]["msg"])
            check(text == seq_text(n), f"zeppelin output differs ({len(text)} chars)")
            check(p.appended() == seq_text(n), "zeppelin appended output differs")
            stats.add("zeppelin.paragraph")
    finally:
        await z.close()


async def linkis_worker(srv, stats, deadline, rnd, idx):
    lk = await LinkisWS.connect(srv)
    try:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            n = rnd.randrange(1, 500)
            tag = f"soak-{idx}-{i}"
            reply = await lk.execute(f"seq 1 {n}", run_type="shell", tag=tag)
            check(reply["status"] == 0, f"linkis execute: {reply}")
            eid = reply["data"]["execID"]
            frames = await lk.collect_job(eid, timeout=60)
            statuses = [f["data"]["status"] for f in frames if f["method"].endswith("/status")]
            check(statuses[-1] == "Succeed", f"linkis status {statuses}")
            logs = "".join(f["data"]["log"][3] for f in frames if f["method"].endswith("/log"))
            lines = log_program_lines(logs)
            check(lines == [str(k) for k in range(1, n + 1)],
                  f"linkis log lines differ ({len(lines)} of {n})")
            stats.add("linkis.job")
    finally:
        await lk.close()


async def lenses_worker(srv, stats, deadline, rnd):
    while time.monotonic() < deadline:
        frames, raw, code = await lenses_query(
            srv, {"sql": "SELECT * FROM sea_vessel_position_reports LIMIT 50"}, timeout=60)
        types = [f["type"] for f in frames]
        check(code == 1000 and types[-1] == "END", f"lenses ended with {code} {types[-3:]}")
        check("ERROR" not in types, f"lenses error: {frames}")
        recs = [f for f in frames if f["type"] == "RECORD"]
        check(len(recs) == 50, f"lenses returned {len(recs)} records")
        stats.add("lenses.query")
        await asyncio.sleep(rnd.random() * 0.5)


async def guarded(name, coro, stats):
    try:
        await coro
    except Failure as e:
        stats.failures.append(f"{name}: {e}")
    except Exception as e:  # noqa: BLE001 - any client error is a soak failure
        stats.failures.append(f"{name}: {type(e).__name__}: {e}")


async def load(srv, seconds, connections, seed, stats):
    rnd = random.Random(seed)
    deadline = time.monotonic() + seconds
    n_zep = max(1, connections * 3 // 25)
    n_lk = max(1, connections * 3 // 25)
    n_lenses = max(1, connections // 25)
    special = ["slow", "slow", "disconnect", "disconnect", "kill", "big"]
    n_ranna = max(len(special), connections - n_zep - n_lk - n_lenses)
    tasks = []
    for i in range(n_ranna):
        role = special[i] if i < len(special) else "mixed"
        tasks.append(guarded(f"ranna[{i}:{role}]",
                             ranna_worker(srv, stats, deadline, random.Random(rnd.random()), role),
                             stats))
    for i in range(n_zep):
        tasks.append(guarded(f"zeppelin[{i}]", zeppelin_worker(
            srv, stats, deadline, random.Random(rnd.random()), i), stats))
    for i in range(n_lk):
        tasks.append(guarded(f"linkis[{i}]", linkis_worker(
            srv, stats, deadline, random.Random(rnd.random()), i), stats))
    for i in range(n_lenses):
        tasks.append(guarded(f"lenses[{i}]", lenses_worker(
            srv, stats, deadline, random.Random(rnd.random())), stats))
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 120)


# --------------------------------------------------------------------------
# leak checks
# --------------------------------------------------------------------------

def uid_range_pids():
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uid = int(line.split()[2])
                        if UID_FIRST <= uid < UID_FIRST + UID_COUNT:
                            found.append(int(d))
                        break
        except OSError:
            pass
    return found


def _comm_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return None, None
    return st[st.index("(") + 1:st.rindex(")")], int(st[st.rindex(")") + 2:].split()[1])


def leftover_pids(server_pid):
    """Processes in the runs' uid range other than the sandboxes runneld
    keeps built ahead (sandbox.warm): each of those is a runnel-init, child
    of runneld, and the program it cloned, still runneld's image, waiting
    for a run. At most WARM of them."""
    pids = uid_range_pids()
    info = {p: _comm_ppid(p) for p in pids}
    inits = [p for p in pids if info[p] == ("runnel-init", server_pid)]
    ok = set(inits[:WARM])
    ok |= {p for p in pids if info[p][0] == "runneld" and info[p][1] in ok}
    return [p for p in pids if p not in ok]


AHEAD = 4  # runneld's default sandbox.ahead
WARM = 2  # runneld's default sandbox.warm

def cgroup_dirs(name):
    """Every directory called name under /sys/fs/cgroup (any hierarchy)."""
    out = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        if Path(root).name == name:
            out.append(Path(root))
            dirs[:] = []
        elif root.count("/") > 8:
            dirs[:] = []
    return out


def leftover_cgroups(name):
    return [str(c) for base in cgroup_dirs(name) for c in base.iterdir() if c.is_dir()]


def temp_entries():
    pats = ("runnel-build.", "runnel-")
    return sorted(p.name for p in Path("/tmp").iterdir() if p.name.startswith(pats)) + \
        sorted(p.name for p in Path("/dev/shm").iterdir() if p.name.startswith(pats))


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=Path(os.environ.get("RUNNEL_BUILD",
                                                                      REPO / "build")))
    ap.add_argument("--specs", type=Path, default=Path(os.environ.get("RUNNEL_SPECS",
                                                                      REPO / "specs")))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds of load before the baseline (default: 40 %% of the time, at most 60)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rss-slack", type=float, default=None,
                    help="allowed RSS growth after the warm-up (default 0.10; 0.25 under ASan)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    a = ap.parse_args()
    if a.rss_slack is None:
        # ASan's allocator never gives memory back and maps shadow for every
        # new high-water mark of each size class, so its RSS follows the
        # load's peaks: under ASan, LeakSanitizer is the leak check and the
        # RSS bound only catches gross growth; the plain build keeps 10 %.
        a.rss_slack = 0.25 if "ASAN_OPTIONS" in os.environ else 0.10
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    warm = a.warmup if a.warmup is not None else min(60.0, max(5.0, a.seconds * 0.4))
    work = Path(tempfile.mkdtemp(prefix="soak-", dir=os.environ.get("RUNNEL_SOAK_DIR", "/var/tmp")))
    cgname = f"runnel-soak-{os.getpid()}"
    temps_before = set(temp_entries())
    srv = Runneld(a.build, a.specs, work, cgname)
    stats = Stats()
    result = {"seed": seed, "seconds": a.seconds, "connections": a.connections}
    failures = []
    srv.start()
    try:
        async def drive():
            loop_task = asyncio.create_task(load(srv, a.seconds, a.connections, seed, stats))
            # The level after the warm-up: the most RSS seen while warming up
            # (every kind of request has run a few times by then).
            warm_rss = []
            t_end = time.monotonic() + min(warm, a.seconds)
            while time.monotonic() < t_end:
                warm_rss.append(srv.rss())
                await asyncio.sleep(0.5)
            result["after_warmup"] = {"fds": srv.fds(), "rss": max(warm_rss + [srv.rss()]),
                                      "store_memory": srv.store_memory()}
            samples = []
            timeline = []
            t0 = time.monotonic()
            while not loop_task.done():
                samples.append(srv.rss())
                if len(samples) % 10 == 1:
                    timeline.append([round(time.monotonic() - t0), srv.fds(), samples[-1]])
                await asyncio.sleep(1)
            await loop_task
            result["rss_max_under_load"] = max(samples or [0])
            result["timeline_s_fds_rss"] = timeline
        result["start"] = {"fds": srv.fds(), "rss": srv.rss()}
        asyncio.run(drive())
        # load is over: everything the runs held must be given back
        wait_for(lambda: not leftover_pids(srv.proc.pid), 10)
        base = result["after_warmup"]
        wait_for(lambda: srv.fds() <= base["fds"], 15)
        time.sleep(1)
        result["end"] = {"fds": srv.fds(), "rss": srv.rss(), "store_memory": srv.store_memory()}
        result["uid_range_processes"] = leftover_pids(srv.proc.pid)
        result["leftover_cgroups"] = leftover_cgroups(cgname)
        result["leftover_temp"] = sorted(set(temp_entries()) - temps_before)
        result["counts"] = stats.counts
        failures += stats.failures
        if result["end"]["fds"] > base["fds"]:
            failures.append(f"fds grew: {base['fds']} after warm-up, {result['end']['fds']} at end")
        # The store's page cache keeps filling while the database grows
        # (bounded by SQLite's cache size, checked below): the RSS bound is
        # on the rest of the server.
        store_growth = max(0, result["end"]["store_memory"] - base["store_memory"])
        if result["end"]["rss"] - store_growth > base["rss"] * (1 + a.rss_slack):
            failures.append(f"RSS grew: {base['rss']} after warm-up, {result['end']['rss']} at end"
                            f" ({store_growth} of it the store's page cache)")
        if result["end"]["store_memory"] > STORE_MEMORY_MAX:
            failures.append(f"store memory {result['end']['store_memory']} over {STORE_MEMORY_MAX}")
        if result["uid_range_processes"]:
            failures.append(f"processes left in the runs' uid range: {result['uid_range_processes']}")
        # While it runs, runneld keeps up to sandbox.ahead (4) empty run
        # cgroups made ahead per hierarchy, and one for each sandbox built
        # ahead (sandbox.warm); any more are runs' leftovers.
        per_base = [len([c for c in b.iterdir() if c.is_dir()]) for b in cgroup_dirs(cgname)]
        if any(n > AHEAD + WARM for n in per_base):
            failures.append(f"cgroups left: {result['leftover_cgroups'][:5]}")
        if result["leftover_temp"]:
            failures.append(f"temp files left: {result['leftover_temp'][:5]}")
        if sum(stats.counts.values()) < a.connections:
            failures.append(f"too little work done: {stats.counts}")
        if srv.proc.poll() is not None:
            failures.append(f"runneld died ({srv.proc.returncode})")
    except Failure as e:
        failures.append(str(e))
    finally:
        rc = srv.stop()
        result["exit_status"] = rc
        # Stopped, it leaves no process behind, warm or not.
        result["uid_range_processes_after_stop"] = uid_range_pids()
        if result["uid_range_processes_after_stop"]:
            failures.append("processes left after stop: "
                            f"{result['uid_range_processes_after_stop']}")
        # Stopped, it leaves none at all.
        result["leftover_cgroups_after_stop"] = leftover_cgroups(cgname)
        if result["leftover_cgroups_after_stop"]:
            failures.append(f"cgroups left after stop: {result['leftover_cgroups_after_stop'][:5]}")
        log = srv.log_path.read_text(errors="replace")
        if "ERROR: AddressSanitizer" in log or "ERROR: LeakSanitizer" in log or \
                "runtime error:" in log:
            failures.append("sanitizer report in the log:\n" + log[log.find("ERROR"):][:3000])
        if rc not in (0, None):
            failures.append(f"runneld exited with {rc} on SIGTERM")
        for c in cgroup_dirs(cgname):
            try:
                c.rmdir()
            except OSError:
                pass
        result["failures"] = failures
        print(json.dumps(result, indent=1))
        if failures:
            print("----- runneld log tail -----\n" + srv.tail(60), file=sys.stderr)
        if not a.keep and not failures:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work dir kept: {work}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
