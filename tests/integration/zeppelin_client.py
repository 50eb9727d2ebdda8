"""A Zeppelin notebook WebSocket client for the integration tests, with
bounded receives and the wire-shape checks every frame must pass."""

import asyncio
import json
import re
import time

import websockets

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")
# Zeppelin makes them with a signed random part ("paragraph_1423500779206_-1502780787").
JOBNAME_RE = re.compile(r"^paragraph_\d{13}_-?\d+$")
ENVELOPE_KEYS = {"op", "data", "ticket", "principal", "roles"}
PARA_KEYS = {"text", "user", "dateUpdated", "progress", "config", "settings", "apps",
             "runtimeInfos", "progressUpdateIntervalMs", "jobName", "id", "dateCreated",
             "status"}
PARA_OPTIONAL = {"title", "results", "dateStarted", "dateFinished"}
STATUSES = {"READY", "PENDING", "RUNNING", "FINISHED", "ERROR", "ABORT"}
DONE = {"FINISHED", "ERROR", "ABORT"}
RESULT_TYPES = {"TEXT", "HTML", "TABLE", "IMG", "SVG", "ANGULAR", "NETWORK", "NULL"}
NOTE_KEYS = {"paragraphs", "name", "id", "defaultInterpreterGroup", "version", "noteParams",
             "noteForms", "angularObjects", "config", "info", "path"}

SEED_RUN = {
    "op": "RUN_PARAGRAPH",
    "data": {
        "id": "20190226-165409_698627529",
        "paragraph": "sc.version\n",
        "config": {
            "colWidth": 12, "fontSize": 9, "enabled": True, "results": {},
            "editorSetting": {"language": "scala", "editOnDblClick": False,
                              "completionKey": "TAB", "completionSupport": True},
            "editorMode": "ace/mode/scala", "tableHide": False,
        },
        "params": {},
    },
    "principal": "anonymous", "ticket": "anonymous", "roles": "[\"anonymous\"]",
}


def check_paragraph(p):
    """The paragraph object's shape, as Zeppelin serializes it."""
    assert isinstance(p, dict), p
    keys = set(p)
    assert PARA_KEYS <= keys, f"paragraph lacks {PARA_KEYS - keys}: {p!r}"
    assert keys <= PARA_KEYS | PARA_OPTIONAL, f"unexpected keys {keys - PARA_KEYS - PARA_OPTIONAL}"
    assert p["status"] in STATUSES, p
    for k in ("dateUpdated", "dateCreated", "dateStarted", "dateFinished"):
        if k in p:
            assert DATE_RE.match(p[k]), f"{k} not in Zeppelin's format: {p[k]!r}"
    assert JOBNAME_RE.match(p["jobName"]), p["jobName"]
    assert isinstance(p["text"], str) and isinstance(p["id"], str), p
    assert set(p["settings"]) == {"params", "forms"}, p["settings"]
    assert p["apps"] == [] and p["runtimeInfos"] == {}, p
    assert type(p["progressUpdateIntervalMs"]) is int, p
    assert type(p["progress"]) is int and 0 <= p["progress"] <= 100, p
    if "results" in p:
        r = p["results"]
        assert set(r) == {"code", "msg"}, r
        assert r["code"] in ("SUCCESS", "ERROR", "INCOMPLETE"), r
        for m in r["msg"]:
            # runnel writes TEXT; a note read from Zeppelin keeps its own types
            assert set(m) == {"type", "data"} and m["type"] in RESULT_TYPES, m
            assert isinstance(m["data"], str), m


def check_note(n):
    """The note object's shape, as Zeppelin serializes it."""
    assert set(n) == NOTE_KEYS, f"note keys {set(n) ^ NOTE_KEYS}"
    assert n["path"].startswith("/") and n["name"] == n["path"].rsplit("/", 1)[1], n
    for p in n["paragraphs"]:
        check_paragraph(p)


def check_frame(f):
    assert isinstance(f, dict), f
    keys = set(f)
    assert ENVELOPE_KEYS <= keys <= ENVELOPE_KEYS | {"msgId"}, f"bad envelope keys: {f!r}"
    assert f["ticket"] == "anonymous" and f["principal"] == "anonymous" and f["roles"] == "", f
    d = f["data"]
    assert isinstance(d, dict), f
    op = f["op"]
    if op == "PARAGRAPH":
        assert "msgId" not in f, f"broadcast PARAGRAPH must carry no msgId: {f!r}"
        assert set(d) == {"paragraph"}, f
        check_paragraph(d["paragraph"])
    elif op == "PARAGRAPH_APPEND_OUTPUT":
        assert set(d) == {"noteId", "paragraphId", "index", "data"}, f
        assert d["index"] == 0 and isinstance(d["data"], str) and d["data"], f
    elif op == "PROGRESS":
        assert set(d) == {"id", "progress"}, f
        assert type(d["progress"]) is int and 0 <= d["progress"] <= 100, f
    elif op in ("ERROR_INFO", "AUTH_INFO"):
        assert set(d) == {"info"} and isinstance(d["info"], str) and d["info"], f
    elif op == "CONFIGURATIONS_INFO":
        assert set(d) == {"configurations"}, f
        assert all(isinstance(v, str) for v in d["configurations"].values()), f
    elif op in ("NOTE", "NEW_NOTE", "IMPORT_NOTE"):
        assert set(d) == {"note"}, f
        if d["note"] is not None:
            check_note(d["note"])
    elif op == "NOTES_INFO":
        assert set(d) == {"notes"}, f
        for n in d["notes"]:
            assert set(n) == {"id", "path"} and n["path"].startswith("/"), n
    elif op == "PARAGRAPH_ADDED":
        assert set(d) == {"paragraph", "index"} and type(d["index"]) is int, f
        check_paragraph(d["paragraph"])
    elif op == "PARAGRAPH_MOVED":
        assert set(d) == {"id", "index"} and type(d["index"]) is int, f
    elif op == "PARAGRAPH_REMOVED":
        assert set(d) == {"id"}, f
    elif op == "LIST_REVISION_HISTORY":
        assert d == {"revisionList": []}, f
    elif op == "COMPLETION_LIST":
        assert set(d) == {"id", "completions"} and d["completions"] == [], f
    elif op == "EDITOR_SETTING":
        assert set(d) == {"paragraphId", "editor"}, f
    elif op == "NOTE_UPDATED":
        assert set(d) == {"name", "config", "info"}, f
    elif op == "SAVE_NOTE_FORMS":
        assert set(d) == {"formsData"} and set(d["formsData"]) == {"forms", "params"}, f


class Para:
    """Frames of one paragraph's run, in arrival order."""

    def __init__(self, pid):
        self.id = pid
        self.frames = []

    def statuses(self):
        return [f["data"]["paragraph"]["status"] for f in self.frames if f["op"] == "PARAGRAPH"]

    def appended(self):
        return "".join(f["data"]["data"] for f in self.frames
                       if f["op"] == "PARAGRAPH_APPEND_OUTPUT")

    def progress(self):
        return [f["data"]["progress"] for f in self.frames if f["op"] == "PROGRESS"]

    @property
    def final(self):
        for f in reversed(self.frames):
            if f["op"] == "PARAGRAPH":
                return f["data"]["paragraph"]
        return None

    def ops(self):
        return [f["op"] if f["op"] != "PARAGRAPH" else f["data"]["paragraph"]["status"]
                for f in self.frames]


class ZWS:
    def __init__(self, conn):
        self.conn = conn
        self.raw = []

    @classmethod
    async def connect(cls, server, path="/ws", headers=None):
        conn = await websockets.connect(f"ws://{server.host}:{server.port}{path}",
                                        max_size=None, ping_interval=None, open_timeout=5,
                                        close_timeout=2, extra_headers=headers or {})
        return cls(conn)

    async def send(self, obj):
        await self.conn.send(obj if isinstance(obj, (str, bytes)) else json.dumps(obj))

    async def op(self, op, data=None, **extra):
        f = {"op": op, "principal": "anonymous", "ticket": "anonymous", "roles": "[]"}
        if data is not None:
            f["data"] = data
        f.update(extra)
        await self.send(f)

    async def recv(self, timeout=5.0):
        try:
            frame = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no frame within {timeout}s; last: {self.raw[-5:]!r}") from None
        assert isinstance(frame, str), frame
        self.raw.append(frame)
        f = json.loads(frame)
        check_frame(f)
        return f

    async def expect(self, op, timeout=5.0):
        f = await self.recv(timeout)
        assert f["op"] == op, f"expected {op}, got {f!r}"
        return f

    async def nothing(self, timeout=0.3):
        try:
            frame = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected frame: {frame!r}")

    async def run(self, pid, text, note=None, config=None, **more):
        data = {"id": pid, "paragraph": text, "config": config or {}, "params": {}}
        if note:
            data["noteId"] = note
        data.update(more)
        await self.op("RUN_PARAGRAPH", data)

    async def collect(self, pid, timeout=20.0, until_done=True, stop=None):
        """Frames about paragraph pid until its PARAGRAPH status is final.
        Frames about other paragraphs fail the test."""
        p = Para(pid)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"paragraph {pid} not done in {timeout}s: {p.ops()!r}")
            f = await self.recv(left)
            d = f["data"]
            fid = (d["paragraph"]["id"] if f["op"] == "PARAGRAPH" else
                   d.get("paragraphId", d.get("id")))
            assert fid == pid, f"frame about another paragraph: {f!r}"
            p.frames.append(f)
            if stop and stop(f):
                return p
            if until_done and f["op"] == "PARAGRAPH" and d["paragraph"]["status"] in DONE:
                return p

    async def run_and_collect(self, pid, text, timeout=20.0, **kw):
        await self.run(pid, text, **kw)
        return await self.collect(pid, timeout)

    async def alive(self):
        """A LIST_CONFIGURATIONS gets its answer as the very next frame."""
        await self.op("LIST_CONFIGURATIONS", msgId="alive-1")
        f = await self.expect("CONFIGURATIONS_INFO")
        assert f.get("msgId") == "alive-1", f

    async def close(self):
        await self.conn.close()
