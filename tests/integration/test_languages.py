"""Every language spec, end to end through the real runneld over the ranna
WebSocket: its example, stdin, arguments and environment, compile errors,
streaming (a print, a pause, a print: the first line must arrive at least
1 s before the STOP), inline expressions and the compile cache.

The languages are the spec files in RUNNEL_SPECS (every *.json but the
schema); one server loads them all. A language whose toolchain is missing
fails (the test command installs every runtime). To stay within minutes on
two cores the runs of all languages are made up front, concurrently, by one
module fixture (several connections, a few runs in flight on each); the
tests below then judge the recorded events language by language.

Programs other than the specs' own examples are in lang_programs.py.
"""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import time
import traceback

import pytest

from conftest import LOG, SPAWN, STOP, SPECS, Run, Server
from lang_programs import (ARG, ENV_NAME, ENV_VALUE, PROGRAMS, STDIN, STREAM_EXPECTED,
                           probe_expected)

SPEC_FILES = sorted(p for p in SPECS.glob("*.json") if p.name != "schema.json")
SPEC = {}
for _p in SPEC_FILES:
    _s = json.loads(_p.read_text())
    SPEC[_s["name"]] = _s
LANGS = sorted(SPEC)
COMPILED = [lang for lang in LANGS if "compile" in SPEC[lang]]
INTERPRETED = [lang for lang in LANGS if "compile" not in SPEC[lang]]
INLINE = [lang for lang in LANGS if "inline" in SPEC[lang]]
# Languages whose cache is put under five concurrent identical compiles.
CACHE_CONCURRENT = [lang for lang in ("c", "cpp", "go", "rust", "java") if lang in SPEC]
# Slowest first, so the long compiles overlap everything else.
SLOW_FIRST = ["crystal", "kotlin", "scala", "haskell", "go", "rust", "nim", "java", "csharp",
              "typescript", "cpp", "clang-cpp", "d", "ada", "vala", "chicken", "pascal", "fortran",
              "cobol", "c", "elixir", "r", "ocaml", "groovy", "clojure", "racket", "raku", "octave"]

GO_SEED = 'import "time"\nfor i := 0; i < 5; i++ { time.Sleep(1 * time.Second); println("👋") }'

LIMITS = {
    "concurrency": 4,
    "queue": 256,
    "per_connection": 4,
    "wall_ms": 30000,
    "cpu_ms": 30000,
    "memory_bytes": 268435456,
    "output_bytes": 1048576,
    "code_bytes": 262144,
    "message_bytes": 1048576,
    "pids": 64,
    "idle_client_ms": 120000,
}
LANGS_AT_ONCE = 6
COMPILED_TIMEOUT = 300.0   # per batch of runs of a compiled language (queueing included)
INTERPRETED_TIMEOUT = 120.0
ALL_TIMEOUT = 1500.0


# --------------------------------------------------------------------------
# the server and the runs
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lang_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("languages")
    srv = Server(d, "runneld-languages", SPECS, limits=LIMITS,
                 config={"cache": {"dir": str(d / "cache")}})
    # Like Server.start, with more time: start-up asks every toolchain its
    # version.
    srv.logf = open(srv.log_path, "wb")
    srv.proc = subprocess.Popen(srv.argv, stdin=subprocess.DEVNULL, stdout=srv.logf,
                                stderr=subprocess.STDOUT,
                                env=dict(os.environ, RUNNEL_STATE_DIR=str(d / "state")))
    deadline = time.monotonic() + 60
    while True:
        if srv.proc.poll() is not None:
            pytest.fail(f"runneld exited with {srv.proc.returncode} at start:\n" + srv.log_tail())
        try:
            if srv.http("GET", "/healthz", timeout=1)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            srv.stop(signal.SIGKILL)
            pytest.fail("runneld not healthy within 60 s:\n" + srv.log_tail())
        time.sleep(0.1)
    # Versions are asked in the background after start: wait for them (every
    # available language gets one within the detection bound).
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        st, _, obj = srv.http_json("GET", "/v1/spec")
        if st == 200 and all(v.get("version") for v in obj.values()
                             if "use" not in v and v.get("available")):
            break
        time.sleep(0.5)
    yield srv
    alive = srv.alive()
    srv.stop(signal.SIGTERM)
    if srv.proc.returncode is None:
        srv.stop(signal.SIGKILL)
    assert alive, "runneld died during the language tests:\n" + srv.log_tail(80)


@pytest.fixture(scope="module")
def spec_list(lang_server):
    st, _, obj = lang_server.http_json("GET", "/v1/spec")
    assert st == 200, obj
    return obj


class Failed:
    """Stands in for a run that could not be made or did not finish."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"Failed({self.what})"


async def batch(srv, lang, items, timeout):
    """EXEC every item (key -> EXEC args) at once on one new connection and
    collect their events; returns key -> Run, or Failed for runs that did
    not finish (the reason inside)."""
    out = {}
    try:
        ws = await srv.ws()
    except Exception as e:  # noqa: BLE001 - recorded for the test to report
        return {k: Failed(f"connect: {e!r}") for k in items}
    runs = {}
    keys = {}
    err = None
    try:
        for i, (key, args) in enumerate(items.items(), start=1):
            runs[i] = Run(i)
            keys[i] = key
            await ws.exec(language=lang, nonce=i, **args)
        stray = await ws.collect(runs, timeout)
        if stray:
            err = f"events that belong to no run: {stray!r}"
    except Exception as e:  # noqa: BLE001
        err = f"{e!r}"
    finally:
        try:
            await asyncio.wait_for(ws.close(), 5)
        except Exception:  # noqa: BLE001
            pass
    for i, key in keys.items():
        out[key] = runs[i] if runs[i].done and err is None else Failed(f"{err}; {runs[i]!r}")
    return out


async def interactive_stream(srv, lang, p, timeout):
    """A run that prints, then waits for stdin: the first LOG must come while
    the program is still blocked; INPUT is sent 1.5 s after it."""
    ws = await srv.ws()
    try:
        r = Run(1)
        await ws.exec(p["stream"], language=lang, nonce=1, interactive=True)
        await ws.collect({1: r}, timeout, until=lambda ev: ev["code"] == LOG or ev["code"] == 4)
        if r.done:
            return r
        # keep reading (arrival times are taken on receipt) for 1.5 s
        try:
            await ws.collect({1: r}, 1.5)
        except AssertionError:
            pass
        if r.done:
            return r
        await ws.send({"op": 3, "nonce": 2, "args": {"runid": r.runid,
                                                      "data": p["stream_input"], "eof": True}})
        stray = await ws.collect({1: r}, timeout)
        if stray:
            return Failed(f"events that belong to no run: {stray!r}")
        return r
    finally:
        await asyncio.wait_for(ws.close(), 5)


def comment(lang, text):
    if lang in ("fortran",):
        return f"! {text}\n"
    if lang in ("pascal",):
        return f"{{ {text} }}\n"
    if lang in ("haskell",):
        return f"-- {text}\n"
    return f"// {text}\n"


async def language_runs(srv, lang):
    """Every run of one language; key -> Run or Failed."""
    spec = SPEC[lang]
    p = PROGRAMS.get(lang)
    if p is None:
        return {"_error": Failed(f"no programs for {lang} in lang_programs.py")}
    compiled = lang in COMPILED
    timeout = COMPILED_TIMEOUT if compiled else INTERPRETED_TIMEOUT
    res = {}
    example = {"code": spec["example"]}
    if "example_stdin" in p:
        example["stdin"] = p["example_stdin"]
    first = {
        "example": example,
        "probe": {"code": p["probe"], "stdin": p.get("stdin", STDIN), "arguments": [ARG],
                  "environment": {ENV_NAME: ENV_VALUE}},
    }
    if compiled:
        first["compile_error"] = {"code": p["compile_error"]}
    second = {}
    if "no_stream" in p:
        pass
    elif not p.get("stream_interactive"):
        second["stream"] = {"code": p["stream"]}
    if "inline" in spec:
        second["inline"] = {"code": p["inline"][0], "inline_expression": True}
    for part in await asyncio.gather(batch(srv, lang, first, timeout),
                                     batch(srv, lang, second, timeout)):
        res.update(part)
    if p.get("stream_interactive"):
        try:
            res["stream"] = await interactive_stream(srv, lang, p, timeout)
        except Exception as e:  # noqa: BLE001
            res["stream"] = Failed(repr(e))
    if lang == "go":
        # timing-sensitive: alone on its connection
        res.update(await batch(srv, lang, {"inline_seed": {"code": GO_SEED,
                                                            "inline_expression": True}}, timeout))
    if compiled:
        res.update(await batch(srv, lang, {"example_again": example}, timeout))
    if lang in CACHE_CONCURRENT:
        code = comment(lang, f"cache test {secrets.token_hex(8)}") + spec["example"]
        parts = await asyncio.gather(*[batch(srv, lang, {f"concurrent{i}": {"code": code}}, timeout)
                                       for i in range(5)])
        for part in parts:
            res.update(part)
        res.update(await batch(srv, lang, {"concurrent_after": {"code": code}}, timeout))
    return res


@pytest.fixture(scope="module")
def results(lang_server):
    order = [lang for lang in SLOW_FIRST if lang in SPEC] + \
            [lang for lang in LANGS if lang not in SLOW_FIRST]
    out = {}
    started = time.monotonic()

    async def one(sem, lang):
        async with sem:
            t0 = time.monotonic()
            try:
                out[lang] = await language_runs(lang_server, lang)
            except Exception:  # noqa: BLE001
                out[lang] = {"_error": Failed(traceback.format_exc())}
            out[lang]["_seconds"] = time.monotonic() - t0

    async def main():
        sem = asyncio.Semaphore(LANGS_AT_ONCE)
        await asyncio.wait_for(asyncio.gather(*[one(sem, lang) for lang in order]), ALL_TIMEOUT)

    try:
        asyncio.run(main())
    except asyncio.TimeoutError:
        pass  # the languages not finished fail on their own below
    print(f"language runs took {time.monotonic() - started:.1f} s: "
          + ", ".join(f"{k} {v.get('_seconds', -1):.1f}" for k, v in sorted(out.items())))
    return out


def get_run(results, lang, key):
    res = results.get(lang)
    assert res is not None, f"{lang}: runs not made (overall timeout?)"
    if "_error" in res:
        raise AssertionError(f"{lang}: {res['_error'].what}")
    r = res.get(key)
    assert r is not None, f"{lang}: no {key} run"
    if isinstance(r, Failed):
        raise AssertionError(f"{lang} {key}: {r.what}")
    r.check_sequence()
    return r


def stop_time(r):
    (t,) = [t for t, e in r.events if e["code"] == STOP]
    return t


def assert_exited_ok(r, what):
    assert (r.stop["reason"], r.stop["exitcode"], r.stop["signal"]) == ("exited", 0, 0), \
        f"{what}: STOP {r.stop!r}; stdout {r.stdout!r}; stderr {r.stderr!r}"


# --------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------

def test_programs_cover_every_spec():
    assert len(LANGS) >= int(os.environ.get("RUNNEL_T_MIN_LANGS", "70")), LANGS
    missing = [lang for lang in LANGS if lang not in PROGRAMS]
    assert not missing, f"specs without test programs in lang_programs.py: {missing}"
    for lang in LANGS:
        p = PROGRAMS[lang]
        need = ["probe"] + ([] if "no_stream" in p else ["stream"]) + \
            (["compile_error", "compile_error_text"] if lang in COMPILED else [])
        if lang in INLINE:
            need.append("inline")
        absent = [k for k in need if k not in p]
        assert not absent, f"{lang}: lang_programs.py lacks {absent}"


@pytest.mark.parametrize("lang", LANGS)
def test_available(spec_list, lang):
    s = spec_list.get(lang)
    assert isinstance(s, dict) and "use" not in s, f"GET /v1/spec has no {lang}: {s!r}"
    assert s["available"] is True, \
        f"{lang} is not available (install {s.get('missing')!r}): {s!r}"
    assert isinstance(s.get("version"), str) and s["version"], s
    assert s["compiled"] is (lang in COMPILED), s
    ranna = SPEC[lang].get("names", {}).get("ranna", [lang])
    for alias in SPEC[lang].get("aliases", []):
        if alias in ranna:
            continue
        assert spec_list.get(alias) == {"use": ranna[0]}, (alias, spec_list.get(alias))
    # ranna's own keys are full entries (its web app shows only those)
    for key in ranna:
        e = spec_list.get(key)
        assert isinstance(e, dict) and "use" not in e and e["name"] == lang, (key, e)
        assert e["example"] == SPEC[lang]["example"], (key, e)


@pytest.mark.parametrize("lang", LANGS)
def test_example(results, lang):
    r = get_run(results, lang, "example")
    assert r.stdout == SPEC[lang]["example_output"], \
        f"stdout {r.stdout!r}; stderr {r.stderr!r}; STOP {r.stop!r}"
    assert r.stderr == "", r.stderr
    assert_exited_ok(r, "example")


@pytest.mark.parametrize("lang", LANGS)
def test_stdin_echo(results, lang):
    if "no_stdin" in PROGRAMS[lang]:
        pytest.skip(PROGRAMS[lang]["no_stdin"])
    r = get_run(results, lang, "probe")
    stdin = PROGRAMS[lang].get("stdin_echo", PROGRAMS[lang].get("stdin", STDIN))
    assert r.stdout[:len(stdin)] == stdin, \
        f"stdin not echoed: stdout {r.stdout!r}; stderr {r.stderr!r}; STOP {r.stop!r}"
    assert_exited_ok(r, "stdin probe")


@pytest.mark.parametrize("lang", LANGS)
def test_arguments_and_environment(results, lang):
    # The probe prints "arg=<argv[1]>" and "env=<$RUNNEL_T_ENV>" after the
    # echoed stdin (languages that cannot see one of them say so in
    # lang_programs.py; the run must still succeed with them given).
    r = get_run(results, lang, "probe")
    assert r.stdout == probe_expected(lang), \
        f"stdout {r.stdout!r}; stderr {r.stderr!r}; STOP {r.stop!r}"
    assert r.stderr == "", r.stderr
    assert_exited_ok(r, "argument/environment probe")


@pytest.mark.parametrize("lang", COMPILED)
def test_compile_error(results, lang):
    r = get_run(results, lang, "compile_error")
    assert r.stop["reason"] == "compile_error", \
        f"STOP {r.stop!r}; stdout {r.stdout!r}; stderr {r.stderr!r}"
    assert r.stop["exitcode"] != 0, r.stop
    assert r.stop.get("compilecached") is False, r.stop
    assert r.stdout == "", r.stdout
    assert all("stderr" in e["data"] for _, e in r.logs()), r
    assert PROGRAMS[lang]["compile_error_text"] in r.stderr, \
        f"compiler output lacks {PROGRAMS[lang]['compile_error_text']!r}: {r.stderr!r}"
    assert r.stop.get("message"), r.stop


@pytest.mark.parametrize("lang", LANGS)
def test_streaming(results, lang):
    p = PROGRAMS[lang]
    if "no_stream" in p:
        pytest.skip(p["no_stream"])
    r = get_run(results, lang, "stream")
    assert r.stdout == p.get("stream_expected", STREAM_EXPECTED), \
        f"stdout {r.stdout!r}; stderr {r.stderr!r}; STOP {r.stop!r}"
    assert r.stderr == "", r.stderr
    assert_exited_ok(r, "stream")
    # What the program printed before its pause has arrived (in one LOG or
    # several) at least 1 s before the STOP.
    t_stop = stop_time(r)
    early = "".join(e["data"].get("stdout", "") for t, e in r.logs() if t <= t_stop - 1.0)
    assert early == p.get("stream_first", "tick\n"), \
        f"printed before the pause but not delivered 1 s before STOP: " \
        f"{[(round(t_stop - t, 3), e['data']) for t, e in r.logs()]!r}"


@pytest.mark.parametrize("lang", INLINE)
def test_inline_expression(results, lang):
    r = get_run(results, lang, "inline")
    assert r.stdout == PROGRAMS[lang]["inline"][1], \
        f"stdout {r.stdout!r}; stderr {r.stderr!r}; STOP {r.stop!r}"
    assert_exited_ok(r, "inline expression")


@pytest.mark.skipif("go" not in SPEC, reason="no go spec")
def test_inline_go_seed_example(results):
    """ranna's seed: five "👋" on stderr (Go's println), one second apart."""
    r = get_run(results, "go", "inline_seed")
    assert_exited_ok(r, "go seed")
    assert r.stdout == "", r.stdout
    logs = r.logs()
    assert [e["data"] for _, e in logs] == [{"runid": r.runid, "stderr": "👋\n"}] * 5, \
        [e for _, e in logs]
    times = [t for t, _ in logs]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.6 <= g <= 1.8 for g in gaps), f"gaps between LOGs: {gaps}"
    assert stop_time(r) - times[0] >= 0.0


@pytest.mark.parametrize("lang", COMPILED)
def test_compile_cache_hit(results, lang):
    first = get_run(results, lang, "example")
    again = get_run(results, lang, "example_again")
    assert first.stop.get("compilecached") is False, first.stop
    assert again.stop.get("compilecached") is True, again.stop
    assert again.stdout == SPEC[lang]["example_output"], again.stdout
    assert again.stderr == "", again.stderr
    assert_exited_ok(again, "cached example")


@pytest.mark.parametrize("lang", CACHE_CONCURRENT)
def test_compile_cache_concurrent_identical(results, lang):
    runs = [get_run(results, lang, f"concurrent{i}") for i in range(5)]
    for r in runs:
        assert_exited_ok(r, "concurrent identical submission")
        assert r.stdout == SPEC[lang]["example_output"], r.stdout
        assert r.stderr == "", r.stderr
    after = get_run(results, lang, "concurrent_after")
    assert after.stop.get("compilecached") is True, after.stop
    assert after.stdout == SPEC[lang]["example_output"], after.stdout
    assert_exited_ok(after, "run after the concurrent ones")


# --------------------------------------------------------------------------
# ranna's spec map as ranna's own clients read it
# --------------------------------------------------------------------------

# Every key of ranna's shipped spec.yaml (HEAD 833619b) and the runnel
# language it must resolve to; keys with no Debian 12 package are listed in
# docs/languages.md instead.
RANNA_KEYS = {
    "ash": "ash", "bash": "bash", "brainfuck": "brainfuck", "bun": "typescript", "c": "c",
    "cpp": "cpp", "deno": "typescript", "dotnet-script": "csharp", "elixir": "elixir",
    "golang": "go", "gotip": "go", "haskell": "haskell", "kotlin": "kotlin",
    "kotlin-script": "kotlin", "mono": "csharp", "node": "javascript", "ocaml": "ocaml",
    "openjdk-11": "java", "openjdk-17": "java", "pascal": "pascal", "php": "php",
    "python3": "python3", "racket-7-9": "racket", "racket-8-2": "racket", "ruby": "ruby",
    "rust": "rust",
    # ranna's aliases (use: ...)
    "sh": "sh", "c#": "csharp", "csharp": "csharp", "c++": "cpp", "csx": "csharp",
    "ts": "typescript", "typescript": "typescript", "fpc": "pascal", "go": "go",
    "java": "java", "javascript": "javascript", "js": "javascript", "nodejs": "javascript",
    "py": "python3", "python": "python3", "racket": "racket",
}
RANNA_MISSING = ["dart", "gleam", "goat", "zig"]


def ranna_resolve(spec_map, key):
    """ranna's SafeSpecMap.get: the entry, or one hop through "use"."""
    e = spec_map.get(key)
    if isinstance(e, dict) and "use" in e:
        e = spec_map.get(e["use"])
        if not isinstance(e, dict) or "use" in e:
            return None
    return e


def test_ranna_webapp_reads(lang_server):
    """The web app reads the raw body: it starts on the first key, offers the
    keys without "use" in its picker, and loads the chosen entry's example."""
    st, _, raw = lang_server.http("GET", "/v1/spec")
    assert st == 200
    spec_map = json.loads(raw)  # keys in body order, as JSON.parse gives them
    keys = list(spec_map)
    first = spec_map[keys[0]]
    assert "use" not in first and first["example"], (keys[0], first)
    picker = [k for k in keys if "use" not in spec_map[k]]
    assert len(picker) >= 70, len(picker)
    for k in picker:
        assert spec_map[k]["example"], k
    # keys after the first come sorted (Go's map order), aliases included
    assert keys[1:] == sorted(keys[1:]), keys[:10]
    # ranna's canonical names are picker entries, not aliases
    for k in ("golang", "node", "openjdk-17", "mono", "ash", "deno", "racket-8-2", "python3"):
        assert k in picker, k
    for k, lang in RANNA_KEYS.items():
        e = ranna_resolve(spec_map, k)
        assert e is not None and e["name"] == lang, (k, spec_map.get(k))
    for k in RANNA_MISSING:
        assert k not in spec_map, k
    doc = (SPECS.parent / "docs" / "languages.md").read_text()
    for k in RANNA_MISSING:
        assert f"| ranna | {k} |" in doc, k


def test_info_names_and_versions(lang_server):
    st, _, info = lang_server.http_json("GET", "/v1/info")
    assert st == 200, info
    assert info["languages_available"] >= 70, info["languages_available"]
    assert info["versions_pending"] is False, info
    by = {x["name"]: x for x in info["languages"]}
    assert by["python3"]["names"]["piston"]["language"] == "python"
    assert {"id": 71, "name": "Python (3.8.1)"} in by["python3"]["names"]["judge0"]
    assert by["python3"]["names"]["jobe"] == "python3"
    assert by["java"]["names"]["ranna"] == ["openjdk-17", "openjdk-11"]
    assert by["octave"]["names"]["jobe"] == "octave"
    for name, x in by.items():
        assert x["available"] is True and x["version"], (name, x)
