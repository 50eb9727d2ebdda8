"""Helpers for the Lenses SQL envelope tests: a bounded client that sends
one request and reads every frame until the server closes."""

import asyncio
import json

import websockets

SQL_PATH = "/api/v1/environments/{env}/proxy/api/ws/v2/sql/execute"
TYPES = {"HEARTBEAT", "RECORD", "ERROR", "STATS", "METADATA", "END", "BADRECORD",
         "SENTINEL"}


def url(server, env="demo", path=None):
    return f"ws://{server.host}:{server.port}" + (path or SQL_PATH.format(env=env))


async def query(server, request, env="demo", path=None, headers=None, timeout=30.0):
    """Send request (a dict, or raw str/bytes) and read to the close.
    Returns (frames as dicts, raw frames, close code)."""
    frames, raw = [], []
    conn = await websockets.connect(url(server, env, path), extra_headers=headers or {},
                                    max_size=None, ping_interval=None, open_timeout=5,
                                    close_timeout=2)
    try:
        await conn.send(request if isinstance(request, (str, bytes)) else json.dumps(request))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no close within {timeout}s; last frames {raw[-5:]!r}")
            try:
                msg = await asyncio.wait_for(conn.recv(), left)
            except websockets.ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
                return frames, raw, code
            except asyncio.TimeoutError:
                continue
            assert isinstance(msg, str), f"binary frame {msg!r}"
            raw.append(msg)
            f = json.loads(msg)
            check_frame(f)
            frames.append(f)
    finally:
        await conn.close()


def check_frame(f):
    assert isinstance(f, dict) and f.get("type") in TYPES, f"bad frame {f!r}"
    t = f["type"]
    if t in ("HEARTBEAT", "END"):
        assert f == {"type": t}, f
    elif t == "ERROR":
        assert set(f) == {"type", "data"} and isinstance(f["data"], str) and f["data"], f
    elif t == "METADATA":
        assert set(f) == {"type", "data"} and set(f["data"]) == {"fields"}, f
        assert all(isinstance(x, str) for x in f["data"]["fields"]), f
    elif t == "RECORD":
        assert set(f) == {"type", "data", "statementIndex"}, f
        d = f["data"]
        assert set(d) <= {"key", "value", "metadata", "rownum"} and "value" in d, f
        assert type(d["rownum"]) is int and d["rownum"] >= 0, f
        assert type(f["statementIndex"]) is int, f
    elif t == "STATS":
        d = f["data"]
        assert set(d) == {"id", "bytesRead", "sources", "sourceConfigs", "sourcesStats",
                          "badRecordsTotal", "recordsSkipped", "results", "recordsScanned",
                          "duration", "startedAt"}, f
        for k in ("bytesRead", "badRecordsTotal", "recordsSkipped", "results",
                  "recordsScanned", "duration", "startedAt"):
            assert type(d[k]) is int and d[k] >= 0, f
        assert isinstance(d["id"], str) and len(d["id"]) == 36, f
        assert set(d["sources"]) == set(d["sourceConfigs"]) == set(d["sourcesStats"]), f
    elif t == "SENTINEL":
        d = f["data"]
        assert set(d) == {"event", "reason"} and isinstance(d["event"], str), f
        r = d["reason"]
        assert {"type", "source", "sourceId", "amount"} <= set(r) <= \
            {"type", "timeout", "source", "sourceId", "amount"}, f
        assert r["type"] in ("max.records", "max.size", "max.query.time"), f
        assert type(r["amount"]) is int, f
    elif t == "BADRECORD":
        m = f["data"]["metadata"]
        assert set(f["data"]) == {"metadata"} and {"table", "sourceId"} <= set(m), f


def types(frames):
    return [f["type"] for f in frames]


def records(frames):
    return [f["data"] for f in frames if f["type"] == "RECORD"]
