"""Operations: /metrics parsed as Prometheus text, SIGHUP reload (and a
refused broken reload), bearer-token auth, Origin checks, per-address limits,
configuration errors at start-up."""

import asyncio
import json
import re
import signal
import subprocess
import time

import pytest
import websockets

from conftest import RUNNEYD, arun, wait_until, LOG, STOP

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (-?[0-9.eE+]+|\+Inf|NaN)$')


def parse_metrics(text):
    """Prometheus text format: every sample line well-formed, TYPE before
    samples, one TYPE per family. Returns {(name, labels): value}, types."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in types, f"TYPE twice for {name}"
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, f"malformed sample line: {line!r}"
        name, labels, value = m.group(1), m.group(3) or "", float(m.group(5))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, f"sample before its TYPE: {line!r}"
        samples[(name, labels)] = value
    return samples, types


def test_metrics_parse_and_count(server):
    async def main():
        ws = await server.ws()
        r = await ws.run("echo hi")
        assert r.stop["reason"] == "exited"
        await ws.close()
    arun(main())
    st, hdrs, body = server.http("GET", "/metrics")
    assert st == 200
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4")
    samples, types = parse_metrics(body.decode())
    assert types["runnel_runs_finished_total"] == "counter"
    assert types["runnel_run_duration_ms"] == "histogram"
    assert types["runnel_runs_in_flight"] == "gauge"
    assert samples[("runnel_runs_finished_total", 'language="bash",reason="exited"')] == 1
    assert samples[("runnel_runs_started_total", 'language="bash"')] == 1
    assert samples[("runnel_output_bytes_total", "")] == 3
    assert samples[("runnel_connections", 'envelope="ranna"')] == 0
    assert samples[("runnel_connections_total", 'envelope="ranna"')] == 1
    assert samples[("runnel_queue_length", "")] == 0
    buckets = [(k[1], v) for k, v in samples.items() if k[0] == "runnel_run_duration_ms_bucket"]
    vals = [v for _, v in buckets]
    assert vals == sorted(vals) and vals[-1] == 1, buckets
    assert samples[("runnel_run_duration_ms_count", 'language="bash"')] == 1


def test_sighup_reload_keeps_runs_and_refuses_broken_config(server_factory):
    srv = server_factory(wall_ms=10000)

    async def main():
        ws = await srv.ws()
        await ws.exec("sleep 2; echo done", nonce=1)
        ev = await ws.recv_event()
        assert ev["code"] == 2
        cfg = dict(srv.config)
        cfg["limits"] = dict(cfg["limits"], wall_ms=1000)
        srv.config_path.write_text(json.dumps(cfg))
        srv.proc.send_signal(signal.SIGHUP)
        assert await asyncio.to_thread(
            wait_until, lambda: "event=config.reloaded" in srv.log_text(), 5), srv.log_tail()
        # the run started before the reload keeps its 10 s limit
        out, stop = "", None
        while stop is None:
            ev = await ws.recv_event(10)
            if ev["code"] == LOG:
                out += ev["data"].get("stdout", "")
            elif ev["code"] == STOP:
                stop = ev["data"]
        assert (out, stop["reason"]) == ("done\n", "exited"), stop
        # a new run gets the reloaded 1 s limit
        r = await ws.run("sleep 3", nonce=2, timeout=10)
        assert r.stop["reason"] == "timeout", r.stop
        # a broken file is refused and the running configuration kept
        srv.config_path.write_text('{"limits": {"wall_ms": "soon"}}')
        srv.proc.send_signal(signal.SIGHUP)
        assert await asyncio.to_thread(
            wait_until, lambda: "event=config.reload_refused" in srv.log_text(), 5), srv.log_tail()
        assert "limits.wall_ms" in srv.log_text()
        r = await ws.run("sleep 3", nonce=3, timeout=10)
        assert r.stop["reason"] == "timeout", r.stop
        assert srv.alive()
        await ws.close()
    arun(main())


def test_bearer_tokens(server_factory):
    srv = server_factory(_config={"auth": {"tokens": ["s3cret", "other"]}})
    st, hdrs, body = srv.http("GET", "/v1/info")
    assert st == 401 and json.loads(body) == {"error": "unauthorized", "code": 401}
    assert hdrs["www-authenticate"].startswith("Bearer")
    assert srv.http("GET", "/v1/info", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert srv.http("GET", "/v1/info", headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert srv.http("GET", "/v1/info", headers={"Authorization": "basic other"})[0] == 200
    assert srv.http("GET", "/v1/info?token=s3cret")[0] == 200
    assert srv.http("GET", "/healthz")[0] == 200

    async def main():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(srv.ws_url)
        assert e.value.status_code == 401
        async with websockets.connect(srv.ws_url,
                                      extra_headers={"Authorization": "Bearer s3cret"}) as ws:
            await ws.send(json.dumps({"op": 0, "nonce": 1}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == \
                {"code": 0, "nonce": 1, "data": "Pong!"}
        async with websockets.connect(srv.ws_url + "?token=other") as ws:
            await ws.send(json.dumps({"op": 0}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["code"] == 0
    arun(main())


def test_origin_check(server_factory):
    srv = server_factory(_config={"security": {"origins": ["https://play.example"]}})

    async def main():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(srv.ws_url, origin="https://evil.example")
        assert e.value.status_code == 403
        for origin in ("https://play.example", f"http://127.0.0.1:{srv.port}", None):
            async with websockets.connect(srv.ws_url, origin=origin) as ws:
                await ws.send(json.dumps({"op": 0}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["code"] == 0
    arun(main())


def test_connections_per_ip(server_factory):
    srv = server_factory(connections_per_ip=2)

    async def main():
        a = await websockets.connect(srv.ws_url)
        b = await websockets.connect(srv.ws_url)
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(srv.ws_url)
        assert e.value.status_code == 429
        await a.close()
        assert await asyncio.to_thread(
            wait_until, lambda: "event=conn.close" in srv.log_text(), 5)
        c = await websockets.connect(srv.ws_url)
        await c.close()
        await b.close()
    arun(main())


def test_runs_per_minute_per_ip(server_factory):
    srv = server_factory(runs_per_minute_per_ip=2)

    async def main():
        ws = await srv.ws()
        for n in (1, 2):
            r = await ws.run("echo ok", nonce=n)
            assert r.stdout == "ok\n"
        await ws.exec("echo no", nonce=3)
        ev = await ws.recv_event()
        assert ev["code"] == 1 and ev["nonce"] == 3, ev
        assert ev["data"]["code"] == 429
        assert ev["data"]["message"].startswith("you have been rate limited"), ev
        await ws.close()
    arun(main())
    st, _, body = srv.http_json("POST", "/v1/exec", {"language": "bash", "code": "echo x"})
    assert (st, body["code"]) == (429, 429), body


@pytest.mark.parametrize("text,message", [
    ('{\n  "limits": {\n    "wal_ms": 5\n  }\n}', ":3: unknown key 'limits.wal_ms'"),
    ('{\n  "listen": 8080\n}', ":2: 'listen' must be a string"),
    ('{\n  "limits": {"pids": -1}\n}', ":2: 'limits.pids' must be a non-negative integer"),
    ('{\n  "limits": ', ":2: invalid JSON"),
])
def test_bad_config_refused_at_start(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    p = subprocess.run([str(RUNNEYD), "--config", str(path), "--listen", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert lines == [f"runneld: {path}{message}"], p.stderr


def test_bad_env_override_refused(server_factory):
    import os
    srv = server_factory(_start=False)
    env = dict(os.environ, RUNNEL_LIMITS_PIDS="lots")
    p = subprocess.run(srv.argv, capture_output=True, text=True, timeout=20, env=env)
    assert p.returncode != 0
    assert "RUNNEL_LIMITS_PIDS (limits.pids) has a malformed value" in p.stderr


def _exec_from(srv, xff):
    st, _, body = srv.http_json("POST", "/v1/exec", {"language": "bash", "code": "echo x"},
                                headers={"X-Forwarded-For": xff})
    return st


def test_forwarded_for_only_from_trusted_proxies(server_factory):
    """The run rate is per client address; X-Forwarded-For names the client
    only when the peer is a configured proxy."""
    trusted = server_factory(runs_per_minute_per_ip=1,
                             _config={"security": {"trusted_proxies":
                                                   ["127.0.0.1", "::ffff:127.0.0.1"]}})
    assert _exec_from(trusted, "203.0.113.7") == 200
    assert _exec_from(trusted, "203.0.113.7") == 429
    assert _exec_from(trusted, "198.51.100.9, 203.0.113.8") == 200   # right-most counts
    assert _exec_from(trusted, "203.0.113.8") == 429
    untrusted = server_factory(runs_per_minute_per_ip=1)
    assert _exec_from(untrusted, "203.0.113.7") == 200
    assert _exec_from(untrusted, "198.51.100.1") == 429   # the header is ignored


def test_health_503_while_draining(server_factory):
    """After SIGTERM, while a WebSocket client is still being closed,
    /healthz and /readyz answer 503 and other requests are refused."""
    import base64
    import os
    import socket
    srv = server_factory()
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    # this client never answers the close frame, so the drain lasts a while
    srv.proc.send_signal(signal.SIGTERM)
    srv.expect_exit = True
    assert wait_until(lambda: "event=shutdown.start" in srv.log_text(), 3)
    st_h, _, _ = srv.http("GET", "/healthz", timeout=2)
    st_r, _, _ = srv.http("GET", "/readyz", timeout=2)
    st_i, _, body = srv.http("GET", "/v1/info", timeout=2)
    assert (st_h, st_r, st_i) == (503, 503, 503), body
    sock.close()
    assert srv.proc.wait(5) == 0


def test_warning_when_listening_beyond_loopback_without_tokens(server_factory):
    srv = server_factory(_start=False)
    srv.argv[srv.argv.index("--listen") + 1] = f"0.0.0.0:{srv.port}"
    srv.start()
    assert "event=security.no_auth" in srv.log_text()
    quiet = server_factory(_config={"auth": {"tokens": ["t"]}}, _start=False)
    quiet.argv[quiet.argv.index("--listen") + 1] = f"0.0.0.0:{quiet.port}"
    quiet.start()
    assert "event=security.no_auth" not in quiet.log_text()
