"""The HTTP front end against hostile and cross-site clients: pipelined
requests, requests that trickle in, cross-site pages (Origin, Host, CORS,
DNS rebinding), and Lenses under auth.tokens.

Requests are written on raw sockets for exact control of what is sent and
when. After each attack the server must answer a fresh /healthz promptly
and must not be spinning (its CPU time barely grows while idle).
"""

import asyncio
import json
import os
import select
import socket
import threading
import time

import pytest
import websockets

from conftest import REPO, arun, marker, pids_with, wait_until
from lenses_client import query

TOKEN = "front-door-token"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def assert_healthy_and_idle(srv):
    """A fresh /healthz answers within a second, and over 2 s of idling the
    server uses less than 0.5 s of CPU."""
    t0 = time.monotonic()
    st, _, body = srv.http("GET", "/healthz", timeout=3)
    assert st == 200 and json.loads(body) == {"status": "ok"}
    assert time.monotonic() - t0 < 1.0, "healthz slow"
    before = cpu_seconds(srv.pid)
    time.sleep(2)
    used = cpu_seconds(srv.pid) - before
    assert used < 0.5, f"server used {used:.2f} s of CPU over 2 s idle (spinning)"


def read_all(sock, timeout=10.0):
    """Read until EOF; fails if the server keeps the socket open longer."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"socket not closed within {timeout}s; got {data[:300]!r}"
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def responses(data):
    """Split raw HTTP/1.1 responses (content-length framed)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"truncated response: {data[:200]!r}"
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        n = int(hdrs["content-length"])
        out.append((status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def request(method, path, body=b"", headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += list(headers)
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exec_body(code):
    return json.dumps({"language": "bash", "code": code}).encode()


# --------------------------------------------------------------------------
# pipelining
# --------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 10])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("kind", ["get", "post", "mixed"])
def test_pipelined_requests(server_factory, n, tokens, kind):
    """n requests in one write: the first is answered whole, with
    "connection: close", and the connection ends (the rest are not read);
    the server stays responsive and does not spin."""
    srv = server_factory(_config={"auth": {"tokens": [TOKEN]}} if tokens else None)
    auth = [f"Authorization: Bearer {TOKEN}"] if tokens else []
    reqs = []
    for i in range(n):
        if kind == "get" or (kind == "mixed" and i % 2):
            reqs.append(request("GET", "/v1/info", headers=auth))
        else:
            reqs.append(request("POST", "/v1/exec", exec_body(f"echo r{i}"), headers=auth))
    s = socket.create_connection((srv.host, srv.port), timeout=5)
    try:
        s.sendall(b"".join(reqs))
        got = responses(read_all(s))
    finally:
        s.close()
    assert len(got) == 1, got
    st, hdrs, body = got[0]
    assert st == 200 and hdrs["connection"] == "close", got
    if kind == "get":
        assert "languages" in json.loads(body)
    else:
        assert json.loads(body)["stdout"] == "r0\n"
    assert_healthy_and_idle(srv)
    assert srv.alive()


def test_pipelined_without_token_refused_then_idle(server_factory):
    """Pipelined requests that lack the token: the first gets its 401."""
    srv = server_factory(_config={"auth": {"tokens": [TOKEN]}})
    s = socket.create_connection((srv.host, srv.port), timeout=5)
    try:
        s.sendall(request("POST", "/v1/exec", exec_body("echo x")) * 10)
        got = responses(read_all(s))
    finally:
        s.close()
    assert [g[0] for g in got] == [401]
    assert_healthy_and_idle(srv)


def test_second_request_while_first_runs(server_factory):
    """A request sent while the first (a run) is still going waits unread;
    the run's answer comes whole, then the connection closes."""
    srv = server_factory()
    s = socket.create_connection((srv.host, srv.port), timeout=5)
    try:
        s.sendall(request("POST", "/v1/exec", exec_body("sleep 1; echo done")))
        time.sleep(0.3)
        s.sendall(request("GET", "/healthz"))
        time.sleep(0.2)
        s.sendall(request("POST", "/v1/exec", exec_body("echo second")))
        got = responses(read_all(s))
    finally:
        s.close()
    assert len(got) == 1 and got[0][0] == 200, got
    assert json.loads(got[0][2])["stdout"] == "done\n"
    assert_healthy_and_idle(srv)


def test_keep_alive_client_reconnects(server):
    """Sequential requests through a keep-alive client all succeed (each
    answer closes its connection; the client opens the next)."""
    import http.client
    c = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        for i in range(3):
            c.request("POST", "/v1/exec", body=exec_body(f"echo {i}"),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            assert r.status == 200 and json.loads(r.read())["stdout"] == f"{i}\n"
            c.request("GET", "/healthz")
            r = c.getresponse()
            assert r.status == 200 and r.read() == b'{"status":"ok"}'
    finally:
        c.close()


def test_client_leaving_mid_run_kills_it(server):
    """A REST client that disconnects while its run is going: the run is
    killed (the socket is not read during the run, so the server watches
    for the peer's close)."""
    m = marker()
    s = socket.create_connection((server.host, server.port), timeout=5)
    s.sendall(request("POST", "/v1/exec", exec_body(f"exec -a {m} sleep 30")))
    assert wait_until(lambda: pids_with(m), 10), "run did not start"
    s.close()
    assert wait_until(lambda: not pids_with(m), 5), "run outlived its client"
    assert_healthy_and_idle(server)


# --------------------------------------------------------------------------
# slow requests
# --------------------------------------------------------------------------

def _trickle(data, port, interval, limit):
    """Send data a byte per interval; seconds until the server dropped us
    (None if it never did within limit)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        return _trickle_on(s, data, interval, limit, time.monotonic())
    finally:
        s.close()


def test_slow_requests_dropped(server_factory):
    """20 connections trickling one byte every 3 s (10 in the headers, 10
    in a body) are all dropped after limits.request_timeout_ms (1.5 s here,
    checked each second), while the server keeps answering others."""
    srv = server_factory(request_timeout_ms=1500)
    head = b"GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 100
    body = (b"POST /v1/exec HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    results = [None] * 20
    start = threading.Barrier(21)

    def one(i):
        start.wait()
        if i < 10:
            results[i] = _trickle(head, srv.port, 3.0, 30)
        else:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            t0 = time.monotonic()
            try:
                s.sendall(body)
                results[i] = _trickle_on(s, b"x" * 1000, 3.0, 30, t0)
            finally:
                s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    start.wait()
    time.sleep(1)
    st, _, _ = srv.http("GET", "/healthz", timeout=3)
    assert st == 200
    for t in threads:
        t.join(40)
    assert all(r is not None and r < 8 for r in results), results
    assert "reason=request_timeout" in srv.log_text()
    assert_healthy_and_idle(srv)


def test_lone_slow_body_dropped(server_factory):
    """One connection trickling its body into an otherwise idle server is
    dropped at limits.request_timeout_ms too: nothing else wakes the server
    up to close it, and the client sees EOF promptly."""
    srv = server_factory(request_timeout_ms=1500)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    t0 = time.monotonic()
    try:
        s.sendall(b"POST /v1/exec HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        dropped = _trickle_on(s, b"{" + b" " * 999, 1.0, 12, t0)
    finally:
        s.close()
    assert dropped is not None and 1.4 < dropped < 4, dropped
    assert "reason=request_timeout" in srv.log_text()
    assert_healthy_and_idle(srv)


def _trickle_on(s, data, interval, limit, t0):
    """_trickle on a connected socket s, the seconds counted from t0."""
    for b in data:
        if time.monotonic() - t0 > limit:
            return None
        try:
            s.sendall(bytes([b]))
        except OSError:
            return time.monotonic() - t0
        r, _, _ = select.select([s], [], [], interval)
        if r:
            try:
                if not s.recv(4096):
                    return time.monotonic() - t0
            except OSError:
                return time.monotonic() - t0
    return None


def test_request_timeout_default_is_10s(server):
    """The default (10 s) holds: an idle connection that sends nothing is
    dropped between 9 and 13 s."""
    s = socket.create_connection((server.host, server.port), timeout=5)
    t0 = time.monotonic()
    try:
        r, _, _ = select.select([s], [], [], 20)
        assert r, "not dropped within 20 s"
        assert s.recv(10) == b""
    finally:
        s.close()
    assert 9 <= time.monotonic() - t0 <= 13, time.monotonic() - t0


# --------------------------------------------------------------------------
# cross-site use: Origin, Host, CORS
# --------------------------------------------------------------------------

def test_cross_origin_post_refused(server):
    """A page on another origin posting text/plain JSON to /v1/exec or to
    Linkis' execute gets 403 and runs nothing."""
    m = marker()
    code = f"exec -a {m} sleep 5"
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    st, hdrs, body = server.http("POST", "/v1/exec", json.dumps(
        {"language": "bash", "code": code}), headers=evil)
    assert st == 403, body
    assert json.loads(body)["code"] == 403 and "evil.example" in json.loads(body)["error"]
    assert "access-control-allow-origin" not in hdrs
    st, _, body = server.http("POST", "/api/rest_j/v1/entrance/execute", json.dumps(
        {"executeApplicationName": "shell", "executionCode": code, "runType": "sh"}),
        headers=evil)
    assert st == 403, body
    time.sleep(1)
    assert not pids_with(m)
    # the same without an Origin (curl, SDKs) still works
    st, _, body = server.http("POST", "/v1/exec", {"language": "bash", "code": "echo ok"})
    assert st == 200 and json.loads(body)["stdout"] == "ok\n"
    # and from the server's own page (same host)
    st, _, body = server.http("POST", "/v1/exec", {"language": "bash", "code": "echo ok"},
                              headers={"Origin": f"http://127.0.0.1:{server.port}"})
    assert st == 200, body


def test_cross_site_no_cors_get_refused(server):
    """A browser's no-cors request from another site (an <img>, a link) has
    no Origin but says Sec-Fetch-Site: it must not reach an API route; the
    playground page itself may be linked to."""
    st, _, body = server.http("GET", "/v1/info", headers={"Sec-Fetch-Site": "cross-site"})
    assert st == 403 and json.loads(body)["error"] == "cross-site request refused"
    assert server.http("GET", "/v1/info", headers={"Sec-Fetch-Site": "same-origin"})[0] == 200
    assert server.http("GET", "/v1/info", headers={"Sec-Fetch-Site": "none"})[0] == 200
    assert server.http("GET", "/", headers={"Sec-Fetch-Site": "cross-site"})[0] == 200


def test_cors_follows_origins(server_factory):
    """One list (security.origins): a listed origin's preflight and real
    responses both carry its allow-origin; an unlisted one gets neither."""
    good = "https://play.example"
    srv = server_factory(_config={"security": {"origins": [good]}})
    pre = {"Origin": good, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type, authorization"}
    st, hdrs, _ = srv.http("OPTIONS", "/v1/exec", headers=pre)
    assert st == 204
    assert hdrs["access-control-allow-origin"] == good
    assert hdrs["access-control-allow-headers"] == "content-type, authorization"
    assert "POST" in hdrs["access-control-allow-methods"]
    st, hdrs, body = srv.http("POST", "/v1/exec", {"language": "bash", "code": "echo c"},
                              headers={"Origin": good})
    assert st == 200 and json.loads(body)["stdout"] == "c\n"
    assert hdrs["access-control-allow-origin"] == good
    st, hdrs, _ = srv.http("GET", "/v1/info", headers={"Origin": good})
    assert st == 200 and hdrs["access-control-allow-origin"] == good
    bad = dict(pre, Origin="https://evil.example")
    st, hdrs, _ = srv.http("OPTIONS", "/v1/exec", headers=bad)
    assert st == 403 and "access-control-allow-origin" not in hdrs
    st, hdrs, _ = srv.http("GET", "/v1/info", headers={"Origin": "https://evil.example"})
    assert st == 403 and "access-control-allow-origin" not in hdrs

    async def main():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(srv.ws_url, origin="https://evil.example")
        assert e.value.status_code == 403
        async with websockets.connect(srv.ws_url, origin=good) as ws:
            await ws.send(json.dumps({"op": 0}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["code"] == 0
    arun(main())


def test_default_has_no_cross_origin(server):
    """By default (no security.origins) no origin but the server's own is
    allowed, and no CORS header is sent."""
    st, hdrs, _ = server.http("OPTIONS", "/v1/exec", headers={
        "Origin": "https://play.example", "Access-Control-Request-Method": "POST"})
    assert st == 403 and "access-control-allow-origin" not in hdrs


def _raw_status(srv, head):
    s = socket.create_connection((srv.host, srv.port), timeout=5)
    try:
        s.sendall(head)
        data = read_all(s)
    finally:
        s.close()
    return int(data.split(b" ", 2)[1]), data


def test_dns_rebinding_host_refused(server):
    """A request whose Host is not one of the server's names (a DNS
    rebinding page: Host and Origin both evil) is refused with 421, on
    HTTP and on the WebSocket upgrade; the loopback names are accepted."""
    st, hdrs, body = server.http("GET", "/v1/info", headers={"Host": "evil.example"})
    assert st == 421, body
    assert "security.hosts" in json.loads(body)["error"]
    st, _, _ = server.http("POST", "/v1/exec", {"language": "bash", "code": "echo x"},
                           headers={"Host": f"evil.example:{server.port}",
                                    "Origin": f"http://evil.example:{server.port}"})
    assert st == 421
    up = (f"GET /v1/ws HTTP/1.1\r\nHost: evil.example:{server.port}\r\n"
          f"Origin: http://evil.example:{server.port}\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    st, data = _raw_status(server, up)
    assert st == 421, data
    for host in ("localhost", f"localhost:{server.port}", f"127.0.0.1:{server.port}",
                 f"[::1]:{server.port}"):
        assert server.http("GET", "/v1/info", headers={"Host": host})[0] == 200, host
    # health checks answer whatever Host a balancer sends
    assert server.http("GET", "/healthz", headers={"Host": "10.1.2.3:80"})[0] == 200


def test_security_hosts_adds_names(server_factory):
    srv = server_factory(_config={"security": {"hosts": ["runnel.example"]}})
    assert srv.http("GET", "/v1/info", headers={"Host": f"runnel.example:{srv.port}"})[0] == 200
    assert srv.http("GET", "/v1/info", headers={"Host": "RUNNEL.example"})[0] == 200
    assert srv.http("GET", "/v1/info", headers={"Host": "other.example"})[0] == 421

    # the WebSocket upgrade by that name, from a page of that name
    s = socket.create_connection((srv.host, srv.port), timeout=5)
    try:
        s.sendall((f"GET /v1/ws HTTP/1.1\r\nHost: runnel.example:{srv.port}\r\n"
                   f"Origin: http://runnel.example:{srv.port}\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = s.recv(4096)
    finally:
        s.close()
    assert head.startswith(b"HTTP/1.1 101 "), head


# --------------------------------------------------------------------------
# Lenses under auth.tokens
# --------------------------------------------------------------------------

def test_lenses_follows_auth_tokens(server_factory):
    """With auth.tokens set, Lenses' open (auth: false) environment needs a
    token like every envelope: none gets 401; the server token (header or
    ?token=) or a Lenses token is accepted."""
    lenses = {
        "environments": {"demo": {"path": str(REPO / "runtimes" / "lenses-demo"),
                                  "auth": False}},
        "tokens": {"lenses-own-token": ["demo"]},
        "default_environment": "demo",
    }
    srv = server_factory(_config={"auth": {"tokens": [TOKEN]}, "lenses": lenses})
    sql = {"sql": "SELECT * FROM sea_vessel_position_reports LIMIT 1"}

    async def main():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await query(srv, sql)
        assert e.value.status_code == 401
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await query(srv, sql, headers={"Authorization": "Bearer wrong-token-x"})
        assert e.value.status_code == 401
        for hdrs in ({"Authorization": f"Bearer {TOKEN}"},
                     {"Authorization": "Bearer lenses-own-token"}):
            frames, _, code = await query(srv, sql, headers=hdrs)
            assert any(f["type"] == "RECORD" for f in frames), frames
        frames, _, _ = await query(srv, sql, path=f"/api/ws/v2/sql/execute?token={TOKEN}")
        assert any(f["type"] == "RECORD" for f in frames), frames
    arun(main())
