#!/usr/bin/python3
"""Tenants on two nodes sharing PostgreSQL (no HAProxy): a Zeppelin note
private to alice on node-1 is shared with bob, who opens it on node-2;
alice takes it back on node-1, and node-2 stops bob at once although he
is watching the note there (its content waits until nobody uses it, its
permissions do not). A Judge0 submission of alice's is answered to her by
node-2 and to bob by no node.

    /usr/bin/python3 tests/cluster/test_tenants.py

Exit status 0 = every check held."""

import asyncio
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import REPO, Cluster, http_json, wait  # noqa: E402

sys.path.insert(0, str(REPO / "tests" / "integration"))
from zeppelin_client import ZWS  # noqa: E402

TOKENS = {"alice": "tok-alice-0123456789", "bob": "tok-bob-0123456789"}


def bearer(user):
    return {"Authorization": f"Bearer {TOKENS[user]}"}


class TenantCluster(Cluster):
    def node_config(self, name):
        cfg = super().node_config(name)
        cfg["auth"] = {"users": [f"{u}:{t}" for u, t in TOKENS.items()]}
        return cfg


def note_status(port, user, note_id):
    return http_json(port, "GET", f"/api/notebook/{note_id}", headers=bearer(user))[0]


def put_perms(port, user, note_id, perms):
    st, _, obj = http_json(port, "PUT", f"/api/notebook/{note_id}/permissions", perms,
                           headers=bearer(user))
    assert st == 200, (st, obj)


async def ws_for(port, user):
    return await ZWS.connect(types.SimpleNamespace(host="127.0.0.1", port=port),
                             headers=bearer(user))


async def new_note(port):
    ws = await ws_for(port, "alice")
    try:
        await ws.op("NEW_NOTE", {"name": "/alice only", "defaultInterpreterGroup": "sh"})
        while True:
            f = await ws.recv(10)
            if f["op"] == "NEW_NOTE":
                return f["data"]["note"]["id"]
    finally:
        await ws.close()


async def bob_watches_then_loses(c, note_id):
    bob = await ws_for(c.ports["node-2"], "bob")
    try:
        await bob.op("GET_NOTE", {"id": note_id})
        while (await bob.recv(10))["op"] != "NOTE":
            pass
        # alice takes it back on node-1, while bob watches on node-2
        t0 = time.monotonic()
        put_perms(c.ports["node-1"], "alice", note_id,
                  {"readers": ["alice"], "owners": ["alice"], "writers": ["alice"],
                   "runners": ["alice"]})
        wait(lambda: note_status(c.ports["node-2"], "bob", note_id) == 403, 10,
             "node-2 refuses bob the note he watches")
        print(f"permission taken back on node-1 -> refused on node-2: "
              f"{time.monotonic() - t0:.2f} s")
        # and his ops on node-2 are refused
        await bob.op("GET_NOTE", {"id": note_id})
        while True:
            f = await bob.recv(10)
            if f["op"] in ("AUTH_INFO", "NOTE"):
                break
        assert f["op"] == "AUTH_INFO", f
    finally:
        await bob.close()


def main():
    c = TenantCluster(2, haproxy=False, heartbeat_ms=500, dead_after_ms=3000)
    if not c.pg:
        print("cluster tenants test: needs the PostgreSQL store; skipped")
        return 0
    c.start()
    checks = 0
    try:
        note_id = asyncio.run(asyncio.wait_for(new_note(c.ports["node-1"]), 30))
        wait(lambda: note_status(c.ports["node-2"], "alice", note_id) == 200, 10,
             "alice's note on node-2")
        assert note_status(c.ports["node-2"], "bob", note_id) == 403
        checks += 1
        put_perms(c.ports["node-1"], "alice", note_id,
                  {"readers": ["alice", "bob"], "owners": ["alice"], "writers": ["alice"],
                   "runners": ["alice"]})
        wait(lambda: note_status(c.ports["node-2"], "bob", note_id) == 200, 10,
             "the grant reaches node-2")
        checks += 1
        asyncio.run(asyncio.wait_for(bob_watches_then_loses(c, note_id), 60))
        checks += 1
        # Judge0: alice's token answered by the other node to her only
        st, _, obj = http_json(c.ports["node-1"], "POST", "/submissions?wait=true",
                               {"source_code": "echo mine", "language_id": 46},
                               headers=bearer("alice"))
        assert st == 201 and obj["stdout"] == "mine\n", (st, obj)
        tok = obj["token"]
        st, _, obj = http_json(c.ports["node-2"], "GET", f"/submissions/{tok}",
                               headers=bearer("alice"))
        assert st == 200 and obj["stdout"] == "mine\n", (st, obj)
        st, _, obj = http_json(c.ports["node-2"], "GET", f"/submissions/{tok}",
                               headers=bearer("bob"))
        assert st == 404, (st, obj)
        checks += 1
        print(f"cluster tenants test: {checks} checks passed")
        return 0
    except AssertionError:
        for name in ("node-1", "node-2"):
            print(f"----- {name} log tail -----\n{c.log(name)[-2500:]}")
        raise
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
