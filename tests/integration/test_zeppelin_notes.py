"""Zeppelin notes end to end, with the frames the stock front ends send
(zeppelin-web-angular's SDK message.ts and classic zeppelin-web: op, data,
principal, ticket, roles, msgId), and notes kept as Zeppelin .zpln files in
the notebook directory: restart, SIGKILL after an acknowledged commit, a
note written in Zeppelin 0.10/0.11's own format, corrupt files and a
read-only directory.
"""

import asyncio
import itertools
import json
import os
import signal
import subprocess

import pytest

from conftest import arun
from zeppelin_client import ZWS
from test_zeppelin import zspecs  # noqa: F401  (the fixture)

_seq = itertools.count(1)


async def send(ws, op, data=None):
    """A frame as the web clients make it: their ticket and a msgId."""
    f = {"op": op, "principal": "anonymous", "ticket": "anonymous", "roles": "[]",
         "msgId": f"c0ffee-{next(_seq)}"}
    if data is not None:
        f["data"] = data
    await ws.send(f)
    return f["msgId"]


async def expect(ws, op, msgid=None, timeout=5.0):
    f = await ws.expect(op, timeout)
    if msgid is not None:
        assert f.get("msgId") == msgid, f
    else:
        assert "msgId" not in f, f"a broadcast carries no msgId: {f!r}"
    return f["data"]


async def run_done(ws, pid, timeout=20.0):
    """Frames of one run until its final PARAGRAPH; the final paragraph and
    the streamed output."""
    p = await ws.collect(pid, timeout)
    return p.final, p.appended()


def paragraph_config(lang="sh"):
    return {"colWidth": 12, "fontSize": 9, "enabled": True, "results": {},
            "editorSetting": {"language": lang, "editOnDblClick": False,
                              "completionKey": "TAB", "completionSupport": False},
            "editorMode": f"ace/mode/{lang}"}


@pytest.fixture
def nbdir(tmp_path):
    d = tmp_path / "notebook"
    d.mkdir()
    return d


@pytest.fixture
def zstart(server_factory, zspecs, nbdir):  # noqa: F811
    def make(name="znb", **zconf):
        zconf.setdefault("notebook_dir", str(nbdir))
        zconf.setdefault("progress_interval_ms", 200)
        return server_factory(name, _specs=zspecs, _config={"zeppelin": zconf})
    return make


def zpln_files(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*.zpln"))


# --------------------------------------------------------------------------
# A whole session
# --------------------------------------------------------------------------

def test_whole_session(zstart, nbdir):
    s = zstart()

    async def main():
        ws = await ZWS.connect(s)
        other = await ZWS.connect(s)

        # NEW_NOTE: NEW_NOTE to the sender, NOTES_INFO to everyone
        mid = await send(ws, "NEW_NOTE", {"name": "/team/demo", "defaultInterpreterGroup": "sh"})
        note = (await expect(ws, "NEW_NOTE", mid))["note"]
        nid = note["id"]
        assert note["path"] == "/team/demo" and note["name"] == "demo"
        assert note["defaultInterpreterGroup"] == "sh"
        assert len(note["paragraphs"]) == 1 and note["paragraphs"][0]["text"] == ""
        for w in (ws, other):
            notes = (await expect(w, "NOTES_INFO"))["notes"]
            assert notes == [{"id": nid, "path": "/team/demo"}]
        assert zpln_files(nbdir) == [f"team/demo_{nid}.zpln"]
        p0 = note["paragraphs"][0]["id"]

        # both open it
        for w in (ws, other):
            mid = await send(w, "GET_NOTE", {"id": nid})
            got = (await expect(w, "NOTE", mid))["note"]
            assert got["id"] == nid and got["paragraphs"][0]["id"] == p0
            mid = await send(w, "LIST_REVISION_HISTORY", {"noteId": nid})
            assert await expect(w, "LIST_REVISION_HISTORY", mid) == {"revisionList": []}

        # INSERT_PARAGRAPH: PARAGRAPH_ADDED to every watcher
        await send(ws, "INSERT_PARAGRAPH", {"index": 1})
        for w in (ws, other):
            added = await expect(w, "PARAGRAPH_ADDED")
            assert added["index"] == 1 and added["paragraph"]["status"] == "READY"
        p1 = added["paragraph"]["id"]
        assert p1 != p0

        # COMMIT_PARAGRAPH: PARAGRAPH to every watcher, and on disk
        for pid, text in ((p0, "%sh\necho zero"), (p1, "%sh\nfor i in 1 2 3; do echo $i; "
                                                        "sleep 0.2; done")):
            await send(ws, "COMMIT_PARAGRAPH", {
                "id": pid, "noteId": nid, "title": f"t-{pid}", "paragraph": text,
                "config": paragraph_config(), "params": {}})
            for w in (ws, other):
                p = (await expect(w, "PARAGRAPH"))["paragraph"]
                assert p["id"] == pid and p["text"] == text and p["title"] == f"t-{pid}"
        on_disk = json.loads((nbdir / f"team/demo_{nid}.zpln").read_text())
        assert [p["text"] for p in on_disk["paragraphs"]] == ["%sh\necho zero",
                                                              "%sh\nfor i in 1 2 3; do echo $i; "
                                                              "sleep 0.2; done"]

        # EDITOR_SETTING with paragraphText, as both web clients send it
        mid = await send(ws, "EDITOR_SETTING", {"paragraphId": p0,
                                                "paragraphText": "%python\nprint(1)"})
        ed = await expect(ws, "EDITOR_SETTING", mid)
        assert ed["paragraphId"] == p0 and ed["editor"]["language"] == "python"
        mid = await send(ws, "EDITOR_SETTING", {"paragraphId": p0, "paragraphText": "%md\n# x"})
        assert (await expect(ws, "EDITOR_SETTING", mid))["editor"]["language"] == "markdown"

        # RUN_PARAGRAPH: the runner and the other watcher see the stream
        await send(ws, "RUN_PARAGRAPH", {"id": p1, "title": f"t-{p1}",
                                         "paragraph": "%sh\nfor i in 1 2 3; do echo $i; "
                                                      "sleep 0.2; done",
                                         "config": paragraph_config(), "params": {}})
        for w in (ws, other):
            final, out = await run_done(w, p1)
            assert final["status"] == "FINISHED" and out == "1\n2\n3\n"
            assert final["results"] == {"code": "SUCCESS",
                                        "msg": [{"type": "TEXT", "data": "1\n2\n3\n"}]}

        # RUN_ALL_PARAGRAPHS (the list as a JSON string): one after the other
        paras = [{"id": p0, "title": f"t-{p0}", "paragraph": "%sh\necho zero",
                  "config": paragraph_config(), "params": {}},
                 {"id": p1, "title": f"t-{p1}", "paragraph": "%sh\necho one; sleep 0.3",
                  "config": paragraph_config(), "params": {}}]
        await send(ws, "RUN_ALL_PARAGRAPHS", {"noteId": nid, "paragraphs": json.dumps(paras)})
        for w in (ws, other):
            final, out = await run_done(w, p0)
            assert final["status"] == "FINISHED" and out == "zero\n"
            final, out = await run_done(w, p1)
            assert final["status"] == "FINISHED" and out == "one\n"
        await ws.nothing(0.5)
        # the run's results are in the file
        for _ in range(50):
            on_disk = json.loads((nbdir / f"team/demo_{nid}.zpln").read_text())
            if on_disk["paragraphs"][1].get("status") == "FINISHED":
                break
            await asyncio.sleep(0.05)
        assert on_disk["paragraphs"][1]["results"]["msg"][0]["data"] == "one\n"

        # NOTE_RENAME: NOTE to the watchers, NOTES_INFO to all; the file moves
        await send(ws, "NOTE_RENAME", {"id": nid, "name": "/team/renamed"})
        for w in (ws, other):
            assert (await expect(w, "NOTE"))["note"]["path"] == "/team/renamed"
            assert (await expect(w, "NOTES_INFO"))["notes"] == [
                {"id": nid, "path": "/team/renamed"}]
        assert zpln_files(nbdir) == [f"team/renamed_{nid}.zpln"]

        # CLONE_NOTE: NEW_NOTE to the sender (now watching the clone)
        mid = await send(ws, "CLONE_NOTE", {"id": nid, "name": "/copy"})
        clone = (await expect(ws, "NEW_NOTE", mid))["note"]
        cid = clone["id"]
        assert cid != nid and clone["path"] == "/copy"
        assert [p["text"] for p in clone["paragraphs"]] == [p["paragraph"] for p in paras]
        assert clone["paragraphs"][1]["results"]["msg"][0]["data"] == "one\n"
        for w in (ws, other):
            ids = sorted(n["id"] for n in (await expect(w, "NOTES_INFO"))["notes"])
            assert ids == sorted([nid, cid])

        # MOVE_NOTE_TO_TRASH and RESTORE_NOTE: the trash is a folder
        await send(ws, "MOVE_NOTE_TO_TRASH", {"id": cid})
        assert (await expect(ws, "NOTE"))["note"]["path"] == "/~Trash/copy"
        for w in (ws, other):
            paths = {n["id"]: n["path"] for n in (await expect(w, "NOTES_INFO"))["notes"]}
            assert paths[cid] == "/~Trash/copy"
        assert f"~Trash/copy_{cid}.zpln" in zpln_files(nbdir)
        await send(ws, "RESTORE_NOTE", {"id": cid})
        assert (await expect(ws, "NOTE"))["note"]["path"] == "/copy"
        for w in (ws, other):
            paths = {n["id"]: n["path"] for n in (await expect(w, "NOTES_INFO"))["notes"]}
            assert paths[cid] == "/copy"
        assert zpln_files(nbdir) == [f"copy_{cid}.zpln", f"team/renamed_{nid}.zpln"]

        # DEL_NOTE: gone from the list and from disk
        await send(ws, "DEL_NOTE", {"id": cid})
        for w in (ws, other):
            assert (await expect(w, "NOTES_INFO"))["notes"] == [
                {"id": nid, "path": "/team/renamed"}]
        assert zpln_files(nbdir) == [f"team/renamed_{nid}.zpln"]
        mid = await send(ws, "GET_NOTE", {"id": cid})
        assert (await expect(ws, "ERROR_INFO", mid)) == {"info": f"No such note: {cid}"}
        await ws.nothing(0.3)
        await other.nothing(0.1)
        await ws.close()
        await other.close()
    arun(main())


def test_paragraph_ops_and_quiet_ops(zstart, nbdir):
    """Moving, copying, clearing and removing paragraphs, and the ops a
    front end sends on its own: never an ERROR_INFO."""
    s = zstart()

    async def main():
        ws = await ZWS.connect(s)
        mid = await send(ws, "NEW_NOTE", {"name": "ops"})
        note = (await expect(ws, "NEW_NOTE", mid))["note"]
        nid, p0 = note["id"], note["paragraphs"][0]["id"]
        assert note["path"] == "/ops"
        await expect(ws, "NOTES_INFO")
        mid = await send(ws, "GET_NOTE", {"id": nid})
        await expect(ws, "NOTE", mid)
        await send(ws, "COPY_PARAGRAPH", {"index": 1, "title": "copied",
                                          "paragraph": "%sh\necho copied",
                                          "config": paragraph_config(), "params": {}})
        added = await expect(ws, "PARAGRAPH_ADDED")
        p1 = added["paragraph"]["id"]
        assert added["index"] == 1
        p = (await expect(ws, "PARAGRAPH"))["paragraph"]
        assert p["id"] == p1 and p["text"] == "%sh\necho copied" and p["title"] == "copied"
        await send(ws, "RUN_PARAGRAPH", {"id": p1, "paragraph": "%sh\necho copied",
                                         "config": paragraph_config(), "params": {}})
        final, out = await run_done(ws, p1)
        assert out == "copied\n"
        await send(ws, "MOVE_PARAGRAPH", {"id": p1, "index": 0})
        assert await expect(ws, "PARAGRAPH_MOVED") == {"id": p1, "index": 0}
        await send(ws, "PARAGRAPH_CLEAR_OUTPUT", {"id": p1})
        p = (await expect(ws, "PARAGRAPH"))["paragraph"]
        assert "results" not in p and p["status"] == "READY"
        await send(ws, "PARAGRAPH_CLEAR_ALL_OUTPUT", {"id": nid})
        assert [q["id"] for q in (await expect(ws, "NOTE"))["note"]["paragraphs"]] == [p1, p0]
        await send(ws, "PARAGRAPH_REMOVE", {"id": p0})
        assert await expect(ws, "PARAGRAPH_REMOVED") == {"id": p0}
        mid = await send(ws, "MOVE_PARAGRAPH", {"id": p1, "index": 5})
        assert (await expect(ws, "ERROR_INFO", mid))["info"] == \
            "MOVE_PARAGRAPH: 'index' must be an integer from 0 to 0"
        # collaborative editing: a diff-match-patch patch goes to the text
        other = await ZWS.connect(s)
        mid = await send(other, "GET_NOTE", {"id": nid})
        await expect(other, "NOTE", mid)
        patch = "@@ -6,8 +6,12 @@\n cho \n+new \n copi\n"
        await send(ws, "PATCH_PARAGRAPH", {"id": p1, "noteId": nid, "patch": patch})
        assert await expect(other, "PATCH_PARAGRAPH") == {"patch": patch, "paragraphId": p1}
        await ws.nothing(0.3)
        mid = await send(other, "GET_NOTE", {"id": nid})
        got = (await expect(other, "NOTE", mid))["note"]
        assert got["paragraphs"][0]["text"] == "%sh\necho new copied"

        # answered as Zeppelin answers them, never ERROR_INFO
        mid = await send(ws, "COMPLETION", {"id": p1, "buf": "ech", "cursor": 3})
        assert await expect(ws, "COMPLETION_LIST", mid) == {"id": p1, "completions": []}
        mid = await send(ws, "GET_INTERPRETER_SETTINGS")
        settings = (await expect(ws, "INTERPRETER_SETTINGS", mid))["interpreterSettings"]
        sh = [x for x in settings if x["name"] == "sh"][0]
        assert sh["interpreterGroup"][0]["name"] == "sh" and sh["status"] == "READY"
        mid = await send(ws, "CHECKPOINT_NOTE", {"noteId": nid, "commitMessage": "c"})
        assert await expect(ws, "LIST_REVISION_HISTORY", mid) == {"revisionList": []}
        mid = await send(ws, "NOTE_REVISION", {"noteId": nid, "revisionId": "r1"})
        rev = await expect(ws, "NOTE_REVISION", mid)
        assert rev["noteId"] == nid and rev["revisionId"] == "r1" and rev["note"]["id"] == nid
        mid = await send(ws, "NOTE_REVISION_FOR_COMPARE", {"noteId": nid, "revisionId": "r1",
                                                           "position": "first"})
        rev = await expect(ws, "NOTE_REVISION_FOR_COMPARE", mid)
        assert (rev["position"], rev["note"]["id"]) == ("first", nid)
        await send(ws, "UPDATE_PERSONALIZED_MODE", {"id": nid, "personalized": "true"})
        assert (await expect(ws, "NOTE"))["note"]["config"]["personalizedMode"] == "true"
        await send(ws, "SAVE_NOTE_FORMS", {"noteId": nid, "noteParams": {"city": "Oslo"}})
        assert await expect(ws, "SAVE_NOTE_FORMS") == {
            "formsData": {"forms": {}, "params": {"city": "Oslo"}}}
        await send(ws, "NOTE_UPDATE", {"id": nid, "name": "ops2",
                                       "config": {"isZeppelinNotebookCronEnable": False,
                                                  "looknfeel": "simple"}})
        upd = await expect(ws, "NOTE_UPDATED")
        assert upd["name"] == "ops2" and upd["config"]["looknfeel"] == "simple"
        assert (await expect(ws, "NOTES_INFO"))["notes"] == [{"id": nid, "path": "/ops2"}]
        for op in ("WATCHER", "PING", "LIST_NOTE_JOBS", "UNSUBSCRIBE_UPDATE_NOTE_JOBS"):
            await send(ws, op)
        mid = await send(ws, "RELOAD_NOTE", {"id": nid})
        got = (await expect(ws, "NOTE", mid))["note"]
        assert got["path"] == "/ops2" and got["noteParams"] == {"city": "Oslo"}
        # IMPORT_NOTE: IMPORT_NOTE to the sender, NOTES_INFO to all
        imp = dict(got, name="imported/again")
        mid = await send(ws, "IMPORT_NOTE", {"note": imp})
        new = (await expect(ws, "IMPORT_NOTE", mid))["note"]
        assert new["id"] != nid and new["path"] == "/imported/again"
        assert [q["text"] for q in new["paragraphs"]] == [q["text"] for q in got["paragraphs"]]
        assert len((await expect(ws, "NOTES_INFO"))["notes"]) == 2
        await ws.nothing(0.3)
        await ws.close()
        await other.close()
    arun(main())
    on_disk = json.loads((nbdir / zpln_files(nbdir)[1]).read_text())
    assert on_disk["noteParams"] == {"city": "Oslo"} and on_disk["config"]["looknfeel"] == "simple"
    assert "personalizedMode" not in on_disk["config"]  # NOTE_UPDATE replaced the config


def test_folders_and_trash(zstart, nbdir):
    """The home page's folder menu and trash: rename a folder, move it to
    the trash and back, restore all, empty the trash, remove a folder."""
    s = zstart()

    async def main():
        ws = await ZWS.connect(s)
        other = await ZWS.connect(s)
        ids = {}
        for path in ("/f/a", "/f/sub/b", "/g"):
            mid = await send(ws, "NEW_NOTE", {"name": path})
            ids[path] = (await expect(ws, "NEW_NOTE", mid))["note"]["id"]
            await expect(ws, "NOTES_INFO")
            await expect(other, "NOTES_INFO")

        async def paths():
            for w in (ws, other):
                got = {n["id"]: n["path"] for n in (await expect(w, "NOTES_INFO"))["notes"]}
            return {p: got.get(i) for p, i in ids.items()}

        await send(ws, "FOLDER_RENAME", {"id": "/f", "name": "/h"})
        assert await paths() == {"/f/a": "/h/a", "/f/sub/b": "/h/sub/b", "/g": "/g"}
        await send(ws, "MOVE_FOLDER_TO_TRASH", {"id": "h"})
        assert await paths() == {"/f/a": "/~Trash/h/a", "/f/sub/b": "/~Trash/h/sub/b",
                                 "/g": "/g"}
        assert zpln_files(nbdir) == [f"g_{ids['/g']}.zpln", f"~Trash/h/a_{ids['/f/a']}.zpln",
                                     f"~Trash/h/sub/b_{ids['/f/sub/b']}.zpln"]
        await send(ws, "RESTORE_FOLDER", {"id": "~Trash/h"})
        assert await paths() == {"/f/a": "/h/a", "/f/sub/b": "/h/sub/b", "/g": "/g"}
        mid = await send(ws, "FOLDER_RENAME", {"id": "/h", "name": "/h/sub/deeper"})
        assert (await expect(ws, "ERROR_INFO", mid))["info"] == \
            "Can not move folder /h into itself"
        mid = await send(ws, "FOLDER_RENAME", {"id": "/nope", "name": "/g2"})
        assert (await expect(ws, "ERROR_INFO", mid))["info"] == "No such folder: /nope"
        await send(ws, "MOVE_NOTE_TO_TRASH", {"id": ids["/g"]})
        await expect(ws, "NOTE")
        assert (await paths())["/g"] == "/~Trash/g"
        await send(ws, "RESTORE_ALL")
        assert (await paths())["/g"] == "/g"
        await send(ws, "MOVE_FOLDER_TO_TRASH", {"id": "h"})
        await paths()
        await send(ws, "EMPTY_TRASH")
        assert await paths() == {"/f/a": None, "/f/sub/b": None, "/g": "/g"}
        assert zpln_files(nbdir) == [f"g_{ids['/g']}.zpln"]
        mid = await send(ws, "REMOVE_FOLDER", {"id": "nothing"})
        for w in (ws, other):
            assert len((await expect(w, "NOTES_INFO"))["notes"]) == 1
        await ws.nothing(0.3)
        await other.nothing(0.1)
        await ws.close()
        await other.close()
    arun(main())


def test_rest_calls_of_the_front_ends(zstart):
    s = zstart()
    for path, body in (("/api/configurations/client", None),
                       ("/api/notebook/capabilities", {"isRevisionSupported": False}),
                       ("/api/notebook", []),
                       ("/api/helium/order/visualization", []),
                       ("/api/helium/enabledPackage", [])):
        st, hdrs, got = s.http_json("GET", path)
        assert st == 200 and hdrs["content-type"].startswith("application/json"), path
        assert got["status"] == "OK", got
        if body is not None:
            assert got["body"] == body, (path, got)
    st, _, got = s.http_json("GET", "/api/configurations/client")
    assert type(got["body"]["wsMaxMessageSize"]) is int and got["body"]["wsMaxMessageSize"] > 0
    st, _, _ = s.http("POST", "/api/notebook/capabilities")
    assert st == 405


# --------------------------------------------------------------------------
# On disk
# --------------------------------------------------------------------------

async def make_notes(s):
    """Two notes with paragraphs and results; their NOTE objects."""
    ws = await ZWS.connect(s)
    notes = []
    for name, lines in (("/a/first", ["echo one", "echo two >&2; exit 3"]),
                        ("/second", ["printf 'x\\ny'"])):
        mid = await send(ws, "NEW_NOTE", {"name": name})
        nid = (await expect(ws, "NEW_NOTE", mid))["note"]["id"]
        await expect(ws, "NOTES_INFO")
        for i, line in enumerate(lines):
            pid = f"p{i}"
            await send(ws, "RUN_PARAGRAPH", {"id": pid, "noteId": nid, "paragraph": "%sh\n" + line,
                                             "config": paragraph_config(), "params": {}})
            await run_done(ws, pid)
        mid = await send(ws, "GET_NOTE", {"id": nid})
        notes.append((await expect(ws, "NOTE", mid))["note"])
    await ws.close()
    return notes


async def read_notes(s):
    ws = await ZWS.connect(s)
    mid = await send(ws, "LIST_NOTES")
    listed = (await expect(ws, "NOTES_INFO", mid))["notes"]
    got = {}
    for n in listed:
        mid = await send(ws, "GET_NOTE", {"id": n["id"]})
        got[n["id"]] = (await expect(ws, "NOTE", mid))["note"]
    await ws.close()
    return listed, got


def test_restart_finds_every_note(zstart, nbdir):
    s = zstart()
    before = arun(make_notes(s))
    # the writes behind the last results are acknowledged by nothing: let them land
    s.expect_exit = True
    assert s.stop(signal.SIGTERM) == 0
    s2 = zstart("znb2")
    listed, after = arun(read_notes(s2))
    assert sorted((n["id"], n["path"]) for n in listed) == sorted(
        (n["id"], n["path"]) for n in before)
    for n in before:
        a = after[n["id"]]
        assert a["name"] == n["name"] and len(a["paragraphs"]) == len(n["paragraphs"])
        for p, q in zip(n["paragraphs"], a["paragraphs"]):
            for k in ("id", "text", "status", "results", "config", "dateStarted",
                      "dateFinished", "jobName"):
                assert q.get(k) == p.get(k), (k, p, q)
    first = [n for n in before if n["path"] == "/a/first"][0]
    assert [p["status"] for p in first["paragraphs"]] == ["READY", "FINISHED", "ERROR"]
    assert first["paragraphs"][2]["results"]["msg"] == [
        {"type": "TEXT", "data": "two\n"}, {"type": "TEXT", "data": "Process exited with code 3"}]
    assert "zeppelin.notes_loaded notes=2" in s2.log_text()


def test_sigkill_after_commit_keeps_the_text(zstart, nbdir):
    s = zstart()

    async def main():
        ws = await ZWS.connect(s)
        mid = await send(ws, "NEW_NOTE", {"name": "killed"})
        note = (await expect(ws, "NEW_NOTE", mid))["note"]
        await expect(ws, "NOTES_INFO")
        pid = note["paragraphs"][0]["id"]
        await send(ws, "COMMIT_PARAGRAPH", {"id": pid, "noteId": note["id"],
                                            "paragraph": "%sh\necho survived",
                                            "config": {}, "params": {}})
        await expect(ws, "PARAGRAPH")
        # acknowledged: on disk now, whatever happens next
        os.kill(s.pid, signal.SIGKILL)
        return note["id"], pid
    nid, pid = arun(main())
    s.proc.wait(5)
    s.expect_exit = True
    s2 = zstart("znb2")

    async def again():
        ws = await ZWS.connect(s2)
        mid = await send(ws, "GET_NOTE", {"id": nid})
        n = (await expect(ws, "NOTE", mid))["note"]
        assert n["path"] == "/killed" and n["paragraphs"][0]["text"] == "%sh\necho survived"
        await send(ws, "RUN_PARAGRAPH", {"id": pid, "paragraph": "%sh\necho survived",
                                         "config": {}, "params": {}})
        final, out = await run_done(ws, pid)
        assert out == "survived\n"
        await ws.close()
    arun(again())


# A note as Zeppelin 0.10/0.11 writes it (GsonNoteParser: pretty-printed,
# dates "yyyy-MM-dd HH:mm:ss.SSS", a negative random part in jobName, HTML
# results from %md), in a folder, named {path}_{noteId}.zpln.
UPSTREAM_ZPLN = r'''{
  "paragraphs": [
    {
      "title": "Say hello",
      "text": "%sh\necho hello from zeppelin 0.10",
      "user": "anonymous",
      "dateUpdated": "2021-08-10 12:32:06.102",
      "progress": 0,
      "config": {
        "editorSetting": {
          "language": "sh",
          "editOnDblClick": false,
          "completionKey": "TAB",
          "completionSupport": false
        },
        "colWidth": 12.0,
        "editorMode": "ace/mode/sh",
        "fontSize": 9.0,
        "title": true,
        "results": {},
        "enabled": true
      },
      "settings": {
        "params": {},
        "forms": {}
      },
      "results": {
        "code": "SUCCESS",
        "msg": [
          {
            "type": "TEXT",
            "data": "hello from zeppelin 0.10\n"
          }
        ]
      },
      "apps": [],
      "runtimeInfos": {},
      "progressUpdateIntervalMs": 500,
      "jobName": "paragraph_1628598715472_1430436066",
      "id": "paragraph_1628598715472_1430436066",
      "dateCreated": "2021-08-10 12:31:55.472",
      "dateStarted": "2021-08-10 12:32:06.107",
      "dateFinished": "2021-08-10 12:32:06.123",
      "status": "FINISHED"
    },
    {
      "text": "%md\n## Notes",
      "user": "anonymous",
      "dateUpdated": "2021-08-10 12:33:10.010",
      "progress": 0,
      "config": {
        "colWidth": 12.0,
        "fontSize": 9.0,
        "enabled": true,
        "results": {},
        "editorSetting": {
          "language": "markdown",
          "editOnDblClick": true,
          "completionKey": "TAB",
          "completionSupport": false
        },
        "editorMode": "ace/mode/markdown",
        "editorHide": true,
        "tableHide": false
      },
      "settings": {
        "params": {},
        "forms": {}
      },
      "results": {
        "code": "SUCCESS",
        "msg": [
          {
            "type": "HTML",
            "data": "\u003cdiv class\u003d\"markdown-body\"\u003e\n\u003ch2\u003eNotes\u003c/h2\u003e\n\u003c/div\u003e"
          }
        ]
      },
      "apps": [],
      "runtimeInfos": {},
      "progressUpdateIntervalMs": 500,
      "jobName": "paragraph_1628598726302_-883461233",
      "id": "20210810-123206_1766339539",
      "dateCreated": "2021-08-10 12:32:06.302",
      "dateStarted": "2021-08-10 12:33:10.012",
      "dateFinished": "2021-08-10 12:33:10.031",
      "status": "FINISHED"
    }
  ],
  "name": "Hand Written",
  "id": "2GFTQY1XW",
  "defaultInterpreterGroup": "spark",
  "version": "0.10.0",
  "noteParams": {},
  "noteForms": {},
  "angularObjects": {},
  "config": {
    "isZeppelinNotebookCronEnable": false
  },
  "info": {},
  "path": "/team/Hand Written"
}
'''


def test_upstream_note_file_loads_and_runs(zstart, nbdir):
    (nbdir / "team").mkdir()
    f = nbdir / "team" / "Hand Written_2GFTQY1XW.zpln"
    f.write_text(UPSTREAM_ZPLN)
    s = zstart()

    async def main():
        ws = await ZWS.connect(s)
        mid = await send(ws, "LIST_NOTES")
        assert (await expect(ws, "NOTES_INFO", mid))["notes"] == [
            {"id": "2GFTQY1XW", "path": "/team/Hand Written"}]
        mid = await send(ws, "GET_NOTE", {"id": "2GFTQY1XW"})
        n = (await expect(ws, "NOTE", mid))["note"]
        assert n["name"] == "Hand Written" and n["defaultInterpreterGroup"] == "spark"
        p0, p1 = n["paragraphs"]
        assert p0["title"] == "Say hello" and p0["status"] == "FINISHED"
        assert p0["dateFinished"].startswith("2021-08-10T12:32:06")
        assert p1["results"]["msg"][0]["type"] == "HTML"
        assert p1["jobName"] == "paragraph_1628598726302_-883461233"
        await send(ws, "RUN_PARAGRAPH", {"id": p0["id"], "title": p0["title"],
                                         "paragraph": p0["text"], "config": p0["config"],
                                         "params": {}})
        final, out = await run_done(ws, p0["id"])
        assert final["status"] == "FINISHED" and out == "hello from zeppelin 0.10\n"
        await ws.nothing(0.5)
        await ws.close()
    arun(main())
    # rewritten in the same format, same name; what runnel did not touch kept
    assert zpln_files(nbdir) == ["team/Hand Written_2GFTQY1XW.zpln"]
    back = json.loads(f.read_text())
    assert back["id"] == "2GFTQY1XW" and back["path"] == "/team/Hand Written"
    p0, p1 = back["paragraphs"]
    assert p0["results"] == {"code": "SUCCESS",
                             "msg": [{"type": "TEXT", "data": "hello from zeppelin 0.10\n"}]}
    assert p0["dateFinished"] > "2021" and len(p0["dateFinished"]) == 23
    # the interval is this server's (progress_interval_ms), all else as read
    want = dict(json.loads(UPSTREAM_ZPLN)["paragraphs"][1], progressUpdateIntervalMs=200)
    assert p1 == want


def test_corrupt_files_and_read_only_dir(zstart, nbdir):
    (nbdir / "good_2GOODNOTE.zpln").write_text(
        UPSTREAM_ZPLN.replace("2GFTQY1XW", "2GOODNOTE"))
    (nbdir / "broken_2BROKEN01.zpln").write_text('{"paragraphs": [ {"text": ')
    (nbdir / "foreign_2FOREIGN1.zpln").write_text('{"cells": [], "nbformat": 4}')
    (nbdir / "noid.zpln").write_text(UPSTREAM_ZPLN)
    (nbdir / "README.txt").write_text("not a note")
    s = zstart(note_ttl_ms=1000)
    log = s.log_text()
    for name, why in (("broken_2BROKEN01.zpln", "not valid JSON"),
                      ("foreign_2FOREIGN1.zpln", "not a Zeppelin note"),
                      ("noid.zpln", "not a note file name")):
        line = [ln for ln in log.splitlines() if f"file={name}" in ln]
        assert line and "event=zeppelin.note_skipped" in line[0] and why in line[0], (name, log)
    assert "README" not in log

    readonly = os.geteuid() == 0
    if readonly:
        subprocess.run(["mount", "--bind", str(nbdir), str(nbdir)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(nbdir)], check=True)
    else:
        nbdir.chmod(0o555)
    try:
        async def main():
            ws = await ZWS.connect(s)
            mid = await send(ws, "LIST_NOTES")
            assert (await expect(ws, "NOTES_INFO", mid))["notes"] == [
                {"id": "2GOODNOTE", "path": "/good"}]
            mid = await send(ws, "GET_NOTE", {"id": "2GOODNOTE"})
            n = (await expect(ws, "NOTE", mid))["note"]
            pid = n["paragraphs"][0]["id"]
            mid = await send(ws, "COMMIT_PARAGRAPH", {"id": pid, "noteId": "2GOODNOTE",
                                                      "paragraph": "%sh\necho kept",
                                                      "config": {}, "params": {}})
            err = (await expect(ws, "ERROR_INFO", mid))["info"]
            assert err.startswith("Failed to save note 2GOODNOTE in ") and (
                "Read-only file system" in err or "Permission denied" in err), err
            # the note in memory keeps the change
            mid = await send(ws, "GET_NOTE", {"id": "2GOODNOTE"})
            n = (await expect(ws, "NOTE", mid))["note"]
            assert n["paragraphs"][0]["text"] == "%sh\necho kept"
            mid = await send(ws, "NEW_NOTE", {"name": "new"})
            assert (await expect(ws, "ERROR_INFO", mid))["info"].startswith("Failed to save note")
            await ws.nothing(0.3)
            await ws.alive()
            await ws.close()
            # idle past note_ttl_ms: a note its file lacks changes of stays in memory
            await asyncio.sleep(1.5)
            ws = await ZWS.connect(s)
            mid = await send(ws, "GET_NOTE", {"id": "2GOODNOTE"})
            n = (await expect(ws, "NOTE", mid))["note"]
            assert n["paragraphs"][0]["text"] == "%sh\necho kept"
            await ws.close()
        arun(main())
    finally:
        if readonly:
            subprocess.run(["umount", str(nbdir)], check=True)
        else:
            nbdir.chmod(0o755)
    assert "event=zeppelin.save_failed note=2GOODNOTE" in s.log_text()
    # writable again: the next change saves all the note holds
    async def later():
        ws = await ZWS.connect(s)
        mid = await send(ws, "GET_NOTE", {"id": "2GOODNOTE"})
        n = (await expect(ws, "NOTE", mid))["note"]
        pid = n["paragraphs"][1]["id"]
        await send(ws, "PARAGRAPH_CLEAR_OUTPUT", {"id": pid})
        await expect(ws, "PARAGRAPH")
        await ws.close()
    arun(later())
    saved = json.loads((nbdir / "good_2GOODNOTE.zpln").read_text())
    assert saved["paragraphs"][0]["text"] == "%sh\necho kept"
    assert (nbdir / "broken_2BROKEN01.zpln").read_text() == '{"paragraphs": [ {"text": '


def test_limits_name_their_key(zstart):
    s = zstart(max_notes=2, max_paragraphs=2, max_note_bytes=65536)

    async def main():
        ws = await ZWS.connect(s)
        mid = await send(ws, "NEW_NOTE", {"name": "one"})
        nid = (await expect(ws, "NEW_NOTE", mid))["note"]["id"]
        await expect(ws, "NOTES_INFO")
        mid = await send(ws, "NEW_NOTE", {"name": "one"})
        assert (await expect(ws, "ERROR_INFO", mid))["info"] == \
            "Failed to create note.\nNote '/one' existed"
        mid = await send(ws, "NEW_NOTE", {"name": "two"})
        await expect(ws, "NEW_NOTE", mid)
        await expect(ws, "NOTES_INFO")
        mid = await send(ws, "NEW_NOTE", {"name": "three"})
        assert (await expect(ws, "ERROR_INFO", mid))["info"] == \
            "Failed to create note.\nToo many notes (limit 2: zeppelin.max_notes)"
        mid = await send(ws, "GET_NOTE", {"id": nid})
        await expect(ws, "NOTE", mid)
        await send(ws, "INSERT_PARAGRAPH", {"index": 0})
        pid = (await expect(ws, "PARAGRAPH_ADDED"))["paragraph"]["id"]
        mid = await send(ws, "INSERT_PARAGRAPH", {"index": 0})
        assert (await expect(ws, "ERROR_INFO", mid))["info"] == \
            f"Note {nid} has too many paragraphs (limit 2: zeppelin.max_paragraphs)"
        mid = await send(ws, "COMMIT_PARAGRAPH", {"id": pid, "paragraph": "x" * 70000,
                                                  "config": {}, "params": {}})
        assert (await expect(ws, "ERROR_INFO", mid))["info"] == \
            f"Note {nid} is too large (limit 65536 bytes: zeppelin.max_note_bytes)"
        await ws.nothing(0.3)
        await ws.close()
    arun(main())



@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs")
def test_full_disk(zstart, nbdir):
    """A notebook directory with no space left: the change is refused with
    ERROR_INFO saying so, the note stays in memory, and once there is room
    the next change saves it."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(nbdir)], check=True)
    try:
        s = zstart()
        filler = nbdir / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.close(fd)

        async def main():
            ws = await ZWS.connect(s)
            mid = await send(ws, "NEW_NOTE", {"name": "full"})
            err = (await expect(ws, "ERROR_INFO", mid))["info"]
            assert err.startswith("Failed to save note ") and "No space left on device" in err, err
            mid = await send(ws, "LIST_NOTES")
            notes = (await expect(ws, "NOTES_INFO", mid))["notes"]
            assert [n["path"] for n in notes] == ["/full"]
            filler.unlink()
            mid = await send(ws, "GET_NOTE", {"id": notes[0]["id"]})
            pid = (await expect(ws, "NOTE", mid))["note"]["paragraphs"][0]["id"]
            await send(ws, "COMMIT_PARAGRAPH", {"id": pid, "paragraph": "%sh\necho room",
                                                "config": {}, "params": {}})
            await expect(ws, "PARAGRAPH")
            await ws.close()
            return notes[0]["id"]
        nid = arun(main())
        assert "event=zeppelin.save_failed" in s.log_text()
        assert json.loads((nbdir / f"full_{nid}.zpln").read_text())["paragraphs"][0]["text"] == \
            "%sh\necho room"
        assert not list(nbdir.glob(".*.tmp"))
        s.expect_exit = True
        s.stop()
    finally:
        subprocess.run(["umount", str(nbdir)], check=True)
