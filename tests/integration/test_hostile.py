"""Hostile clients against each envelope's WebSocket: garbage, broken JSON,
deep nesting, out-of-range numbers, NUL and invalid UTF-8, oversized and
fragmented messages, many sockets, slow trickles, clients that never read,
and clients that vanish mid-run, mid-handshake or mid-frame.

Frames are written with a raw-socket framer (RawWS) for exact control. After
each attack the server must answer in the envelope's own error form where the
protocol has one, keep the connection where the protocol allows, and still
serve a normal request from another client.
"""

import asyncio
import base64
import json
import os
import random
import resource
import select
import socket
import struct
import time

import pytest

from conftest import arun, fd_count, marker, pids_with, wait_until

RANNA, LINKIS, ZEPPELIN, LENSES = "ranna", "linkis", "zeppelin", "lenses"
PATHS = {
    RANNA: "/v1/ws",
    LINKIS: "/api/rest_j/v1/entrance/connect",
    ZEPPELIN: "/ws",
    LENSES: "/api/ws/v2/sql/execute",
}
ENVELOPES = list(PATHS)
# Lenses takes one query per socket and then closes it (its protocol).
KEEPS_CONNECTION = {RANNA: True, LINKIS: True, ZEPPELIN: True, LENSES: False}
MESSAGE_LIMIT = 65536
HOSTILE_LIMITS = dict(message_bytes=MESSAGE_LIMIT, idle_client_ms=3000, wall_ms=20000,
                      cpu_ms=20000, per_connection=8)


def rng():
    seed = int(os.environ.get("RUNNEL_HOSTILE_SEED", "0")) or random.randrange(1 << 30)
    print(f"RUNNEL_HOSTILE_SEED={seed}")
    return random.Random(seed)


# --------------------------------------------------------------------------
# a raw WebSocket client
# --------------------------------------------------------------------------

class Closed(Exception):
    def __init__(self, code, reason=b""):
        super().__init__(f"closed with {code} {reason!r}")
        self.code = code
        self.reason = reason


class RawWS:
    """A client-side WebSocket over a plain socket: every frame is built by
    hand (opcode, FIN, masking, lengths), so tests control fragmentation and
    can send what a library would refuse to."""

    def __init__(self, server, path, timeout=5.0, handshake=True, rcvbuf=None):
        self.sock = socket.create_connection((server.host, server.port), timeout=timeout)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.path = path
        self.buf = b""
        self.host = f"{server.host}:{server.port}"
        if handshake:
            self.handshake()

    def request_bytes(self):
        key = base64.b64encode(os.urandom(16)).decode()
        return (f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n\r\n").encode()

    def handshake(self, timeout=5.0):
        self.sock.sendall(self.request_bytes())
        head = self._read_until(b"\r\n\r\n", timeout)
        status = head.split(b"\r\n", 1)[0]
        assert b" 101 " in status + b" ", f"upgrade refused on {self.path}: {head!r}"

    def _read_until(self, sep, timeout):
        deadline = time.monotonic() + timeout
        while sep not in self.buf:
            self._fill(deadline)
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data in time")
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise TimeoutError("no data in time")
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            raise Closed(1006)
        self.buf += data

    def _take(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    # -- sending ------------------------------------------------------------
    @staticmethod
    def frame(opcode, payload, fin=True, mask=True):
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if not mask:
            return head + payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return head + key + masked

    def send_frame(self, opcode, payload, fin=True):
        self.sock.sendall(self.frame(opcode, payload, fin))

    def send_text(self, data):
        self.send_frame(0x1, data.encode() if isinstance(data, str) else data)

    def send_binary(self, data):
        self.send_frame(0x2, data)

    def send_fragments(self, data, pieces, opcode=0x1):
        """One message as len(pieces) frames: the first with opcode, the
        rest continuation frames, FIN on the last."""
        cuts = [0] + sorted(pieces) + [len(data)]
        parts = [data[a:b] for a, b in zip(cuts, cuts[1:])]
        out = []
        for i, p in enumerate(parts):
            out.append(self.frame(opcode if i == 0 else 0x0, p, fin=i == len(parts) - 1))
        self.sock.sendall(b"".join(out))

    def send_close(self, code=1000):
        try:
            self.send_frame(0x8, struct.pack("!H", code))
        except OSError:
            pass

    # -- receiving ----------------------------------------------------------
    def recv_frame(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        b0, b1 = self._take(2, deadline)
        n = b1 & 0x7f
        if n == 126:
            (n,) = struct.unpack("!H", self._take(2, deadline))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._take(8, deadline))
        assert not b1 & 0x80, "the server masked a frame"
        return b0 & 0x80, b0 & 0x0f, self._take(n, deadline)

    def recv(self, timeout=5.0):
        """The next data message as text (a close raises Closed)."""
        deadline = time.monotonic() + timeout
        parts = []
        while True:
            fin, op, payload = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.send_close(code if code != 1005 else 1000)
                raise Closed(code, payload[2:])
            if op == 0x9:
                self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            assert op in (0x1, 0x0), f"server sent opcode {op}"
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode("utf-8")

    def recv_json(self, timeout=5.0):
        return json.loads(self.recv(timeout))

    def expect_close(self, timeout=10.0):
        """Read until the server closes; returns (code, messages read)."""
        msgs = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                msgs.append(self.recv(max(0.01, deadline - time.monotonic())))
            except Closed as e:
                return e.code, msgs
            except TimeoutError:
                raise AssertionError(f"not closed within {timeout}s; read {msgs!r}") from None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Vanish with a TCP reset, no close frame."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


# --------------------------------------------------------------------------
# each envelope's error form and a request it answers normally
# --------------------------------------------------------------------------

def is_error(env, msg):
    """Whether msg (parsed) is the envelope's error form."""
    if env == RANNA:
        return msg.get("code") == 1 and isinstance(msg.get("data"), dict) \
            and msg["data"].get("code") in (400, 404, 413, 429) \
            and isinstance(msg["data"].get("message"), str) and msg["data"]["message"]
    if env == LINKIS:
        return set(msg) >= {"method", "status", "message", "data"} and msg["status"] != 0 \
            and isinstance(msg["message"], str) and msg["message"]
    if env == ZEPPELIN:
        return msg.get("op") == "ERROR_INFO" and isinstance(msg.get("data"), dict) \
            and isinstance(msg["data"].get("info"), str) and msg["data"]["info"]
    if env == LENSES:
        return msg.get("type") == "ERROR" and isinstance(msg.get("data"), str) and msg["data"]
    raise AssertionError(env)


def ping_request(env):
    """A cheap request that gets exactly one answer, and a check for it."""
    if env == RANNA:
        return {"op": 0, "nonce": 4242}, lambda m: m == {"code": 0, "nonce": 4242, "data": "Pong!"}
    if env == LINKIS:
        return ({"method": "/api/rest_j/v1/entrance/runningtask", "data": {},
                 "websocketTag": "alive"},
                lambda m: m.get("status") == 0 and m["method"].endswith("runningtask"))
    if env == ZEPPELIN:
        return ({"op": "LIST_CONFIGURATIONS", "msgId": "alive", "principal": "anonymous"},
                lambda m: m.get("op") == "CONFIGURATIONS_INFO")
    if env == LENSES:
        return {"sql": "SELECT 1 AS one"}, lambda m: m.get("type") in ("METADATA", "RECORD")
    raise AssertionError(env)


def expect_error(ws, env, timeout=5.0):
    """The next message is the envelope's error; for Lenses END and a 1000
    close follow (one query per socket)."""
    msg = ws.recv_json(timeout)
    assert is_error(env, msg), f"{env}: expected its error form, got {msg!r}"
    if env == LENSES:
        code, rest = ws.expect_close()
        assert code == 1000 and [json.loads(r) for r in rest] == [{"type": "END"}], (code, rest)
    return msg


def assert_alive(ws, env):
    """The same connection still answers a normal request (not for Lenses)."""
    req, ok = ping_request(env)
    ws.send_text(json.dumps(req))
    deadline = time.monotonic() + 5
    while True:
        m = ws.recv_json(max(0.05, deadline - time.monotonic()))
        if ok(m):
            return
        # Zeppelin may broadcast notes; Linkis never sends unasked frames.
        assert env == ZEPPELIN and not is_error(env, m), f"{env}: unexpected {m!r}"


def assert_serves(server, env=None):
    """Another client gets normal answers: the envelope's cheap request (and
    its query, for Lenses) and a real run over ranna."""
    for e in ([env] if env else []):
        ws = RawWS(server, PATHS[e])
        try:
            req, ok = ping_request(e)
            ws.send_text(json.dumps(req))
            m = ws.recv_json(10)
            while e == ZEPPELIN and not ok(m):
                m = ws.recv_json(10)
            assert ok(m), f"{e}: normal request got {m!r}"
        finally:
            ws.close()
    ws = RawWS(server, PATHS[RANNA])
    try:
        ws.send_text(json.dumps({"op": 1, "nonce": 9, "args": {"language": "bash",
                                                               "code": "echo still-serving"}}))
        out, stop = "", None
        while stop is None:
            m = ws.recv_json(15)
            assert m["code"] in (2, 3, 4), f"run failed: {m!r}"
            if m["code"] == 3:
                out += m["data"].get("stdout", "")
            if m["code"] == 4:
                stop = m["data"]
        assert out == "still-serving\n" and stop["exitcode"] == 0, (out, stop)
    finally:
        ws.close()
    assert server.alive(), "runneld died:\n" + server.log_tail()


@pytest.fixture
def hostile(server_factory):
    # Tests here count the server's fds: no sandboxes or namespaces are made
    # ahead, whose pipes and namespace fds come and go on their own time.
    return server_factory("hostile", _config={"sandbox": {"warm": 0, "ahead": 0}},
                          **HOSTILE_LIMITS)


def conns_now(server):
    st, _, body = server.http("GET", "/metrics")
    assert st == 200
    n = 0
    for line in body.decode().splitlines():
        if line.startswith("runnel_connections{"):
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


# --------------------------------------------------------------------------
# bad content
# --------------------------------------------------------------------------

def random_text(r, n):
    alphabet = "{}[]\":,0123456789eE+-.truefalsn \\/\t\n" + "aé€😀\u2028\x7f"
    return "".join(r.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize("env", ENVELOPES)
def test_random_text_and_binary(hostile, env):
    """Random (valid UTF-8) text and random binary frames: an error in the
    envelope's form each time, the connection kept where the protocol
    keeps connections."""
    r = rng()
    samples = [random_text(r, r.randrange(1, 400)) for _ in range(20)]
    samples = [s for s in samples if not _is_valid_request(s)]
    blobs = [bytes(r.randrange(256) for _ in range(r.randrange(1, 300))) for _ in range(5)]
    if KEEPS_CONNECTION[env]:
        ws = RawWS(hostile, PATHS[env])
        for s in samples:
            ws.send_text(s)
            expect_error(ws, env)
        for b in blobs:
            ws.send_binary(b)
            expect_error(ws, env)
        assert_alive(ws, env)
        ws.close()
    else:
        for payload in samples[:5] + blobs[:3]:
            ws = RawWS(hostile, PATHS[env])
            (ws.send_text if isinstance(payload, str) else ws.send_binary)(payload)
            expect_error(ws, env)
            ws.close()
    assert_serves(hostile, env)


def _is_valid_request(s):
    try:
        json.loads(s)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("env", ENVELOPES)
def test_truncated_json(hostile, env):
    req, _ = ping_request(env)
    full = json.dumps(req)
    cuts = [1, 2, len(full) // 2, len(full) - 1]
    for cut in cuts:
        ws = RawWS(hostile, PATHS[env])
        ws.send_text(full[:cut])
        expect_error(ws, env)
        if KEEPS_CONNECTION[env]:
            assert_alive(ws, env)
        ws.close()
    assert_serves(hostile, env)


@pytest.mark.parametrize("env", ENVELOPES)
@pytest.mark.parametrize("shape", ["arrays", "objects", "inside"])
def test_nested_100000_deep(hostile, env, shape):
    """JSON nested 100 000 levels deep (under the message limit): refused
    with an error, no stack overflow."""
    depth = 100000 if shape != "objects" else 20000  # '{"a":' is 5 bytes a level
    if shape == "arrays":
        text = "[" * depth + "]" * depth
    elif shape == "objects":
        text = '{"a":' * depth + "1" + "}" * depth
    else:
        req, _ = ping_request(env)
        inner = json.dumps(req)[:-1]
        text = inner + ',"deep":' + "[" * 30000 + "]" * 30000 + "}"
    assert len(text) < MESSAGE_LIMIT * 4
    hostile_big = hostile
    ws = RawWS(hostile_big, PATHS[env])
    if len(text) > MESSAGE_LIMIT:
        code, _ = _send_expect_close(ws, text.encode())
        assert code == 1009, f"over-limit message closed with {code}"
    else:
        ws.send_text(text)
        expect_error(ws, env)
        if KEEPS_CONNECTION[env]:
            assert_alive(ws, env)
    ws.close()
    assert_serves(hostile, env)


def _send_expect_close(ws, payload, opcode=0x1):
    try:
        ws.send_frame(opcode, payload)
    except OSError:
        return 1006, []
    return ws.expect_close()


NUMBER_CASES = {
    RANNA: ['{"op":1e400,"nonce":1}', '{"op":0,"nonce":1e400}', '{"op":0,"nonce":-1e308}',
            '{"op":4294967297}', '{"op":-1}', '{"op":0.5}', '{"op":0,"nonce":9007199254740993}',
            '{"op":1,"nonce":2,"args":{"language":"bash","code":"x","arguments":[1e400]}}'],
    LINKIS: ['{"method":"/api/rest_j/v1/entrance/1e400/log","data":{"fromLine":1e400,"size":-1e308}}',
             '{"method":"/api/rest_j/v1/entrance/execute","data":{"executionCode":"1","runType":"python",'
             '"params":{"configuration":{"runtime":{"runnel.wall_ms":1e400}}}},'
             '"websocketTag":"n"}',
             '{"method":1e400}'],
    ZEPPELIN: ['{"op":"RUN_PARAGRAPH","data":{"id":1e400,"noteId":-1e308,"paragraph":"%sh\\necho"}}',
               '{"op":1e400}', '{"op":"GET_NOTE","data":{"id":18446744073709551616}}'],
    LENSES: ['{"sql":"SELECT 1","stats":1e400}', '{"sql":"SELECT 1","stats":-1}',
             '{"sql":1e400}'],
}


@pytest.mark.parametrize("env", ENVELOPES)
def test_numbers_out_of_range(hostile, env):
    for case in NUMBER_CASES[env]:
        ws = RawWS(hostile, PATHS[env])
        ws.send_text(case)
        expect_error(ws, env, timeout=10)
        if KEEPS_CONNECTION[env]:
            assert_alive(ws, env)
        ws.close()
    assert_serves(hostile, env)


NUL_CASES = {
    RANNA: ['{"op":1,"nonce":3,"args":{"language":"pyth\\u0000on3","code":"print(1)"}}',
            '{"op":0,"nonce":"1\\u0000"}'],
    LINKIS: ['{"method":"/api/rest_j/v1/entrance/\\u0000/log","data":{}}',
             '{"method":"/api/rest_j/v1/entrance/execute","data":{"executionCode":"1",'
             '"runType":"pyt\\u0000hon"},"websocketTag":"x\\u0000y"}'],
    ZEPPELIN: ['{"op":"RUN_PARAGRAPH\\u0000","data":{}}',
               '{"op":"RUN_PARAGRAPH","data":{"id":"p\\u0000","noteId":"n\\u0001"}}'],
    LENSES: ['{"sql":"\\u0000"}', '{"sql":"\\u0000SELECT 1"}'],
}


@pytest.mark.parametrize("env", ENVELOPES)
def test_nul_in_strings(hostile, env):
    """Strings holding \\u0000 get the envelope's error (or are refused as
    unknown values), never a crash or truncated-name confusion."""
    for case in NUL_CASES[env]:
        ws = RawWS(hostile, PATHS[env])
        ws.send_text(case)
        expect_error(ws, env, timeout=10)
        if KEEPS_CONNECTION[env]:
            assert_alive(ws, env)
        ws.close()
    assert_serves(hostile, env)


@pytest.mark.parametrize("env", ENVELOPES)
@pytest.mark.parametrize("bad", [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                                 b"\xe2\x82"])
def test_invalid_utf8_text_closes_1007(hostile, env, bad):
    """RFC 6455 8.1: a text message that is not UTF-8 fails the connection
    with 1007 (also when the bad bytes sit inside a JSON string)."""
    req, _ = ping_request(env)
    text = json.dumps(req).encode()
    payload = text[:-1] + b',"x":"' + bad + b'"}'
    ws = RawWS(hostile, PATHS[env])
    code, msgs = _send_expect_close(ws, payload)
    assert code == 1007, f"closed with {code} after {msgs!r}"
    ws.close()
    assert_serves(hostile, env)


@pytest.mark.parametrize("env", ENVELOPES)
def test_frame_over_limit_closes_1009(hostile, env):
    ws = RawWS(hostile, PATHS[env])
    code, _ = _send_expect_close(ws, b"[" + b" " * MESSAGE_LIMIT + b"]")
    assert code == 1009
    ws.close()
    # the same limit across continuation frames
    ws = RawWS(hostile, PATHS[env])
    data = b"[" + b" " * (MESSAGE_LIMIT + 10) + b"]"
    try:
        ws.send_fragments(data, list(range(4096, len(data), 4096)))
    except OSError:
        pass
    code, _ = ws.expect_close()
    assert code == 1009
    ws.close()
    # exactly at the limit is fine
    if KEEPS_CONNECTION[env]:
        ws = RawWS(hostile, PATHS[env])
        req, _ = ping_request(env)
        base = json.dumps(req)
        pad = MESSAGE_LIMIT - len(base) - len(',"pad":""')
        ws.send_text(base[:-1] + ',"pad":"' + "p" * pad + '"}')
        m = ws.recv_json(10)
        assert not is_error(env, m) or env == LINKIS, m
        ws.close()
    assert_serves(hostile, env)


@pytest.mark.parametrize("env", ENVELOPES)
def test_many_continuation_frames(hostile, env):
    """A normal request split into one frame per byte (and a ping between
    fragments, which RFC 6455 allows) is answered normally."""
    req, ok = ping_request(env)
    data = json.dumps(req).encode()
    ws = RawWS(hostile, PATHS[env])
    frames = []
    for i, b in enumerate(data):
        frames.append(RawWS.frame(0x1 if i == 0 else 0x0, bytes([b]), fin=i == len(data) - 1))
        if i == 3:
            frames.append(RawWS.frame(0x9, b"ping"))
    ws.sock.sendall(b"".join(frames))
    m = ws.recv_json(10)
    while env == ZEPPELIN and not ok(m):
        m = ws.recv_json(10)
    assert ok(m), f"{env}: fragmented request got {m!r}"
    ws.close()
    # a message split in 5 000 continuation frames
    if env == RANNA:
        ws = RawWS(hostile, PATHS[env])
        big = json.dumps({"op": 1, "nonce": 5, "args": {
            "language": "bash", "code": "echo " + "x" * 20000}}).encode()
        ws.send_fragments(big, list(range(4, len(big), 4))[:4999])
        m = ws.recv_json(10)
        assert m["code"] == 2 and m["nonce"] == 5, m
        ws.close()
    assert_serves(hostile, env)


def test_continuation_without_start(hostile):
    """A continuation frame with no message begun is a protocol error (1002)."""
    for env in ENVELOPES:
        ws = RawWS(hostile, PATHS[env])
        code, _ = _send_expect_close(ws, b"abc", opcode=0x0)
        assert code == 1002, (env, code)
        ws.close()
    assert_serves(hostile)


def _expect_1002_and_eof(ws):
    """The next frames end in a close with 1002, then the server closes TCP."""
    deadline = time.monotonic() + 5
    while True:
        _, op, payload = ws.recv_frame(max(0.01, deadline - time.monotonic()))
        if op == 0x8:
            break
        assert op == 0xA, f"unexpected opcode {op} before the close"
    assert struct.unpack("!H", payload[:2])[0] == 1002, payload
    assert payload[2:] == b"unmasked frame", payload
    ws.sock.settimeout(5)
    rest = ws.buf
    while True:  # nothing but the end of the stream follows the close
        try:
            data = ws.sock.recv(4096)
        except ConnectionResetError:
            data = b""
        if not data:
            break
        rest += data
    assert rest == b"", rest


def test_unmasked_frame_closes_1002(hostile):
    """RFC 6455 5.1: a client frame without the mask bit is closed with 1002
    and the connection dropped, on every envelope; a masked frame in the same
    write before it is still served; other connections go on."""
    bystander = RawWS(hostile, PATHS[RANNA])
    for env in ENVELOPES:
        # alone: the unmasked frame is the first byte of the read
        ws = RawWS(hostile, PATHS[env])
        ws.sock.sendall(RawWS.frame(0x1, b'{"op":1}', mask=False))
        _expect_1002_and_eof(ws)
        ws.close()
        # behind a masked ping in the same write (its pong may or may not
        # beat the close out), then after one answered on its own
        ws = RawWS(hostile, PATHS[env])
        ws.sock.sendall(RawWS.frame(0x9, b"hello") + RawWS.frame(0x1, b"x" * 300, mask=False))
        _expect_1002_and_eof(ws)
        ws.close()
        ws = RawWS(hostile, PATHS[env])
        ws.sock.sendall(RawWS.frame(0x9, b"hello"))
        assert ws.recv_frame(5)[1:] == (0xA, b"hello"), env
        ws.sock.sendall(RawWS.frame(0x2, b"\x00" * 200, mask=False))
        _expect_1002_and_eof(ws)
        ws.close()
    # sent early, in the same write as the upgrade request (before the 101,
    # against RFC 6455 4.1): the frame is not served, the connection gets
    # the same close; a masked frame sent early is served
    for env in ENVELOPES:
        ws = RawWS(hostile, PATHS[env], handshake=False)
        ws.sock.sendall(ws.request_bytes() + RawWS.frame(0x1, b'{"op":0}', mask=False))
        head = ws._read_until(b"\r\n\r\n", 5)
        assert b" 101 " in head.split(b"\r\n", 1)[0] + b" ", head
        _expect_1002_and_eof(ws)
        ws.close()
    ws = RawWS(hostile, PATHS[RANNA], handshake=False)
    ws.sock.sendall(ws.request_bytes() + RawWS.frame(0x9, b"early"))
    ws._read_until(b"\r\n\r\n", 5)
    assert ws.recv_frame(5)[1:] == (0xA, b"early")
    ws.close()
    # an unmasked frame split over two writes, after a long masked one
    ws = RawWS(hostile, PATHS[RANNA])
    ws.sock.sendall(RawWS.frame(0x9, b"p" * 100))
    assert ws.recv_frame(5)[1:] == (0xA, b"p" * 100)
    ws.sock.sendall(bytes([0x81]))
    time.sleep(0.2)
    ws.sock.sendall(bytes([0x05]) + b"hello")
    _expect_1002_and_eof(ws)
    ws.close()
    assert_alive(bystander, RANNA)
    bystander.close()
    assert_serves(hostile, RANNA)


# --------------------------------------------------------------------------
# resource attacks
# --------------------------------------------------------------------------

def test_thousand_sockets(hostile):
    """One client opens 1 000 WebSockets (250 per envelope): the server
    keeps serving others, and every socket's fd is given back after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    base_fds = fd_count(hostile.pid)
    socks = []
    try:
        for i in range(1000):
            env = ENVELOPES[i % 4]
            s = socket.create_connection((hostile.host, hostile.port), timeout=10)
            s.sendall(_handshake_bytes(hostile, PATHS[env]))
            socks.append(s)
        upgraded = 0
        for s in socks:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            upgraded += data.startswith(b"HTTP/1.1 101")
        assert upgraded >= 900, f"only {upgraded} of 1000 upgrades accepted"
        assert conns_now(hostile) >= upgraded - 5
        assert_serves(hostile, RANNA)
    finally:
        for s in socks:
            s.close()
    assert wait_until(lambda: conns_now(hostile) == 0, 15), conns_now(hostile)
    assert wait_until(lambda: fd_count(hostile.pid) <= base_fds + 2, 10), \
        (base_fds, fd_count(hostile.pid))
    assert_serves(hostile, ZEPPELIN)


def _handshake_bytes(server, path):
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


def _trickle(sock, data, interval, until):
    """Send data one byte per interval until the peer drops us or until
    seconds pass; returns seconds until the drop (None if never)."""
    t0 = time.monotonic()
    for b in data:
        if time.monotonic() - t0 > until:
            return None
        try:
            sock.sendall(bytes([b]))
        except OSError:
            return time.monotonic() - t0
        r, _, _ = select.select([sock], [], [], interval)
        if r:
            try:
                got = sock.recv(4096)
            except OSError:
                return time.monotonic() - t0
            if not got:
                return time.monotonic() - t0
    return None


def test_slow_trickle_handshake(hostile):
    """A handshake sent one byte a second is dropped after the server's
    timeout (10 s), on every envelope path; others are served meanwhile."""
    async def main():
        loop = asyncio.get_running_loop()

        def one(path):
            s = socket.create_connection((hostile.host, hostile.port), timeout=5)
            try:
                return _trickle(s, _handshake_bytes(hostile, path), 1.0, 30)
            finally:
                s.close()
        tasks = [loop.run_in_executor(None, one, PATHS[e]) for e in ENVELOPES]
        await asyncio.sleep(2)
        await loop.run_in_executor(None, assert_serves, hostile, RANNA)
        return await asyncio.gather(*tasks)
    dropped = arun(main(), timeout=60)
    for env, t in zip(ENVELOPES, dropped):
        assert t is not None and t < 25, f"{env}: trickled handshake not dropped ({t})"
    assert_serves(hostile, LINKIS)


@pytest.mark.parametrize("env", ENVELOPES)
def test_slow_trickle_frame(hostile, env):
    """After the upgrade, a frame whose bytes come one a second is dropped
    after a timeout instead of holding the connection forever."""
    ws = RawWS(hostile, PATHS[env])
    req, _ = ping_request(env)
    frame = RawWS.frame(0x1, json.dumps(req).encode() + b" " * 60)
    t = _trickle(ws.sock, frame, 1.0, 45)
    ws.close()
    assert t is not None and t < 40, f"{env}: trickled frame kept the connection ({t})"
    assert_serves(hostile, env)


@pytest.mark.parametrize("env", [RANNA, LINKIS, ZEPPELIN])
def test_client_never_reads(server_factory, env):
    """A client that asks for a lot of output and never reads: the run is
    paused, then the client is dropped after idle_client_ms (ranna: 1008),
    its run killed; runneld's memory stays bounded and others are served."""
    # Linkis jobs outlive their socket by design (the client falls back to
    # REST) and keep their log, up to the output limit; with
    # kill_on_disconnect they follow the socket like every other envelope's,
    # which is what bounds memory for a client that never reads.
    extra = {"linkis": {"kill_on_disconnect": True}} if env == LINKIS else None
    # Runs may last far longer than the drop takes, so that it is the drop
    # that ends them, also on a busy machine where the socket buffers fill
    # slowly.
    hostile = server_factory("never-reads", _config=extra,
                             **dict(HOSTILE_LIMITS, output_bytes=256 << 20, wall_ms=90000,
                                    cpu_ms=90000))
    mark = marker()
    code = f"exec -a {mark} bash -c 'while :; do head -c 65536 /dev/zero | tr \"\\\\0\" x; done'"
    ws = RawWS(hostile, PATHS[env], rcvbuf=4096)
    if env == RANNA:
        req = {"op": 1, "nonce": 1, "args": {"language": "bash", "code": code}}
    elif env == LINKIS:
        req = {"method": "/api/rest_j/v1/entrance/execute", "websocketTag": "nr",
               "data": {"executionCode": code, "runType": "shell", "params": {}}}
    else:
        req = {"op": "RUN_PARAGRAPH", "principal": "anonymous",
               "data": {"id": "p-nr", "noteId": "n-nr", "paragraph": "%sh\n" + code}}
    rss0 = _rss(hostile.pid)
    ws.send_text(json.dumps(req))
    assert wait_until(lambda: pids_with(mark), 10), "the run did not start"
    # never read; the server must drop us within idle_client_ms + close grace
    gone = wait_until(lambda: not pids_with(mark), 60)
    assert gone, f"{env}: run of a client that never reads still alive"
    assert _rss(hostile.pid) < rss0 + 64 * 1024 * 1024, "runneld buffered the output"
    assert "conn.slow_client" in hostile.log_text(), "no log line for the dropped client"
    ws.abort()
    assert_serves(hostile, env)


def _rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# --------------------------------------------------------------------------
# clients that vanish
# --------------------------------------------------------------------------

@pytest.mark.parametrize("env", [RANNA, ZEPPELIN])
def test_disconnect_mid_run(hostile, env):
    """The client resets the connection while its run sleeps: the run's
    processes are gone within a couple of seconds (Linkis, whose jobs outlive
    sockets by design, only when kill_on_disconnect is set)."""
    server = hostile
    mark = marker()
    code = f"exec -a {mark} sleep 60"
    ws = RawWS(server, PATHS[env])
    if env == RANNA:
        ws.send_text(json.dumps({"op": 1, "nonce": 1, "args": {"language": "bash", "code": code}}))
    else:
        ws.send_text(json.dumps({"op": "RUN_PARAGRAPH", "principal": "anonymous", "data": {
            "id": "p-dc", "noteId": "n-dc", "paragraph": "%sh\n" + code}}))
    assert wait_until(lambda: pids_with(mark), 10), "the run did not start"
    ws.abort()
    assert wait_until(lambda: not pids_with(mark), 3), "run outlived its client"
    assert_serves(server, env)


def test_disconnect_mid_run_linkis_kill_on_disconnect(server_factory):
    srv = server_factory("hostile-lk", _config={"linkis": {"kill_on_disconnect": True}},
                         **HOSTILE_LIMITS)
    mark = marker()
    ws = RawWS(srv, PATHS[LINKIS])
    ws.send_text(json.dumps({"method": "/api/rest_j/v1/entrance/execute", "websocketTag": "dc",
                             "data": {"executionCode": f"exec -a {mark} sleep 60",
                                      "runType": "shell", "params": {}}}))
    assert wait_until(lambda: pids_with(mark), 10), "the run did not start"
    ws.abort()
    assert wait_until(lambda: not pids_with(mark), 3), "run outlived its client"
    assert_serves(srv, LINKIS)


@pytest.mark.parametrize("env", ENVELOPES)
def test_disconnect_mid_handshake_and_frame(hostile, env):
    base = fd_count(hostile.pid)
    for cut in (10, 40):
        s = socket.create_connection((hostile.host, hostile.port), timeout=5)
        s.sendall(_handshake_bytes(hostile, PATHS[env])[:cut])
        s.close()
    req, _ = ping_request(env)
    frame = RawWS.frame(0x1, json.dumps(req).encode())
    for cut in (1, 2, 6, len(frame) - 1):
        ws = RawWS(hostile, PATHS[env])
        ws.sock.sendall(frame[:cut])
        ws.abort()
    # a frame announcing far more than it sends
    ws = RawWS(hostile, PATHS[env])
    ws.sock.sendall(RawWS.frame(0x1, b"{" * 40000)[:2000])
    ws.close()
    assert_serves(hostile, env)
    assert wait_until(lambda: fd_count(hostile.pid) <= base + 1, 10), \
        (base, fd_count(hostile.pid))
    assert conns_now(hostile) == 0
