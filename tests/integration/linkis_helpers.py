"""Helpers for the Linkis envelope tests: a WebSocket client for the entrance
socket, REST calls with Linkis' envelope, and log reassembly."""

import asyncio
import json
import re
import time

import websockets

ENTRANCE = "/api/rest_j/v1/entrance"
EXECUTE = ENTRANCE + "/execute"
CONNECT = ENTRANCE + "/connect"
TERMINAL = {"Succeed", "Failed", "Cancelled", "Timeout"}
# execID: 2-digit lengths of creator, engine, instance; then the three; then
# creator_user_index
EXEC_ID_RE = re.compile(r"^(\d\d)(\d\d)(\d\d)(.*)$")
LIFECYCLE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO ")


def parse_exec_id(eid):
    m = EXEC_ID_RE.match(eid)
    assert m, f"execID {eid!r} does not start with three 2-digit lengths"
    a, b, c = int(m[1]), int(m[2]), int(m[3])
    rest = m[4]
    creator, engine, instance = rest[:a], rest[a:a + b], rest[a + b:a + b + c]
    job = rest[a + b + c:]
    return creator, engine, instance, job


def check_frame(msg, tag=None):
    """Linkis' Message shape: method, status, message, data in that order,
    websocketTag last (and inside data) when the request had one."""
    assert isinstance(msg, dict), msg
    keys = list(msg)
    want = ["method", "status", "message", "data"] + (["websocketTag"] if tag is not None else [])
    assert keys == want, f"keys {keys} != {want}: {msg!r}"
    assert type(msg["status"]) is int and msg["status"] in (-1, 0, 1, 2, 3), msg
    assert isinstance(msg["message"], str) and msg["message"], msg
    assert isinstance(msg["data"], dict), msg
    if tag is not None:
        assert msg["websocketTag"] == tag, msg
        assert msg["data"].get("websocketTag") == tag, msg
    else:
        assert "websocketTag" not in msg["data"], msg


def log_program_lines(all_text):
    """The 'all' log without runnel's own lines."""
    return [ln for ln in all_text.split("\n")[:-1] if not LIFECYCLE_RE.match(ln)]


class LinkisWS:
    def __init__(self, conn):
        self.conn = conn
        self.frames = []

    @classmethod
    async def connect(cls, server, path=CONNECT, **kw):
        opts = dict(max_size=None, ping_interval=None, open_timeout=5, close_timeout=2)
        opts.update(kw)
        conn = await websockets.connect(f"ws://{server.host}:{server.port}{path}", **opts)
        return cls(conn)

    async def send(self, obj):
        await self.conn.send(obj if isinstance(obj, (str, bytes)) else json.dumps(obj))

    async def request(self, method, data=None, tag=None, tag_in_data=False):
        frame = {"method": method}
        if data is not None:
            frame["data"] = dict(data)
        if tag is not None:
            if tag_in_data:
                frame.setdefault("data", {})["websocketTag"] = tag
            else:
                frame["websocketTag"] = tag
        await self.send(frame)

    async def recv(self, timeout=10.0):
        try:
            raw = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no frame within {timeout}s; last: {self.frames[-5:]!r}") from None
        assert isinstance(raw, str), f"binary frame: {raw!r}"
        msg = json.loads(raw)
        self.frames.append(msg)
        return msg

    async def call(self, method, data=None, tag=None, timeout=10.0):
        """Send a request and return the next frame (its reply)."""
        await self.request(method, data, tag)
        return await self.recv(timeout)

    async def execute(self, code, run_type="python", tag="tag-1", engine=None, tag_in_data=False,
                      **extra):
        data = {"executionCode": code, "runType": run_type, "params": {}}
        if engine:
            data["executeApplicationName"] = engine
        data.update(extra)
        await self.request(EXECUTE, data, tag, tag_in_data)
        reply = await self.recv()
        check_frame(reply, tag)
        return reply

    async def collect_job(self, exec_id, timeout=30.0, jobs=None):
        """Frames of one job until its terminal status (every frame read
        meanwhile must be for that job, unless jobs maps other execIDs to
        lists to file theirs into)."""
        mine = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"job {exec_id} did not end within {timeout}s: {mine!r}"
            msg = await self.recv(left)
            eid = msg["data"].get("execID")
            if eid != exec_id:
                assert jobs is not None and eid in jobs, f"frame of another job: {msg!r}"
                jobs[eid].append(msg)
                continue
            mine.append(msg)
            if msg["method"].endswith("/status") and msg["data"]["status"] in TERMINAL:
                return mine

    async def close(self):
        await self.conn.close()


class JobFrames:
    """The pushes of one job, split by kind, with checks."""

    def __init__(self, exec_id, task_id, frames, tag):
        self.exec_id = exec_id
        self.task_id = task_id
        self.frames = frames
        self.tag = tag
        base = f"{ENTRANCE}/{exec_id}/"
        for f in frames:
            check_frame(f, tag)
            assert f["status"] == 0, f
            assert f["method"] in (base + "status", base + "log", base + "progress"), f
            assert f["data"]["execID"] == exec_id, f
            assert f["data"]["taskID"] == task_id, f

    def kind(self, k):
        return [f for f in self.frames if f["method"].endswith("/" + k)]

    @property
    def statuses(self):
        return [f["data"]["status"] for f in self.kind("status")]

    @property
    def logs(self):
        return [f["data"]["log"] for f in self.kind("log")]

    def joined(self, level):
        idx = {"error": 0, "warn": 1, "info": 2, "all": 3}[level]
        return "".join(lg[idx] for lg in self.logs)

    @property
    def progresses(self):
        return [f["data"]["progress"] for f in self.kind("progress")]

    def check_log_counts(self):
        """fromLine counts the lines sent so far, including this push."""
        total = 0
        for f in self.kind("log"):
            lg = f["data"]["log"]
            assert isinstance(lg, list) and len(lg) == 4, f
            assert all(isinstance(x, str) for x in lg), f
            n = lg[3].count("\n")
            assert n > 0, f"empty log push: {f!r}"
            assert lg[0].count("\n") + lg[1].count("\n") + lg[2].count("\n") == n, f
            total += n
            assert f["data"]["fromLine"] == total, (f, total)
            assert list(f["data"]) == ["execID", "log", "taskID", "fromLine", "websocketTag"], f
        return total


def rest(server, method, path, body=None, headers=None):
    st, hdrs, obj = server.http_json(method, path, body, headers)
    return st, hdrs, obj


def rest_wait(server, exec_id, timeout=30.0, headers=None):
    deadline = time.monotonic() + timeout
    while True:
        st, _, obj = rest(server, "GET", f"{ENTRANCE}/{exec_id}/status", headers=headers)
        assert st == 200, obj
        if obj["data"]["status"] in TERMINAL:
            return obj
        assert time.monotonic() < deadline, f"{exec_id} not done: {obj!r}"
        time.sleep(0.05)


HISTORY = "/api/rest_j/v1/jobhistory"
FS = "/api/rest_j/v1/filesystem"


def result_sets(server, task_id, headers=None, page_size=5000):
    """What linkis-web and linkis-cli do after Succeed: jobhistory get for
    resultLocation, getDirFileTrees, then openFile of each set in order."""
    from urllib.parse import quote
    st, _, r = rest(server, "GET", f"{HISTORY}/{task_id}/get", headers=headers)
    assert st == 200 and r["status"] == 0, r
    loc = r["data"]["task"]["resultLocation"]
    st, _, r = rest(server, "GET", f"{FS}/getDirFileTrees?path={quote(loc)}", headers=headers)
    assert st == 200 and r["status"] == 0, r
    children = sorted(r["data"]["dirFileTrees"]["children"],
                      key=lambda c: int(c["name"][1:c["name"].index(".")]))
    out = []
    for c in children:
        st, _, r = rest(server, "GET",
                        f"{FS}/openFile?path={quote(c['path'])}&page=1&pageSize={page_size}",
                        headers=headers)
        assert st == 200 and r["status"] == 0, r
        out.append(r["data"])
    return out
