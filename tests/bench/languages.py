#!/usr/bin/python3
"""Per language, two tables.

Default (time to first output): for every spec, the example through
runneld, p50 of EXEC sent -> first LOG received, cold (fresh code: a
compiled language compiles, the cache misses) and warm (the same code
again: a compiled language's artifact comes from the cache).

    /usr/bin/python3 tests/bench/languages.py [BUILD_DIR]
    /usr/bin/python3 tests/bench/languages.py --bare [BUILD_DIR]

--bare: p50 EXEC -> STOP of the spec's example through runneld vs
the same toolchain commands run bare (no sandbox: the spec's compile and run
argv with its paths moved into a temp dir, the spec's env), measured in the
same run, run by run in turns. Compiled languages compile every time on both
sides (the example gets a fresh comment each run, so runneld's cache misses);
the compile cache is measured apart: p50 of a miss vs a hit for c, cpp,
rust, go and java.

    /usr/bin/python3 tests/bench/languages.py [BUILD_DIR]   (default $RUNNEL_BUILD or build/)

Prints the table and writes it into tests/bench/README.md ("languages").
RUNNEL_BENCH_N overrides the runs per language; RUNNEL_BENCH_LANGS=a,b
limits the languages (then README.md is left alone).
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import REPO, Client, Runneld, build_dir, machine_line, p50, write_section

SPECS = REPO / "specs"
RUNTIMES = REPO / "runtimes"
SLOW = {"kotlin": 3, "haskell": 3, "go": 4, "rust": 4, "java": 4, "csharp": 4, "typescript": 4}
CACHE_LANGS = ["c", "cpp", "rust", "go", "java"]


def load_specs():
    out = {}
    for p in sorted(SPECS.glob("*.json")):
        if p.name == "schema.json":
            continue
        s = json.loads(p.read_text())
        out[s["name"]] = s
    return out


def comment(lang, text):
    if lang == "fortran":
        return f"! {text}\n"
    if lang == "pascal":
        return f"{{ {text} }}\n"
    if lang == "haskell":
        return f"-- {text}\n"
    return f"// {text}\n"


def bare_argv(spec, argv, tmp, build):
    mounts = [(m["dst"], m["src"].replace("{runtimes}", str(RUNTIMES)))
              for m in spec.get("mounts", []) if "dst" in m]
    out = []
    for el in argv:
        if el == "{args}":
            continue
        el = re.sub(r"/tmp(?=/|$)", tmp, el)
        el = el.replace("{file}", spec["filename"]).replace("{build}", build)
        for dst, src in mounts:
            el = el.replace(dst, src)
        out.append(el)
    return out


def run_bare(spec, code):
    """Compile (if any) and run code bare in a fresh temp dir; returns
    (seconds, stdout)."""
    tmp = tempfile.mkdtemp(prefix="runnel-bare-")
    try:
        work, build = os.path.join(tmp, "work"), os.path.join(tmp, "build")
        os.mkdir(work)
        os.mkdir(build)
        with open(os.path.join(work, spec["filename"]), "w") as f:
            f.write(code)
        env = {k: re.sub(r"/tmp(?=/|$)", tmp, v) for k, v in spec.get("env", {}).items()}
        t0 = time.monotonic()
        if "compile" in spec:
            c = subprocess.run(bare_argv(spec, spec["compile"], tmp, build), cwd=work, env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
            if c.returncode != 0:
                raise RuntimeError(f"bare compile failed: {c.stderr.decode(errors='replace')}")
        r = subprocess.run(bare_argv(spec, spec["run"], tmp, build), cwd=work, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        dt = time.monotonic() - t0
        return dt, r.stdout.decode(errors="replace")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def bench(srv, specs, langs, n_override):
    cl = await Client.connect(srv.url)
    rows, cache_rows = [], []
    serial = 0
    for lang in langs:
        spec = specs[lang]
        n = n_override or SLOW.get(lang, 5 if "compile" in spec else 10)
        compiled = "compile" in spec

        def code_for(i):
            return comment(lang, f"bench {os.getpid()} {i}") + spec["example"] if compiled \
                else spec["example"]

        # warm-up (page cache), not counted
        serial += 1
        run_bare(spec, code_for(f"w{serial}"))
        await cl.exec(lang, code_for(f"w{serial}"))
        bare, boxed, notes = [], [], set()
        for i in range(n):
            serial += 1
            code = code_for(serial)
            order = ("bare", "runnel") if i % 2 == 0 else ("runnel", "bare")
            for what in order:
                if what == "bare":
                    dt, out = run_bare(spec, code)
                    bare.append(dt)
                    if out != spec["example_output"]:
                        notes.add("bare output differs")
                else:
                    dt, out, _err, stop = await cl.exec(lang, code)
                    boxed.append(dt)
                    if out != spec["example_output"] or stop.get("reason") != "exited":
                        notes.add(f"runnel output differs ({stop.get('reason')})")
                    if compiled and stop.get("compilecached"):
                        notes.add("unexpected cache hit")
        b, r = p50(bare) * 1000, p50(boxed) * 1000
        rows.append((lang, "compiled" if compiled else "interpreted", n, b, r, r / b,
                     "; ".join(sorted(notes))))
        print(f"{lang:12s} {rows[-1][1]:11s} n={n:2d} bare {b:8.1f} ms  runnel {r:8.1f} ms  "
              f"x{r / b:5.2f} {rows[-1][6]}", flush=True)
        if lang in CACHE_LANGS:
            code = code_for("hit")
            dt, out, _e, stop = await cl.exec(lang, code)  # the miss that fills the entry
            hits = []
            for _ in range(max(n, 5)):
                dt, out, _e, stop = await cl.exec(lang, code)
                if not stop.get("compilecached") or out != spec["example_output"]:
                    raise SystemExit(f"{lang}: expected a cache hit, got {stop}")
                hits.append(dt)
            h = p50(hits) * 1000
            cache_rows.append((lang, r, h, r / h))
            print(f"{lang:12s} cache miss {r:8.1f} ms  hit {h:8.1f} ms  x{r / h:5.1f}", flush=True)
    await cl.close()
    return rows, cache_rows


def example_stdin(lang):
    """stdin a spec's example needs (sed works on its input), from the tests."""
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    try:
        from lang_programs import PROGRAMS
    except ImportError:
        return None
    return PROGRAMS.get(lang, {}).get("example_stdin")


async def first_output(cl, language, code, timeout=300, **args):
    """EXEC once; (seconds to the first LOG, seconds to STOP, stdout, STOP)."""
    cl.nonce += 1
    nonce = cl.nonce
    out, first = [], None
    t0 = time.monotonic()
    await cl.conn.send(json.dumps({"op": 1, "nonce": nonce,
                                   "args": {"language": language, "code": code, **args}}))
    while True:
        ev = json.loads(await asyncio.wait_for(cl.conn.recv(), timeout))
        if ev.get("nonce") != nonce:
            continue
        if ev["code"] == 3:
            if first is None:
                first = time.monotonic() - t0
            out.append(ev["data"].get("stdout", ""))
        elif ev["code"] == 4:
            dt = time.monotonic() - t0
            return (first if first is not None else dt), dt, "".join(out), ev["data"]
        elif ev["code"] == 1:
            raise RuntimeError(f"EXEC {language}: ERROR {ev['data']}")


async def bench_first(srv, specs, langs, n):
    """Cold and warm time to first output of every language's example."""
    cl = await Client.connect(srv.url)
    rows = []
    for lang in langs:
        spec = specs[lang]
        compiled = "compile" in spec
        args = {}
        if example_stdin(lang) is not None:
            args["stdin"] = example_stdin(lang)
        cold, warm, notes = [], [], set()
        for i in range(n):
            # trailing newlines change the code (so the cache key) and nothing else
            code = spec["example"] + ("\n" * (1 + i + (os.getpid() % 97) * 20) if compiled else "")
            for what in ("cold", "warm"):
                try:
                    t_first, _t_stop, out, stop = await first_output(cl, lang, code, **args)
                except (RuntimeError, asyncio.TimeoutError) as e:
                    notes.add(str(e)[:60])
                    continue
                (cold if what == "cold" else warm).append(t_first)
                if out != spec["example_output"] or stop.get("reason") != "exited":
                    notes.add(f"output differs ({stop.get('reason')})")
                if compiled and stop.get("compilecached") != (what == "warm"):
                    notes.add(f"{what}: compilecached {stop.get('compilecached')}")
        c = p50(cold) * 1000 if cold else float("nan")
        w = p50(warm) * 1000 if warm else float("nan")
        rows.append((lang, "compiled" if compiled else "interpreted", n, c, w,
                     "; ".join(sorted(notes))))
        print(f"{lang:14s} {rows[-1][1]:11s} cold {c:8.1f} ms  warm {w:8.1f} ms  {rows[-1][5]}",
              flush=True)
    await cl.close()
    return rows


def main_first(build, specs, langs, only):
    n = int(os.environ.get("RUNNEL_BENCH_N", "3"))
    cfg = {"limits": {"concurrency": 1, "wall_ms": 120000, "cpu_ms": 120000,
                      "idle_client_ms": 600000}}
    started = time.monotonic()
    with Runneld(build, cfg) as srv:
        rows = asyncio.run(bench_first(srv, specs, langs, n))
    took = time.monotonic() - started
    lines = ["language       kind          n  cold_ms  warm_ms"]
    for lang, kind, k, c, w, note in rows:
        lines.append(f"{lang:14s} {kind:11s} {k:3d} {c:8.1f} {w:8.1f}"
                     + (f"  ({note})" if note else ""))
    table = "\n".join(lines)
    print()
    print(table)
    if only:
        return
    body = f"""```
/usr/bin/python3 tests/bench/languages.py [BUILD_DIR]
```

Every language's spec example through runneld (one WebSocket, one run at
a time), p50 of EXEC sent -> first LOG received over N rounds. Each round
sends fresh code (the example with a different number of trailing
newlines) twice: cold is the first send (a compiled language compiles:
the compile cache misses), warm the second (the artifact comes from the
cache; an interpreted language simply runs again).

{machine_line()}; whole run {took:.0f} s.

```
{table}
```
"""
    write_section("languages: time to first output", body)
    print("\nwritten to tests/bench/README.md (## languages: time to first output)")


def main():
    argv = sys.argv[1:]
    bare_mode = "--bare" in argv
    if bare_mode:
        argv.remove("--bare")
    sys.argv[1:] = argv
    build = build_dir()
    specs = load_specs()
    only = os.environ.get("RUNNEL_BENCH_LANGS")
    langs = [x for x in only.split(",")] if only else list(specs)
    if not bare_mode:
        main_first(build, specs, langs, only)
        return
    build = build_dir()
    specs = load_specs()
    only = os.environ.get("RUNNEL_BENCH_LANGS")
    langs = [x for x in only.split(",")] if only else list(specs)
    n_override = int(os.environ.get("RUNNEL_BENCH_N", "0"))
    cfg = {"limits": {"concurrency": 1, "wall_ms": 60000, "cpu_ms": 60000,
                      "idle_client_ms": 600000}}
    started = time.monotonic()
    with Runneld(build, cfg) as srv:
        rows, cache_rows = asyncio.run(bench(srv, specs, langs, n_override))
    took = time.monotonic() - started

    lines = ["language     kind          n    bare_ms  runnel_ms  ratio"]
    for lang, kind, n, b, r, x, note in rows:
        lines.append(f"{lang:12s} {kind:11s} {n:3d} {b:10.1f} {r:10.1f} {x:6.2f}"
                     + (f"  ({note})" if note else ""))
    interp = [x for _, kind, _, _, _, x, _ in rows if kind == "interpreted"]
    comp = [x for _, kind, _, _, _, x, _ in rows if kind == "compiled"]
    if interp:
        lines.append(f"median ratio: interpreted {p50(interp):.2f}"
                     + (f", compiled {p50(comp):.2f}" if comp else ""))
    clines = ["language   miss_ms    hit_ms  miss/hit"]
    for lang, m, h, x in cache_rows:
        clines.append(f"{lang:8s} {m:9.1f} {h:9.1f} {x:9.1f}")
    table, ctable = "\n".join(lines), "\n".join(clines)
    print()
    print(table)
    print()
    print(ctable)
    if only:
        return
    body = f"""```
/usr/bin/python3 tests/bench/languages.py [BUILD_DIR]
```

Each language's spec example, N times: through runneld (one WebSocket,
one run at a time, EXEC sent -> STOP received) and bare (the spec's
compile and run argv with `/tmp`, `{{build}}` and the `/opt/runnel` mount
moved into a fresh temp dir, the spec's env, no sandbox, started from
Python with pipes), in turns run by run, after one warm-up each. Compiled
languages compile on both sides every time (each run's example gets a
fresh comment, so runneld's cache misses); the cache is measured apart
below. Target: ratio <= 1.3 for interpreted languages at p50.

{machine_line()}; whole run {took:.0f} s.

```
{table}
```

Reading the ratios: between runs runneld is idle, so each interpreted
run (and each run stage without a cache artifact to bind) takes a
sandbox built ahead for its shape (`sandbox.warm`): the run costs its
files, its program's exec and the report, and small programs (sh, bash,
lua: 5-10 ms bare) come out within noise of bare. A compiled language's
run stage binds its artifact, so it builds its sandbox as it starts
(see "spawn"). Every run is capped at one CPU (the cgroup's CPU quota,
100 ms per 100 ms), while the bare command may use both: runtimes that
work on several threads at start-up pay for that (the BEAM: elixir's
example took 0.69 s in `runnel-box` with cgroups, 0.54 s with
`--no-cgroup`, 0.55 s bare; the JVM for java and kotlin).

### compile cache

p50 of a miss (the runnel column above: compile + run) vs a hit (the same
code again: the artifact comes from the cache, only the run stage runs).
Target: hits >= 5x faster than misses.

```
{ctable}
```
"""
    write_section("languages", body)
    print("\nwritten to tests/bench/README.md (## languages)")


if __name__ == "__main__":
    main()
