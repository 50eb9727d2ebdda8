"""The ranna WebSocket envelope at /v1/ws, driven through a real client.

Wire shapes are ranna's (see ../shared/reference/ranna.md): events
{code, nonce?, data}; PONG 0, ERROR 1, SPAWN 2, LOG 3, STOP 4; runnel's
extensions: STOP extras, args.stdin, op 3 INPUT.
"""

import asyncio
import json
import secrets
import socket
import time

import pytest
import websockets

from conftest import (ERROR, LOG, PONG, SPAWN, STOP, Run, arun, marker, pids_with,
                      async_wait_until, vm_rss_bytes)


# --------------------------------------------------------------------------
# PING and nonces
# --------------------------------------------------------------------------

def test_ping_with_nonce(server):
    async def main():
        ws = await server.ws()
        assert await ws.ping(7) == {"code": PONG, "nonce": 7, "data": "Pong!"}
        assert json.loads(ws.raw[-1]) == {"code": 0, "nonce": 7, "data": "Pong!"}
        await ws.close()
    arun(main())


def test_ping_without_nonce(server):
    async def main():
        ws = await server.ws()
        ev = await ws.ping(None)
        assert ev == {"code": PONG, "data": "Pong!"}, "absent nonce must be omitted"
        await ws.close()
    arun(main())


def test_ping_nonce_zero_is_omitted(server):
    async def main():
        ws = await server.ws()
        ev = await ws.ping(0)
        assert ev == {"code": PONG, "data": "Pong!"}, "nonce 0 must be omitted, as ranna"
        await ws.close()
    arun(main())


@pytest.mark.parametrize("nonce", [-5, 1, 9999, 2**31, 2**53 - 1])
def test_ping_nonce_values_echoed(server, nonce):
    async def main():
        ws = await server.ws()
        assert await ws.ping(nonce) == {"code": PONG, "nonce": nonce, "data": "Pong!"}
        await ws.close()
    arun(main())


def test_event_key_order(server):
    """ranna (Go's encoder) writes code, nonce, data; runid first in data."""
    async def main():
        ws = await server.ws()
        await ws.ping(3)
        r = await ws.run("echo hi; echo ho >&2", nonce=5)
        r.check_sequence()
        for frame in ws.raw:
            ev = json.loads(frame, object_pairs_hook=lambda kv: kv)
            keys = [k for k, _ in ev]
            assert keys in (["code", "nonce", "data"], ["code", "data"]), frame
            data = dict(ev)["data"]
            if isinstance(data, list) and any(k == "runid" for k, _ in data):
                assert data[0][0] == "runid", frame
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# EXEC basics
# --------------------------------------------------------------------------

def test_exec_hello(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("echo hello", nonce=123)
        r.check_sequence()
        assert r.stdout == "hello\n"
        assert r.stderr == ""
        assert r.stop["reason"] == "exited"
        assert r.stop["exitcode"] == 0
        assert r.stop["signal"] == 0
        assert 0 <= r.stop["exectimems"] < 10000
        await ws.close()
    arun(main())


def test_exec_python3_and_aliases(server):
    async def main():
        ws = await server.ws()
        for i, lang in enumerate(["python3", "py", "python"]):
            r = await ws.run("print('hi from', 6 * 7)", language=lang, nonce=10 + i)
            r.check_sequence()
            assert (r.stdout, r.stderr, r.stop["reason"], r.stop["exitcode"]) == \
                ("hi from 42\n", "", "exited", 0), (lang, r)
        await ws.close()
    arun(main())


def test_exit_code_reported(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("echo before; exit 3")
        r.check_sequence()
        assert r.stdout == "before\n"
        assert (r.stop["reason"], r.stop["exitcode"], r.stop["signal"]) == ("exited", 3, 0)
        await ws.close()
    arun(main())


def test_signal_reported(server):
    """A program that dies of a signal: reason signaled and the signal number."""
    async def main():
        ws = await server.ws()
        r = await ws.run("import ctypes, sys\nprint('x', flush=True)\nctypes.string_at(0)\n",
                         language="python3")
        r.check_sequence()
        assert r.stdout == "x\n"
        assert (r.stop["reason"], r.stop["signal"]) == ("signaled", 11), r.stop
        await ws.close()
    arun(main())


def test_program_can_kill_itself(server):
    """`kill -KILL $$` ends a bash program as it does anywhere else (a run's
    own process must not be immune to its own signals)."""
    async def main():
        ws = await server.ws()
        r = await ws.run("echo x; kill -KILL $$; echo survived")
        r.check_sequence()
        assert r.stdout == "x\n", r
        assert (r.stop["reason"], r.stop["signal"]) == ("signaled", 9), r.stop
        await ws.close()
    arun(main())


def test_streaming_log_per_line(server):
    """A program that sleeps between lines: LOGs arrive spread over time."""
    async def main():
        ws = await server.ws()
        r = await ws.run('for i in 1 2 3 4 5; do echo "line $i"; sleep 0.4; done', nonce=9)
        r.check_sequence()
        assert r.stdout == "".join(f"line {i}\n" for i in range(1, 6))
        times = [t for t, _ in r.logs()]
        assert len(times) >= 5, f"expected a LOG per line, got {[e for _, e in r.logs()]!r}"
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert sum(g >= 0.25 for g in gaps) >= 4, f"LOGs bunched: gaps {gaps}"
        stop_t = r.events[-1][0]
        assert stop_t - times[0] >= 1.4, "first LOG arrived too close to STOP (buffered?)"
        await ws.close()
    arun(main())


def test_streaming_python_flush(server):
    async def main():
        ws = await server.ws()
        code = ("import time\n"
                "for i in range(4):\n"
                "    print('tick', i, flush=True)\n"
                "    time.sleep(0.4)\n")
        r = await ws.run(code, language="python3", nonce=9)
        r.check_sequence()
        assert r.stdout == "".join(f"tick {i}\n" for i in range(4))
        times = [t for t, _ in r.logs()]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert sum(g >= 0.25 for g in gaps) >= 3, f"LOGs bunched: gaps {gaps}"
        await ws.close()
    arun(main())


def test_stdout_stderr_separated(server):
    async def main():
        ws = await server.ws()
        code = ("echo out1; echo err1 >&2; sleep 0.1; echo out2; echo err2 >&2; "
                "sleep 0.1; printf 'out3'; printf 'err3' >&2")
        r = await ws.run(code, nonce=4)
        r.check_sequence()
        assert r.stdout == "out1\nout2\nout3"
        assert r.stderr == "err1\nerr2\nerr3"
        for _, e in r.logs():
            d = e["data"]
            if "stdout" in d:
                assert "err" not in d["stdout"], e
            else:
                assert "out" not in d["stderr"], e
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# bytes: UTF-8 and what is sent for bytes that are not UTF-8
# --------------------------------------------------------------------------

def py_write(data, stream="stdout"):
    """python3 source that writes exactly these bytes."""
    return f"import sys\nsys.{stream}.buffer.write({data!r})\nsys.{stream}.flush()\n"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_utf8_round_trip(server, stream):
    text = "héllo 👋 世界 中文 ∑ Ωμέγα 🇩🇪 \u2028 end\n" * 3
    async def main():
        ws = await server.ws()
        r = await ws.run(py_write(text.encode(), stream), language="python3")
        r.check_sequence()
        assert getattr(r, stream) == text
        assert getattr(r, "stderr" if stream == "stdout" else "stdout") == ""
        await ws.close()
    arun(main())


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_utf8_split_across_reads_not_broken(server, stream):
    """A multi-byte character split across two writes (two pipe reads) is
    delivered whole: the server holds back an incomplete tail."""
    code = (
        "import sys, time\n"
        f"o = sys.{stream}.buffer\n"
        "b = '👋世é'.encode()\n"        # 4 + 3 + 2 bytes
        "for part in (b[:2], b[2:5], b[5:8], b[8:] + b'\\n'):\n"
        "    o.write(part); o.flush(); time.sleep(0.25)\n")
    async def main():
        ws = await server.ws()
        r = await ws.run(code, language="python3")
        r.check_sequence()
        chunks = [e["data"][stream] for _, e in r.logs()]
        assert getattr(r, stream) == "👋世é\n", chunks
        assert all("\ufffd" not in c for c in chunks), chunks
        await ws.close()
    arun(main())


INVALID_UTF8 = [
    # (bytes written, string expected: every invalid byte -> U+FFFD, as Go)
    pytest.param(b"a\xffb\xfe\n", "a\ufffdb\ufffd\n", id="ff-fe"),
    pytest.param(b"x\xc3(y\n", "x\ufffd(y\n", id="bad-continuation"),
    pytest.param(b"p\x80\x80q\n", "p\ufffd\ufffdq\n", id="lone-continuations"),
    pytest.param(b"t\xe2\x82x\n", "t\ufffd\ufffdx\n", id="truncated-3byte"),
    pytest.param(b"s\xed\xa0\x80s\n", "s\ufffd\ufffd\ufffds\n", id="surrogate"),
    pytest.param(b"o\xc0\xafo\n", "o\ufffd\ufffdo\n", id="overlong"),
    pytest.param(b"h\xf4\x90\x80\x80h\n", "h\ufffd\ufffd\ufffd\ufffdh\n", id="above-10ffff"),
    pytest.param(b"end\xe2\x82", "end\ufffd\ufffd", id="truncated-at-eof"),
    pytest.param(b"ok \xf0\x9f\x91\x8b \xff\n", "ok \U0001F44B \ufffd\n", id="mixed"),
]


@pytest.mark.parametrize("data,expected", INVALID_UTF8)
def test_invalid_utf8_becomes_replacement_char(server, data, expected):
    async def main():
        ws = await server.ws()
        r = await ws.run(py_write(data), language="python3")
        r.check_sequence()
        assert r.stdout == expected, f"wrote {data!r}"
        assert r.stop["reason"] == "exited"
        await ws.close()
    arun(main())


def test_control_characters_round_trip(server):
    data = bytes(range(1, 32)) + b'\x7f "quoted" back\\slash <a>&amp; /\n'
    async def main():
        ws = await server.ws()
        r = await ws.run(py_write(data), language="python3")
        r.check_sequence()
        assert r.stdout == data.decode()
        await ws.close()
    arun(main())


def test_nul_byte_round_trip(server):
    data = b"before\x00after\x00\n"
    async def main():
        ws = await server.ws()
        r = await ws.run(py_write(data), language="python3")
        r.check_sequence()
        assert r.stdout == data.decode(), "NUL bytes must survive (\\u0000 in JSON)"
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# nonce echo
# --------------------------------------------------------------------------

def test_nonce_echoed_on_every_event(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("for i in 1 2 3; do echo o$i; echo e$i >&2; sleep 0.05; done",
                         nonce=4242)
        r.check_sequence()   # checks nonce 4242 on SPAWN, each LOG, STOP
        assert len(r.logs()) >= 2
        assert all(e["nonce"] == 4242 for _, e in r.events)
        assert r.stdout == "o1\no2\no3\n" and r.stderr == "e1\ne2\ne3\n"
        await ws.close()
    arun(main())


@pytest.mark.parametrize("nonce", [None, 0])
def test_exec_without_nonce_has_no_nonce_key(server, nonce):
    async def main():
        ws = await server.ws()
        r = await ws.run("echo a; echo b >&2", nonce=nonce)
        r.check_sequence()   # checks no "nonce" key on any event
        for frame in ws.raw:
            if '"Pong!"' not in frame:
                assert "nonce" not in json.loads(frame), frame
        assert r.stdout == "a\n" and r.stderr == "b\n"
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# concurrency on one connection
# --------------------------------------------------------------------------

def test_concurrent_execs_interleave(server_factory):
    srv = server_factory(concurrency=3, per_connection=4)
    async def main():
        ws = await srv.ws()
        nonces = [11, 22, 33]
        runs = {n: Run(n) for n in nonces}
        for n in nonces:
            await ws.exec(f'for i in 1 2 3 4; do echo "n{n} $i"; echo "e{n} $i" >&2; '
                          f'sleep 0.3; done', nonce=n)
        stray = await ws.collect(runs, timeout=20)
        assert not stray, stray
        for n, r in runs.items():
            r.check_sequence()
            assert r.stdout == "".join(f"n{n} {i}\n" for i in range(1, 5)), r
            assert r.stderr == "".join(f"e{n} {i}\n" for i in range(1, 5)), r
            assert r.stop["reason"] == "exited"
        assert len({r.runid for r in runs.values()}) == 3, "runids must differ"
        # they really ran at once: each pair's LOG time spans overlap
        spans = {n: (r.logs()[0][0], r.logs()[-1][0]) for n, r in runs.items()}
        for a in nonces:
            for b in nonces:
                if a < b:
                    assert spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1], \
                        f"runs {a} and {b} did not interleave: {spans}"
        await ws.assert_alive()
        await ws.close()
    arun(main())


def test_runids_unique_and_hex(server):
    async def main():
        ws = await server.ws()
        ids = set()
        for i in range(6):
            r = await ws.run("true", nonce=i + 1, check_after=False)
            r.check_sequence()
            ids.add(r.runid)
        assert len(ids) == 6
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# KILL
# --------------------------------------------------------------------------

async def start_sleeper(ws, nonce, extra=""):
    """EXEC a program that prints 'ready' then sleeps; returns its Run once
    'ready' arrived."""
    r = Run(nonce)
    await ws.exec(f"echo ready; {extra}sleep 30", nonce=nonce)
    runs = {nonce: r}
    await ws.collect(runs, timeout=10,
                     until=lambda ev: ev["code"] == LOG and ev["data"].get("stdout") == "ready\n")
    assert r.runid and r.stdout == "ready\n" and not r.done, r
    return r


@pytest.mark.parametrize("kill_nonce", [9, None])
def test_kill(server, kill_nonce):
    async def main():
        ws = await server.ws()
        r = await start_sleeper(ws, 5)
        t0 = time.monotonic()
        await ws.kill(r.runid, nonce=kill_nonce)
        # the KILL itself sends nothing; the run's STOP follows
        ev = await ws.recv_event(5)
        assert ev["code"] == STOP and ev.get("nonce") == 5, \
            f"expected the run's STOP right after KILL, got {ev!r}"
        assert ev["data"]["runid"] == r.runid
        assert ev["data"]["reason"] == "killed", ev
        assert time.monotonic() - t0 < 3
        assert ev["data"]["exectimems"] < 10000
        await ws.assert_alive()
        await ws.close()
    arun(main())


def test_kill_unknown_runid(server):
    async def main():
        ws = await server.ws()
        await ws.kill(secrets.token_hex(32), nonce=8)
        ev = await ws.recv_event(5)
        assert ev == {"code": ERROR, "nonce": 8,
                      "data": {"code": 400, "message": "sandbox is not running"}}
        await ws.kill("not-a-runid", nonce=None)
        ev = await ws.recv_event(5)
        assert ev == {"code": ERROR,
                      "data": {"code": 400, "message": "sandbox is not running"}}
        await ws.assert_alive()
        await ws.close()
    arun(main())


def test_kill_finished_run(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("echo done", nonce=3)
        r.check_sequence()
        await ws.kill(r.runid, nonce=4)
        ev = await ws.recv_event(5)
        assert ev == {"code": ERROR, "nonce": 4,
                      "data": {"code": 400, "message": "sandbox is not running"}}
        await ws.close()
    arun(main())


def test_kill_from_other_connection_refused(server):
    async def main():
        a = await server.ws()
        b = await server.ws()
        r = await start_sleeper(a, 5)
        await b.kill(r.runid, nonce=6)
        ev = await b.recv_event(5)
        assert ev == {"code": ERROR, "nonce": 6,
                      "data": {"code": 400, "message": "sandbox is not running"}}, \
            "another connection's runid must look exactly like an unknown one"
        await b.assert_alive()
        # the run is untouched: a's own KILL still finds it running
        await a.assert_alive()
        await a.kill(r.runid)
        ev = await a.recv_event(5)
        assert ev["code"] == STOP and ev["data"]["reason"] == "killed", ev
        await a.close()
        await b.close()
    arun(main())


def test_disconnect_kills_run(server):
    mark = marker()
    async def main():
        ws = await server.ws()
        await start_sleeper(ws, 5, extra=f"exec -a {mark} ")
        # the exec happens right after 'ready'; wait for the process to show
        assert await async_wait_until(lambda: pids_with(mark), 3), \
            "the sleeping program never appeared in /proc"
        await ws.close()
        ok = await async_wait_until(lambda: not pids_with(mark), 3)
        assert ok, f"program still alive 3 s after disconnect: pids {pids_with(mark)}"
    arun(main())
    # the server is fine afterwards
    async def after():
        ws = await server.ws()
        r = await ws.run("echo still here")
        assert r.stdout == "still here\n"
        await ws.close()
    arun(after())


def test_disconnect_frees_queued_runs(server_factory):
    """Runs still waiting in the queue die with their connection too: the
    slot and queue places they held are free for others at once."""
    srv = server_factory(concurrency=1, queue=2, per_connection=4)
    async def main():
        a = await srv.ws()
        await start_sleeper(a, 1)
        await a.exec("sleep 30", nonce=2)
        await a.exec("sleep 30", nonce=3)
        runs = {1: Run(1), 2: Run(2), 3: Run(3)}
        await a.sync(runs, nonce=99)
        assert all(r.error is None for r in runs.values()), runs
        await a.close()
        b = await srv.ws()
        t0 = time.monotonic()
        r = await b.run("echo next", nonce=5, timeout=10)
        r.check_sequence()
        assert r.stdout == "next\n"
        assert time.monotonic() - t0 < 3, "the dead connection's queued runs held the slot"
        await b.close()
    arun(main())


def test_abrupt_disconnect_kills_run(server):
    """TCP reset without a close handshake."""
    mark = marker()
    async def main():
        ws = await server.ws()
        await start_sleeper(ws, 5, extra=f"exec -a {mark} ")
        assert await async_wait_until(lambda: pids_with(mark), 3)
        sock = ws.conn.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        ws.conn.transport.abort()
        ok = await async_wait_until(lambda: not pids_with(mark), 3)
        assert ok, f"program still alive 3 s after reset: pids {pids_with(mark)}"
    arun(main())


# --------------------------------------------------------------------------
# limits
# --------------------------------------------------------------------------

def test_timeout(server_factory):
    srv = server_factory(wall_ms=1500)
    async def main():
        ws = await srv.ws()
        t0 = time.monotonic()
        r = await ws.run("echo start; sleep 30", nonce=2, timeout=10)
        r.check_sequence()
        assert r.stdout == "start\n"
        assert r.stop["reason"] == "timeout", r.stop
        assert 1400 <= r.stop["exectimems"] <= 4000, r.stop
        assert time.monotonic() - t0 < 5
        await ws.close()
    arun(main())


def test_cpu_limit(server_factory):
    srv = server_factory(wall_ms=8000, cpu_ms=1000)
    async def main():
        ws = await srv.ws()
        r = await ws.run("while True: pass", language="python3", nonce=2, timeout=12)
        r.check_sequence()
        assert r.stop["reason"] == "cpu_limit", r.stop
        assert r.stop["cputimems"] >= 900, r.stop
        await ws.close()
    arun(main())


def test_output_limit(server_factory):
    limit = 65536
    srv = server_factory(output_bytes=limit)
    async def main():
        ws = await srv.ws()
        r = await ws.run("yes", nonce=2, timeout=10)
        r.check_sequence()
        assert r.stop["reason"] == "output_limit", r.stop
        out = r.stdout.encode()
        assert 0 < len(out) <= limit, len(out)
        assert out == (b"y\n" * (len(out) // 2 + 1))[:len(out)], "delivered output is not a prefix"
        await ws.close()
    arun(main())


def test_output_limit_counts_stderr(server_factory):
    limit = 65536
    srv = server_factory(output_bytes=limit)
    async def main():
        ws = await srv.ws()
        r = await ws.run("while :; do echo 0123456789abcdef; echo fedcba9876543210 >&2; done",
                         nonce=2, timeout=10)
        r.check_sequence()
        assert r.stop["reason"] == "output_limit", r.stop
        total = len(r.stdout.encode()) + len(r.stderr.encode())
        assert 0 < total <= limit, total
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# bad input: each gets its ERROR, and the connection still works after it
# --------------------------------------------------------------------------

def msg_prefix(p):
    return lambda m: m.startswith(p)


ANY = lambda m: True   # noqa: E731

BAD_INPUTS = [
    # (frame, HTTP-like code, nonce expected on the ERROR (None = absent), message check)
    pytest.param('{"op": 0, "nonce": ', 400, None, msg_prefix("invalid JSON"), id="invalid-json"),
    pytest.param('', 400, None, msg_prefix("invalid JSON"), id="empty-text"),
    pytest.param('[1, 2]', 400, None, ANY, id="array"),
    pytest.param('42', 400, None, ANY, id="number"),
    pytest.param('"op"', 400, None, ANY, id="string"),
    pytest.param('null', 400, None, ANY, id="null"),
    pytest.param('{"op": 99, "nonce": 3}', 400, 3, msg_prefix("invalid operation code"), id="unknown-op"),
    pytest.param('{"op": -1, "nonce": 3}', 400, 3, msg_prefix("invalid operation code"), id="negative-op"),
    pytest.param('{"op": "1", "nonce": 3, "args": {}}', 400, 3, ANY, id="op-string"),
    pytest.param('{"op": 1.5, "nonce": 3}', 400, 3, ANY, id="op-float"),
    pytest.param('{"op": 0, "nonce": "x"}', 400, None, ANY, id="nonce-string"),
    pytest.param('{"op": 0, "nonce": 1.5}', 400, None, ANY, id="nonce-float"),
    pytest.param('{"op": 1, "nonce": 3}', 400, 3, ANY, id="exec-no-args"),
    pytest.param('{"op": 1, "nonce": 3, "args": "echo"}', 400, 3, ANY, id="exec-args-string"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"code": "echo x"}}', 400, 3, ANY, id="exec-no-language"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": 5, "code": "echo x"}}', 400, 3, ANY,
                 id="exec-language-number"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash"}}', 400, 3, ANY, id="exec-no-code"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": ""}}', 400, 3,
                 msg_prefix("code is empty"), id="exec-empty-code"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": 7}}', 400, 3, ANY,
                 id="exec-code-number"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": "echo", "arguments": [1]}}',
                 400, 3, ANY, id="exec-arguments-not-strings"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": "echo", "arguments": "a"}}',
                 400, 3, ANY, id="exec-arguments-string"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": "echo", "environment": {"A": 1}}}',
                 400, 3, ANY, id="exec-environment-not-strings"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": "echo", "environment": ["A=1"]}}',
                 400, 3, ANY, id="exec-environment-array"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": "echo", "stdin": 5}}',
                 400, 3, ANY, id="exec-stdin-number"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": "echo", "inline_expression": "yes"}}',
                 400, 3, ANY, id="exec-inline-not-bool"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "bash", "code": "echo", "interactive": "yes"}}',
                 400, 3, ANY, id="exec-interactive-not-bool"),
    pytest.param('{"op": 3, "nonce": 3, "args": {"runid": "' + "ab" * 32 + '", "data": 5}}', 400, 3,
                 ANY, id="input-data-number"),
    pytest.param('{"op": 1, "nonce": 3, "args": {"language": "cobol-2077", "code": "echo"}}', 400, 3,
                 msg_prefix("unsupported language spec"), id="exec-unknown-language"),
    pytest.param('{"op": 2, "nonce": 3}', 400, 3, ANY, id="kill-no-args"),
    pytest.param('{"op": 2, "nonce": 3, "args": {}}', 400, 3, ANY, id="kill-no-runid"),
    pytest.param('{"op": 2, "nonce": 3, "args": {"runid": 12}}', 400, 3, ANY, id="kill-runid-number"),
    pytest.param('{"op": 3, "nonce": 3, "args": {"runid": "' + "ab" * 32 + '", "data": "x"}}', 400, 3,
                 ANY, id="input-unknown-runid"),
    pytest.param('{"op": 3, "nonce": 3, "args": {}}', 400, 3, ANY, id="input-no-runid"),
    pytest.param('[' * 5000 + ']' * 5000, 400, None, ANY, id="deep-nesting"),
]


@pytest.mark.parametrize("frame,code,nonce,check", BAD_INPUTS)
def test_bad_input_gets_error_and_connection_survives(server, frame, code, nonce, check):
    async def main():
        ws = await server.ws()
        await ws.send_raw(frame)
        ev = await ws.recv_event(5)
        assert ev["code"] == ERROR, f"sent {frame[:80]!r}, got {ev!r}"
        assert ev["data"]["code"] == code, f"sent {frame[:80]!r}, got {ev!r}"
        if nonce is None:
            assert "nonce" not in ev, f"sent {frame[:80]!r}, got {ev!r}"
        else:
            assert ev.get("nonce") == nonce, f"sent {frame[:80]!r}, got {ev!r}"
        assert check(ev["data"]["message"]), f"sent {frame[:80]!r}, message {ev['data']['message']!r}"
        await ws.assert_alive()
        r = await ws.run("echo ok", nonce=1)
        assert r.stdout == "ok\n"
        await ws.close()
    arun(main())


def test_unknown_language_message_says_how_to_list(server):
    async def main():
        ws = await server.ws()
        await ws.exec("echo", language="nope", nonce=2)
        ev = await ws.recv_event(5)
        assert ev["code"] == ERROR and ev["nonce"] == 2 and ev["data"]["code"] == 400, ev
        msg = ev["data"]["message"]
        assert msg.startswith("unsupported language spec"), msg
        assert len(msg) > len("unsupported language spec") and "spec" in msg[25:], \
            f"message should say how to get the list (e.g. GET /v1/spec): {msg!r}"
        await ws.close()
    arun(main())


def test_binary_frame_refused_not_processed(server):
    async def main():
        ws = await server.ws()
        await ws.send_raw(b'{"op": 0, "nonce": 5}')
        ev = await ws.recv_event(5)
        assert ev == {"code": ERROR, "data": {"code": 400, "message": "invalid message type"}}, ev
        # the binary payload must NOT have been processed: the next event is
        # the PONG for nonce 6, no PONG for nonce 5 in between
        await ws.assert_alive(nonce=6)
        await ws.send_raw(json.dumps({"op": 1, "nonce": 7, "args": {
            "language": "bash", "code": "echo should-not-run"}}).encode())
        ev = await ws.recv_event(5)
        assert ev == {"code": ERROR, "data": {"code": 400, "message": "invalid message type"}}, ev
        await ws.assert_alive(nonce=8)
        await ws.close()
    arun(main())


def test_code_over_limit(server_factory):
    srv = server_factory(code_bytes=1024)
    async def main():
        ws = await srv.ws()
        await ws.exec("echo " + "x" * 2000, nonce=4)
        ev = await ws.recv_event(5)
        assert ev["code"] == ERROR and ev.get("nonce") == 4 and ev["data"]["code"] == 413, ev
        await ws.assert_alive()
        # exactly at the limit is fine
        code = "echo " + "y" * (1024 - 6) + "\n"
        assert len(code.encode()) == 1024
        r = await ws.run(code, nonce=5)
        r.check_sequence()
        assert r.stdout == "y" * (1024 - 6) + "\n"
        await ws.close()
    arun(main())


def test_too_many_in_flight_on_connection(server_factory):
    srv = server_factory(per_connection=2, concurrency=2)
    async def main():
        ws = await srv.ws()
        a = await start_sleeper(ws, 1)
        b = await start_sleeper(ws, 2)
        await ws.exec("echo third", nonce=3)
        ev = await ws.recv_event(5)
        assert ev["code"] == ERROR and ev.get("nonce") == 3 and ev["data"]["code"] == 429, ev
        await ws.assert_alive()
        # the first two are unaffected; once one ends, a new EXEC is accepted
        await ws.kill(a.runid)
        runs = {1: a}
        await ws.collect(runs, timeout=5)
        assert a.stop["reason"] == "killed"
        r = await ws.run("echo fourth", nonce=4)
        r.check_sequence()
        assert r.stdout == "fourth\n"
        await ws.kill(b.runid)
        await ws.collect({2: b}, timeout=5)
        assert b.stop["reason"] == "killed"
        await ws.close()
    arun(main())


def test_queue_full(server_factory):
    srv = server_factory(concurrency=1, queue=1, per_connection=4)
    async def main():
        ws = await srv.ws()
        other = await srv.ws()
        a = await start_sleeper(ws, 1)            # runs (the only slot)
        await ws.exec("echo queued", nonce=2)      # waits in the queue
        runs = {1: a, 2: Run(2)}
        await ws.sync(runs, nonce=100)             # ... accepted by now
        assert runs[2].error is None, runs[2]
        # the queue is full: a third EXEC, from any connection, is refused
        await other.exec("echo refused", nonce=3)
        ev = await other.recv_event(5)
        assert ev["code"] == ERROR and ev.get("nonce") == 3 and ev["data"]["code"] == 429, ev
        await other.assert_alive()
        # freeing the slot lets the queued run go through, complete and correct
        await ws.kill(a.runid)
        stray = await ws.collect(runs, timeout=10)
        assert not stray, stray
        assert a.stop["reason"] == "killed"
        runs[2].check_sequence()
        assert runs[2].stdout == "queued\n"
        await ws.close()
        await other.close()
    arun(main())


def test_message_over_frame_limit_closes_1009(server_factory):
    srv = server_factory(message_bytes=4096)
    async def main():
        ws = await srv.ws()
        await ws.assert_alive()
        big = json.dumps({"op": 1, "nonce": 1, "args": {"language": "bash",
                                                         "code": "echo " + "z" * 8000}})
        code, frames = await ws.send_until_closed(big, 5)
        assert code == 1009, f"close code {code}, frames {frames!r}"
    arun(main())


def test_fragmented_message_over_limit_closes_1009(server_factory):
    srv = server_factory(message_bytes=4096)
    async def main():
        ws = await srv.ws()
        text = json.dumps({"op": 0, "nonce": 1, "pad": "p" * 9000})
        code, frames = await ws.send_until_closed(
            [text[i:i + 1000] for i in range(0, len(text), 1000)], 5)
        assert code == 1009, f"close code {code}, frames {frames!r}"
    arun(main())


def test_fragmented_message_reassembled(server_factory):
    srv = server_factory(message_bytes=4096)
    async def main():
        ws = await srv.ws()
        text = json.dumps({"op": 1, "nonce": 12, "args": {
            "language": "bash", "code": "echo " + "q" * 3000}})
        assert len(text) < 4096
        await ws.send_raw([text[i:i + 700] for i in range(0, len(text), 700)])
        r = Run(12)
        await ws.collect({12: r}, timeout=10)
        r.check_sequence()
        assert r.stdout == "q" * 3000 + "\n"
        await ws.close()
    arun(main())


def test_message_at_limit_accepted(server_factory):
    srv = server_factory(message_bytes=4096)
    async def main():
        ws = await srv.ws()
        base = json.dumps({"op": 0, "nonce": 1, "pad": ""})
        text = json.dumps({"op": 0, "nonce": 1, "pad": "p" * (4096 - len(base))})
        assert len(text) == 4096
        await ws.send_raw(text)
        ev = await ws.recv_event(5)
        assert ev == {"code": PONG, "nonce": 1, "data": "Pong!"}
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# extensions: arguments, environment, stdin, INPUT
# --------------------------------------------------------------------------

def test_arguments_and_environment(server):
    async def main():
        ws = await server.ws()
        r = await ws.run('printf "%s|" "$@"; echo; echo "$FOO/$EMPTY/"',
                         arguments=["a", "b c", "", "$HOME"],
                         environment={"FOO": "bar baz", "EMPTY": ""})
        r.check_sequence()
        assert r.stdout == "a|b c||$HOME|\nbar baz//\n"
        await ws.close()
    arun(main())


def test_stdin_argument(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("cat; echo '<eof>'", stdin="hello\nwörld 👋\n")
        r.check_sequence()
        assert r.stdout == "hello\nwörld 👋\n<eof>\n"
        r = await ws.run("import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))",
                         language="python3", nonce=8, stdin="1 2 3\n4\n")
        r.check_sequence()
        assert r.stdout == "10\n"
        await ws.close()
    arun(main())


def test_input_op_and_eof(server):
    """op 3 INPUT writes to a running program's stdin; eof:true closes it."""
    async def main():
        ws = await server.ws()
        code = ("import sys\n"
                "print('ready', flush=True)\n"
                "for line in sys.stdin:\n"
                "    print('got', line.strip(), flush=True)\n"
                "print('eof', flush=True)\n")
        r = Run(20)
        runs = {20: r}

        async def step(want):
            stray = await ws.collect(runs, 5, until=lambda e: want in r.stdout)
            assert not stray, f"unexpected events (INPUT sends none on success): {stray!r}"
            assert want in r.stdout, f"program output {r.stdout!r}, waiting for {want!r}: {r!r}"

        await ws.exec(code, language="python3", nonce=20, interactive=True)
        await step("ready\n")
        assert r.runid and not r.done, f"program ended before any INPUT: {r!r}"
        await ws.send({"op": 3, "args": {"runid": r.runid, "data": "alpha\n"}})
        await step("got alpha\n")
        await ws.send({"op": 3, "nonce": 21, "args": {"runid": r.runid, "data": "bêta\n"}})
        await step("got bêta\n")
        assert not r.done, r
        await ws.send({"op": 3, "args": {"runid": r.runid, "eof": True}})
        stray = await ws.collect(runs, 5)
        assert not stray, f"unexpected events: {stray!r}"
        r.check_sequence()
        assert r.stdout == "ready\ngot alpha\ngot bêta\neof\n"
        assert r.stop["reason"] == "exited" and r.stop["exitcode"] == 0
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# c: compile stage
# --------------------------------------------------------------------------

def test_c_compile_error(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("int main(void) { return undefined_thing; }\n", language="c",
                         nonce=3, timeout=30)
        r.check_sequence()
        assert r.stop["reason"] == "compile_error", r.stop
        assert r.stop["exitcode"] != 0, r.stop
        assert r.stdout == ""
        assert "undefined_thing" in r.stderr and "error" in r.stderr, r.stderr
        await ws.close()
    arun(main())


def test_c_program_runs(server):
    async def main():
        ws = await server.ws()
        code = ('#include <stdio.h>\n'
                'int main(int argc, char **argv) {\n'
                '  printf("hello from c %d\\n", 6 * 7);\n'
                '  fprintf(stderr, "argc=%d\\n", argc);\n'
                '  return 5;\n}\n')
        r = await ws.run(code, language="c", nonce=3, timeout=30, arguments=["x", "y"])
        r.check_sequence()
        assert r.stdout == "hello from c 42\n"
        assert r.stderr == "argc=3\n"
        assert (r.stop["reason"], r.stop["exitcode"]) == ("exited", 5), r.stop
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# load: 50 connections x 4 programs
# --------------------------------------------------------------------------

FILL = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def expected_text(c, k):
    n = 14 + (c * 4 + k) % 51
    return "".join(f"c{c:02d} k{k} line {i:03d} {FILL}\n" for i in range(n))


def program(c, k):
    n = 14 + (c * 4 + k) % 51
    if k % 2 == 0:
        return ("bash", f'for ((i=0;i<{n};i++)); do printf "c%02d k%d line %03d %s\\n" '
                        f'{c} {k} $i {FILL}; done')
    return ("python3", f"for i in range({n}):\n"
                       f"    print('c%02d k%d line %03d %s' % ({c}, {k}, i, '{FILL}'))\n")


def test_50_connections_4_programs_each(server_factory):
    # the server's default concurrency and queue (no limits overridden)
    srv = server_factory(_use_config=False)

    async def client(c):
        ws = await srv.ws()
        for k in range(4):
            lang, code = program(c, k)
            r = await ws.run(code, language=lang, nonce=1000 * (c + 1) + k, timeout=100,
                             check_after=False)
            r.check_sequence()
            exp = expected_text(c, k)
            assert 1024 <= len(exp) <= 5 * 1024
            assert r.stdout == exp, f"conn {c} prog {k}: got {len(r.stdout)} bytes"
            assert r.stderr == "" and r.stop["reason"] == "exited" and r.stop["exitcode"] == 0, r
        await ws.assert_alive()
        await ws.close()
        return c

    async def main():
        done = await asyncio.gather(*(client(c) for c in range(50)))
        assert sorted(done) == list(range(50))

    arun(main(), timeout=150)


# --------------------------------------------------------------------------
# backpressure
# --------------------------------------------------------------------------

def slow_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


def test_slow_reader_bounded_rss(server_factory):
    mib = 1 << 20
    srv = server_factory(output_bytes=64 * mib, wall_ms=60000, cpu_ms=60000,
                         idle_client_ms=30000)
    block = "0123456789abcdef" * 65536   # 1 MiB
    code = ("import sys\n"
            "b = b'0123456789abcdef' * 65536\n"
            "for _ in range(50):\n"
            "    sys.stdout.buffer.write(b)\n"
            "sys.stdout.flush()\n")

    async def main():
        ws = await srv.ws(sock=slow_socket(srv.port), max_queue=1, read_limit=65536)
        await ws.assert_alive()
        base = vm_rss_bytes(srv.pid)
        peak = base
        await ws.exec(code, language="python3", nonce=1)
        t_end = time.monotonic() + 5   # do not read for 5 s
        while time.monotonic() < t_end:
            peak = max(peak, vm_rss_bytes(srv.pid))
            await asyncio.sleep(0.1)
        r = Run(1)
        runs = {1: r}
        n = 0
        while not r.done:
            await ws.collect(runs, timeout=60, until=lambda e: True)
            n += 1
            if n % 20 == 0:
                peak = max(peak, vm_rss_bytes(srv.pid))
        peak = max(peak, vm_rss_bytes(srv.pid))
        r.check_sequence()
        assert r.stop["reason"] == "exited", r.stop
        out = r.stdout
        assert len(out) == 50 * mib, len(out)
        assert out == block * 50
        growth = peak - base
        assert growth < 64 * mib, f"server RSS grew by {growth / mib:.1f} MiB (base {base / mib:.1f})"
        # the program was held back while the client did not read
        assert r.stop["exectimems"] >= 4500, \
            f"run finished in {r.stop['exectimems']} ms: output was buffered, not back-pressured"
        await ws.close()

    arun(main(), timeout=120)


def test_client_not_reading_is_disconnected(server_factory):
    """A client that stops reading for longer than idle_client_ms is dropped
    and its run is killed."""
    srv = server_factory(output_bytes=64 << 20, wall_ms=30000, cpu_ms=30000,
                         idle_client_ms=2000)
    mark = marker()
    code = f"exec -a {mark} yes {'x' * 4000}"

    async def main():
        ws = await srv.ws(sock=slow_socket(srv.port), max_queue=1, read_limit=65536)
        await ws.exec(code, nonce=1)
        assert await async_wait_until(lambda: pids_with(mark), 5), "program never started"
        await asyncio.sleep(4.5)   # the client stalls (this is the behaviour under test)
        frames = 0
        deadline = time.monotonic() + 10
        closed = False
        while time.monotonic() < deadline:
            try:
                frame = await asyncio.wait_for(ws.conn.recv(), deadline - time.monotonic())
            except asyncio.TimeoutError:
                break
            except websockets.ConnectionClosed:
                closed = True
                break
            frames += 1
            ev = json.loads(frame)
            assert ev["code"] != STOP, f"run ended with {ev!r} instead of a disconnect"
        assert closed, f"still connected 10 s after a 4.5 s stall ({frames} frames read)"
        assert await async_wait_until(lambda: not pids_with(mark), 3), \
            "the stalled client's run is still alive"
    arun(main(), timeout=60)


def test_stdin_is_eof_unless_interactive(server):
    """Without args.interactive a program reading stdin gets EOF at once (as in
    ranna), and an INPUT op for it is refused."""
    async def main():
        ws = await server.ws()
        t0 = time.monotonic()
        r = await ws.run("import sys\ndata = sys.stdin.read()\nprint(repr(data))",
                         language="python3", nonce=4)
        r.check_sequence()
        assert r.stdout == "''\n"
        assert time.monotonic() - t0 < 5
        await ws.close()
    arun(main())


def test_input_refused_for_non_interactive_run(server):
    """INPUT to a run started without interactive:true gets a 400 ERROR with
    its nonce; the run itself still sees EOF and ends normally."""
    async def main():
        ws = await server.ws()
        r = Run(4)
        runs = {4: r}
        await ws.exec("echo ready; sleep 0.5; read x; echo got=$x", nonce=4)
        await ws.collect(runs, 5, until=lambda e: e["code"] == LOG)
        assert r.stdout == "ready\n" and not r.done, r
        await ws.send({"op": 3, "nonce": 5, "args": {"runid": r.runid, "data": "hi\n"}})
        stray = await ws.collect(runs, 5)
        assert len(stray) == 1, stray
        ev = stray[0]
        assert ev["code"] == ERROR and ev.get("nonce") == 5 and ev["data"]["code"] == 400, ev
        r.check_sequence()
        assert r.stdout == "ready\ngot=\n", r
        await ws.close()
    arun(main())


def test_stdio_opened_by_path(server):
    """/dev/stdin, /dev/stdout and /dev/stderr open like they do outside."""
    async def main():
        ws = await server.ws()
        r = await ws.run("cat /dev/stdin; echo out > /dev/stdout; echo err > /dev/stderr",
                         nonce=5, stdin="fed\n")
        r.check_sequence()
        assert (r.stdout, r.stderr) == ("fed\nout\n", "err\n"), r
        assert r.stop["exitcode"] == 0
        await ws.close()
    arun(main())
