"""Zeppelin notes per tenant: with auth.users, each token names a user and
notes carry Zeppelin's owners, readers, writers and runners. A note is its
maker's alone; another user's list lacks it, and reading, running or
deleting it gets Zeppelin's AUTH_INFO (REST: 403 FORBIDDEN); the owner
shares it with PUT /api/notebook/{id}/permissions; an admin sees all;
permissions survive a restart; broadcasts reach only readers.
"""

import asyncio
import itertools
import json
import signal

import pytest

from conftest import arun
from zeppelin_client import ZWS
from test_zeppelin import zspecs  # noqa: F401  (the fixture)

TOKENS = {"alice": "tok-alice-0123456789", "bob": "tok-bob-0123456789",
          "carol": "tok-carol-0123456789", "root": "tok-root-0123456789"}
_seq = itertools.count(1)


def bearer(user):
    return {"Authorization": f"Bearer {TOKENS[user]}"}


def denial(perm, allowed, user):
    """NotebookService.checkPermission's words."""
    return (f"Insufficient privileges to {perm} note.\nAllowed users or roles: "
            f"[{', '.join(allowed)}]\nBut the user {user} belongs to: [{user}]")


@pytest.fixture
def nbdir(tmp_path):
    d = tmp_path / "notebook"
    d.mkdir()
    return d


@pytest.fixture
def tstart(server_factory, zspecs, nbdir):  # noqa: F811
    def make(name="ztenants"):
        return server_factory(name, _specs=zspecs, _config={
            "zeppelin": {"notebook_dir": str(nbdir), "progress_interval_ms": 200},
            "auth": {"users": [f"{u}:{t}" for u, t in TOKENS.items()], "admins": ["root"]}})
    return make


async def connect(s, user):
    return await ZWS.connect(s, headers=bearer(user))


async def send(ws, op, data=None):
    f = {"op": op, "principal": "anonymous", "ticket": "anonymous", "roles": "[]",
         "msgId": f"t-{next(_seq)}"}
    if data is not None:
        f["data"] = data
    await ws.send(f)
    return f["msgId"]


async def expect(ws, op, msgid=None):
    f = await ws.expect(op)
    if msgid is not None:
        assert f.get("msgId") == msgid, f
    return f["data"]


async def listed(ws):
    mid = await send(ws, "LIST_NOTES")
    return {n["id"] for n in (await expect(ws, "NOTES_INFO", mid))["notes"]}


async def denied(ws, op, data, info):
    mid = await send(ws, op, data)
    got = await expect(ws, "AUTH_INFO", mid)
    assert got["info"] == info, got
    await ws.nothing()


def rest(s, method, path, user, body=None):
    st, _, obj = s.http_json(method, path, body, headers=bearer(user))
    return st, obj


def perms(readers, owners, writers, runners):
    return {"readers": readers, "owners": owners, "writers": writers, "runners": runners}


def test_notes_belong_to_their_user(tstart, nbdir):
    s = tstart()

    async def main():
        alice, bob, root = [await connect(s, u) for u in ("alice", "bob", "root")]
        # alice makes a note: hers alone; bob's NOTES_INFO broadcast lacks it
        mid = await send(alice, "NEW_NOTE", {"name": "/alice/secret"})
        note = (await expect(alice, "NEW_NOTE", mid))["note"]
        nid, pid = note["id"], note["paragraphs"][0]["id"]
        assert note["paragraphs"][0]["user"] == "alice"
        assert [n["id"] for n in (await expect(alice, "NOTES_INFO"))["notes"]] == [nid]
        assert (await expect(bob, "NOTES_INFO"))["notes"] == []
        assert [n["id"] for n in (await expect(root, "NOTES_INFO"))["notes"]] == [nid]
        await send(alice, "COMMIT_PARAGRAPH", {"id": pid, "noteId": nid, "config": {},
                                               "paragraph": "%sh\necho alice-secret",
                                               "params": {}})
        p = (await expect(alice, "PARAGRAPH"))["paragraph"]
        assert p["text"] == "%sh\necho alice-secret"
        await bob.nothing()

        # bob: not listed, not readable, not runnable, not deletable
        assert nid not in await listed(bob)
        await denied(bob, "GET_NOTE", {"id": nid}, denial("READER", ["alice"], "bob"))
        await denied(bob, "RUN_PARAGRAPH", {"id": pid, "noteId": nid, "paragraph": "%sh\nid",
                                            "config": {}, "params": {}},
                     denial("RUNNER", ["alice"], "bob"))
        await denied(bob, "DEL_NOTE", {"id": nid}, denial("OWNER", ["alice"], "bob"))
        await denied(bob, "NOTE_RENAME", {"id": nid, "name": "/mine"},
                     denial("OWNER", ["alice"], "bob"))
        await denied(bob, "CLONE_NOTE", {"id": nid}, denial("READER", ["alice"], "bob"))
        # a folder bob sees nothing in is no folder to him
        mid = await send(bob, "MOVE_FOLDER_TO_TRASH", {"id": "alice"})
        assert (await expect(bob, "ERROR_INFO", mid))["info"] == "No such folder: /alice"
        await send(bob, "EMPTY_TRASH")
        assert (await expect(bob, "NOTES_INFO"))["notes"] == []
        for ws in (alice, root):
            await expect(ws, "NOTES_INFO")

        # REST: the same answers, Zeppelin's JSON shape
        assert rest(s, "GET", "/api/notebook", "bob") == (200, {"status": "OK", "message": "",
                                                               "body": []})
        st, obj = rest(s, "GET", f"/api/notebook/{nid}", "bob")
        assert (st, obj) == (403, {"status": "FORBIDDEN",
                                   "message": denial("READER", ["alice"], "bob")})
        st, obj = rest(s, "GET", f"/api/notebook/{nid}/paragraph/{pid}", "bob")
        assert (st, obj["status"]) == (403, "FORBIDDEN"), obj
        st, obj = rest(s, "GET", f"/api/notebook/{nid}/permissions", "bob")
        assert (st, obj["status"]) == (403, "FORBIDDEN"), obj
        st, obj = rest(s, "PUT", f"/api/notebook/{nid}/permissions", "bob",
                       perms(["bob"], ["bob"], ["bob"], ["bob"]))
        assert (st, obj) == (403, {"status": "FORBIDDEN", "message":
                                   "Insufficient privileges to change permissions.\n\n"
                                   "Allowed owners: [alice]\n\nUser belongs to: [bob]"})
        st, obj = rest(s, "GET", "/api/notebook/NOSUCHNOTE", "bob")
        assert (st, obj) == (404, {"status": "NOT_FOUND", "message": "No such note: NOSUCHNOTE"})
        st, obj = rest(s, "GET", f"/api/notebook/{nid}", "alice")
        assert st == 200 and obj["body"]["paragraphs"][0]["text"] == "%sh\necho alice-secret"
        assert rest(s, "GET", f"/api/notebook/{nid}/permissions", "alice") == (
            200, {"status": "OK", "message": "",
                  "body": perms(["alice"], ["alice"], ["alice"], ["alice"])})

        # the admin sees and reads it
        assert nid in await listed(root)
        mid = await send(root, "GET_NOTE", {"id": nid})
        assert (await expect(root, "NOTE", mid))["note"]["id"] == nid
        assert rest(s, "GET", f"/api/notebook/{nid}", "root")[0] == 200

        # alice lets bob read: his list gets it at once, he reads, but may
        # not run or edit
        st, obj = rest(s, "PUT", f"/api/notebook/{nid}/permissions", "alice",
                       perms(["alice", "bob"], ["alice"], ["alice"], ["alice"]))
        assert (st, obj) == (200, {"status": "OK"})
        assert [n["id"] for n in (await expect(bob, "NOTES_INFO"))["notes"]] == [nid]
        await expect(alice, "NOTE")  # alice watches it
        await expect(alice, "NOTES_INFO")
        mid = await send(bob, "GET_NOTE", {"id": nid})
        got = (await expect(bob, "NOTE", mid))["note"]
        assert got["paragraphs"][0]["text"] == "%sh\necho alice-secret"
        assert rest(s, "GET", f"/api/notebook/{nid}/paragraph/{pid}", "bob")[0] == 200
        await denied(bob, "RUN_PARAGRAPH", {"id": pid, "noteId": nid, "paragraph": "%sh\nid",
                                            "config": {}, "params": {}},
                     denial("RUNNER", ["alice"], "bob"))
        await denied(bob, "COMMIT_PARAGRAPH", {"id": pid, "noteId": nid, "paragraph": "x",
                                               "config": {}, "params": {}},
                     denial("WRITER", ["alice"], "bob"))
        await denied(bob, "CANCEL_PARAGRAPH", {"id": pid, "noteId": nid},
                     denial("RUNNER", ["alice"], "bob"))
        # as a reader he watches alice's run
        await alice.run(pid, "%sh\necho alice-secret", note=nid)
        a = await alice.collect(pid)
        b = await bob.collect(pid)
        assert a.final["status"] == b.final["status"] == "FINISHED"
        assert b.appended() == "alice-secret\n"

        # taken back: bob stops watching and hears nothing more of it
        st, _ = rest(s, "PUT", f"/api/notebook/{nid}/permissions", "alice",
                     perms(["alice"], ["alice"], ["alice"], ["alice"]))
        assert st == 200
        assert (await expect(bob, "NOTES_INFO"))["notes"] == []
        await expect(alice, "NOTE")
        await expect(alice, "NOTES_INFO")
        await send(alice, "COMMIT_PARAGRAPH", {"id": pid, "noteId": nid, "config": {},
                                               "paragraph": "%sh\necho changed", "params": {}})
        await expect(alice, "PARAGRAPH")
        await bob.nothing()
        await denied(bob, "GET_NOTE", {"id": nid}, denial("READER", ["alice"], "bob"))
        for ws in (alice, bob, root):
            await ws.close()
        return nid, pid

    nid, pid = arun(main())
    # kept in the note file, as Zeppelin's sets
    on_disk = json.loads(next(nbdir.rglob(f"*_{nid}.zpln")).read_text())
    assert on_disk["permissions"] == perms(["alice"], ["alice"], ["alice"], ["alice"])

    # restart: permissions still hold
    s.expect_exit = True
    assert s.stop(signal.SIGTERM) == 0
    s2 = tstart("ztenants2")

    async def again():
        bob, root = await connect(s2, "bob"), await connect(s2, "root")
        assert nid not in await listed(bob)
        await denied(bob, "GET_NOTE", {"id": nid}, denial("READER", ["alice"], "bob"))
        assert nid in await listed(root)
        await bob.close()
        await root.close()
    arun(again())
    assert rest(s2, "GET", f"/api/notebook/{nid}", "bob")[0] == 403
    assert rest(s2, "GET", f"/api/notebook/{nid}/permissions", "alice")[1]["body"] == perms(
        ["alice"], ["alice"], ["alice"], ["alice"])
    st, obj = rest(s2, "GET", f"/api/notebook/{nid}/paragraph/{pid}", "alice")
    assert st == 200 and obj["body"]["text"] == "%sh\necho changed"


def test_permission_rules_and_bounds(tstart, nbdir):
    """Upstream's rules: empty sets are everyone, a PUT's empty sets are
    filled with the asker as Zeppelin fills them; names are bounded; a note
    written without permissions (before runnel kept them, or by Zeppelin)
    is everyone's."""
    (nbdir / "old_2OLDNOTE1.zpln").write_text(json.dumps({
        "paragraphs": [], "name": "old", "id": "2OLDNOTE1", "config": {}, "info": {}}))
    s = tstart()

    async def main():
        alice, bob = await connect(s, "alice"), await connect(s, "bob")
        assert await listed(alice) == await listed(bob) == {"2OLDNOTE1"}
        mid = await send(bob, "GET_NOTE", {"id": "2OLDNOTE1"})
        await expect(bob, "NOTE", mid)

        mid = await send(alice, "NEW_NOTE", {"name": "shared"})
        nid = (await expect(alice, "NEW_NOTE", mid))["note"]["id"]
        for ws in (alice, bob):
            await expect(ws, "NOTES_INFO")
        # readers given alone: the asker becomes runner, writer and owner
        st, _ = rest(s, "PUT", f"/api/notebook/{nid}/permissions", "alice",
                     perms(["bob"], [], [], []))
        assert st == 200
        assert rest(s, "GET", f"/api/notebook/{nid}/permissions", "bob")[1]["body"] == perms(
            ["bob"], ["alice"], ["alice"], ["alice"])
        await expect(alice, "NOTE")  # she watches it
        for ws in (alice, bob):
            assert nid in {n["id"] for n in (await expect(ws, "NOTES_INFO"))["notes"]}
        # all empty: everyone may do everything (Zeppelin's "*")
        st, _ = rest(s, "PUT", f"/api/notebook/{nid}/permissions", "alice",
                     perms([], [], [], []))
        assert st == 200
        await expect(alice, "NOTE")
        for ws in (alice, bob):
            await expect(ws, "NOTES_INFO")
        # so bob may now take it over, and alice is out
        st, _ = rest(s, "PUT", f"/api/notebook/{nid}/permissions", "bob",
                     perms(["bob"], ["bob"], ["bob"], ["bob"]))
        assert st == 200
        assert nid not in {n["id"] for n in (await expect(alice, "NOTES_INFO"))["notes"]}
        assert nid in {n["id"] for n in (await expect(bob, "NOTES_INFO"))["notes"]}
        await alice.nothing()
        assert nid not in await listed(alice)
        await alice.close()
        await bob.close()
        return nid

    nid = arun(main())
    # bounds, refused with Zeppelin's error shape; nothing changes
    for body, why in ((perms(["x" * 129], [], [], []), "over 128 bytes"),
                      (perms([f"u{i}" for i in range(65)], [], [], []), "too many names"),
                      ({"readers": "bob"}, "must be a list"),
                      ({"readers": [1]}, "must be a list"),
                      ([], "must be an object")):
        st, obj = rest(s, "PUT", f"/api/notebook/{nid}/permissions", "bob", body)
        assert (st, obj["status"]) == (400, "BAD_REQUEST"), (body, obj)
        assert why in obj["message"], obj
    st, _, data = s.http("PUT", f"/api/notebook/{nid}/permissions", "{not json",
                         headers=bearer("bob"))
    assert st == 400 and json.loads(data)["status"] == "BAD_REQUEST"
    assert rest(s, "GET", f"/api/notebook/{nid}/permissions", "bob")[1]["body"] == perms(
        ["bob"], ["bob"], ["bob"], ["bob"])
