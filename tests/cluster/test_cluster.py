#!/usr/bin/python3
"""The cluster test: three runneld nodes sharing one store behind HAProxy
with the shipped configuration. Drives ranna, Linkis, Judge0 and Zeppelin
traffic through HAProxy, SIGKILLs the node that holds a running Linkis task
and a running and a queued Judge0 submission, and checks that the task is
marked Failed with the reason within dead_after, that the submissions are
queued again once on a survivor and finish, that HAProxy stops sending to
the node, and that what was acknowledged (finished results, submissions,
saved notes) is still answered by every node; then SIGTERMs a node holding
a run: it finishes the run and takes no new ones.

    /usr/bin/python3 tests/cluster/test_cluster.py

Prints the time from SIGKILL to the task marked and to the traffic moved.
Exit status 0 = every check held."""

import asyncio
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import types  # noqa: E402

from cluster import REPO, Cluster, http, http_json, wait  # noqa: E402

sys.path.insert(0, str(REPO / "tests" / "integration"))
from zeppelin_client import ZWS  # noqa: E402

ENTRANCE = "/api/rest_j/v1/entrance"
HEARTBEAT_MS = 500
DEAD_AFTER_MS = 3000


def node_of(exec_id):
    """The instance part of an execID: three 2-digit lengths first."""
    lc, le, li = int(exec_id[0:2]), int(exec_id[2:4]), int(exec_id[4:6])
    off = 6 + lc + le
    return exec_id[off:off + li]


def linkis_submit(port, code):
    st, h, obj = http_json(port, "POST", f"{ENTRANCE}/submit",
                           {"executionCode": code, "runType": "sh"})
    assert st == 200 and obj["status"] == 0, (st, obj)
    return obj["data"]["execID"], obj["data"]["taskID"], h.get("x-runnel-node")


def linkis_status(port, eid):
    st, h, obj = http_json(port, "GET", f"{ENTRANCE}/{eid}/status")
    assert st == 200, (st, obj)
    return obj["data"]["status"], h.get("x-runnel-node")


def linkis_task(port, tid):
    st, _, obj = http_json(port, "GET", f"/api/rest_j/v1/jobhistory/{tid}/get")
    assert st == 200, (st, obj)
    return obj["data"]["task"]


def ranna(port, code="echo hi", headers=None):
    st, h, obj = http_json(port, "POST", "/v1/exec", {"language": "bash", "code": code},
                           headers)
    return st, obj, h.get("x-runnel-node")


def j0_submit(port, code):
    st, h, obj = http_json(port, "POST", "/submissions?base64_encoded=false",
                           {"source_code": code, "language_id": 46})
    assert st == 201 and len(obj.get("token", "")) == 36, (st, obj)
    return obj["token"], h.get("x-runnel-node")


def j0_get(port, token):
    """(HTTP status, the submission or None, the node that answered)."""
    st, h, obj = http_json(port, "GET", f"/submissions/{token}?base64_encoded=false"
                           "&fields=token,stdout,status,message")
    return st, obj if st == 200 else None, h.get("x-runnel-node")


def j0_status(port, token):
    st, obj, _ = j0_get(port, token)
    return obj["status"]["id"] if obj else None


def arun(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def zeppelin_note(port):
    """Through HAProxy: a new note, and a paragraph run in it; its id."""
    ws = await ZWS.connect(types.SimpleNamespace(host="127.0.0.1", port=port))
    try:
        await ws.op("NEW_NOTE", {"name": "/kept note", "defaultInterpreterGroup": "sh"})
        seen = {}
        while len(seen) < 2:  # NEW_NOTE to the sender, NOTES_INFO to everyone
            f = await ws.recv(10)
            seen[f["op"]] = f["data"]
        note = seen["NEW_NOTE"]["note"]
        pid = note["paragraphs"][0]["id"] if note.get("paragraphs") else "p1"
        p = await ws.run_and_collect(pid, "%sh echo zep", note=note["id"], timeout=30)
        assert p.frames[-1]["data"]["paragraph"]["status"] == "FINISHED", p.ops()
        return note["id"]
    finally:
        await ws.close()


def note_path(port, note_id):
    st, _, obj = http_json(port, "GET", "/api/notebook")
    assert st == 200, (st, obj)
    return next((x["path"] for x in obj["body"] if x["id"] == note_id), None)


def note_listed(port, note_id):
    return note_path(port, note_id) is not None


async def zeppelin_rename(port, note_id, name):
    ws = await ZWS.connect(types.SimpleNamespace(host="127.0.0.1", port=port))
    try:
        await ws.op("NOTE_RENAME", {"id": note_id, "name": name})
        while (await ws.recv(10))["op"] != "NOTES_INFO":
            pass
    finally:
        await ws.close()


async def zeppelin_delete(port, note_id):
    ws = await ZWS.connect(types.SimpleNamespace(host="127.0.0.1", port=port))
    try:
        await ws.op("DEL_NOTE", {"id": note_id})
        while (await ws.recv(10))["op"] != "NOTES_INFO":
            pass
    finally:
        await ws.close()


async def delete_while_watched(ports, note_id):
    """note_id is open on node-2 while node-1 deletes it: node-2 drops it
    too, and an edit sent afterwards from the page still open there does
    not bring it back."""
    w = await ZWS.connect(types.SimpleNamespace(host="127.0.0.1", port=ports["node-2"]))
    try:
        await w.op("GET_NOTE", {"id": note_id})
        note = (await w.expect("NOTE", 10))["data"]["note"]
        pid = note["paragraphs"][0]["id"]
        await zeppelin_delete(ports["node-1"], note_id)
        deadline = time.monotonic() + 10
        while True:
            listed = [n for n, p in ports.items()
                      if await asyncio.to_thread(note_listed, p, note_id)]
            if not listed:
                break
            assert time.monotonic() < deadline, f"deleted note still listed by {listed}"
            await asyncio.sleep(0.2)
        await w.op("COMMIT_PARAGRAPH", {"id": pid, "noteId": note_id, "paragraph": "%sh echo back",
                                        "config": {}, "params": {}})
        await asyncio.sleep(2.5)  # two looks at the store
        for n, p in ports.items():
            assert not await asyncio.to_thread(note_listed, p, note_id), f"note back on {n}"
    finally:
        await w.close()


def main():
    c = Cluster(3, heartbeat_ms=HEARTBEAT_MS, dead_after_ms=DEAD_AFTER_MS).start()
    checks = 0
    try:
        e = c.entry
        print(f"store: {'PostgreSQL' if c.pg else 'one shared SQLite file'}; HAProxy on {e}; "
              f"nodes {c.ports}")
        # --- ranna: spread over the nodes
        seen = set()
        for _ in range(9):
            st, obj, node = ranna(e)
            assert st == 200 and obj["stdout"] == "hi\n", (st, obj)
            seen.add(node)
        assert len(seen) >= 2, f"ranna runs all went to {seen}"
        checks += 1
        # --- Linkis: a finished job, answered later by any node
        eid_done, tid_done, _ = linkis_submit(e, "echo kept")
        wait(lambda: linkis_status(e, eid_done)[0] == "Succeed", 30, "first job")
        checks += 1
        # --- Judge0: finished submissions, spread over the nodes; every node
        # answers every one (from the store when another node ran it)
        j0_done = {}
        for i in range(6):
            tok, node = j0_submit(e, f"echo j0-{i}")
            j0_done[tok] = (node, f"j0-{i}\n")
        assert len({n for n, _ in j0_done.values()}) >= 2, j0_done
        for tok, (_, out) in j0_done.items():
            wait(lambda: j0_status(e, tok) == 3, 30, "Judge0 submission accepted")
            for name, port in c.ports.items():
                st, obj, _ = j0_get(port, tok)
                assert st == 200 and obj["stdout"] == out, (name, st, obj)
        checks += 1
        # --- Zeppelin: a saved note
        note_id = arun(zeppelin_note(e))
        if c.pg:
            # every node lists it within a look at the store (ZP_SYNC_MS)
            wait(lambda: all(note_listed(p, note_id) for p in c.ports.values()), 10,
                 "the saved note listed by every node")
            # renamed on one node, deleted on another: every node follows
            arun(zeppelin_rename(c.ports["node-1"], note_id, "/kept note renamed"))
            wait(lambda: all(note_path(p, note_id) == "/kept note renamed"
                             for p in c.ports.values()), 10, "the rename seen by every node")
            gone_id = arun(zeppelin_note(c.ports["node-3"]))
            wait(lambda: note_listed(c.ports["node-1"], gone_id), 10, "second note on node-1")
            wait(lambda: note_listed(c.ports["node-2"], gone_id), 10, "second note on node-2")
            arun(delete_while_watched(c.ports, gone_id))
            checks += 1
        # --- running Linkis jobs: one per node; taskIDs unique over the cluster
        running = {}
        tids = set()
        for _ in range(30):
            eid, tid, _ = linkis_submit(e, "sleep 40; echo late")
            assert tid not in tids, f"taskID {tid} given twice"
            tids.add(tid)
            running.setdefault(node_of(eid), (eid, tid))
            if len(running) == 3:
                break
        assert len(running) == 3, f"jobs landed on {sorted(running)} only"
        for node, (eid, tid) in running.items():
            status, served_by = linkis_status(e, eid)
            assert status == "Running" and served_by == node, (node, status, served_by)
        checks += 1
        # --- SIGKILL the node holding the note's (or any) running job
        victim = "node-2"
        veid, vtid = running[victim]
        # and a running and a queued Judge0 submission (node-2 has two
        # slots, one taken by its Linkis job)
        j0_lost = [j0_submit(c.ports[victim], f"sleep 1; echo taken-over-{i}")[0]
                   for i in range(2)]
        wait(lambda: j0_status(c.ports["node-1"], j0_lost[0]) == 2, 10,
             "the victim's submission Processing, read through another node")
        assert j0_status(c.ports["node-3"], j0_lost[1]) == 1, "the second one In Queue"
        c.procs[victim].send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        c.procs[victim].wait()

        def down():
            try:
                return c.server_states().get(victim) != "UP"
            except OSError:
                return False
        t_moved = None
        failures = 0
        deadline = t0 + DEAD_AFTER_MS / 1000 + 10
        t_marked = None
        while (t_marked is None or t_moved is None) and time.monotonic() < deadline:
            if t_moved is None and down():
                t_moved = time.monotonic() - t0
            if t_marked is None and linkis_status(e, veid)[0] == "Failed":
                t_marked = time.monotonic() - t0
            st, obj, node = ranna(e)
            failures += st != 200
            assert node != victim or st != 200, "a run was answered by the killed node"
            time.sleep(0.02)
        assert t_marked is not None, "the killed node's task was never marked Failed"
        assert t_moved is not None, "HAProxy kept the killed node up"
        limit = (DEAD_AFTER_MS + 2 * HEARTBEAT_MS) / 1000 + 1
        assert t_marked <= limit, f"marked after {t_marked:.2f} s > {limit} s"
        task = linkis_task(e, vtid)
        assert task["status"] == "Failed" and "stopped answering" in (task["errDesc"] or ""), task
        lost = [line for n in ("node-1", "node-3") for line in c.log(n).splitlines()
                if "event=cluster.node_lost node=node-2" in line]
        assert len(lost) == 1, f"node-2 claimed {len(lost)} times: {lost}"
        print(f"SIGKILL -> task marked Failed: {t_marked:.2f} s (dead_after {DEAD_AFTER_MS} ms, "
              f"heartbeat {HEARTBEAT_MS} ms)")
        print(f"SIGKILL -> HAProxy marked the node down: {t_moved:.2f} s; ranna runs refused "
              f"meanwhile: {failures}")
        checks += 1
        # the victim's Judge0 submissions run again, once, on the survivor
        # that claimed the node, and finish
        t_j0 = None
        for i, tok in enumerate(j0_lost):
            wait(lambda: j0_status(e, tok) == 3, 40, f"lost submission {i} accepted")
            st, obj, _ = j0_get(e, tok)
            assert obj["stdout"] == f"taken-over-{i}\n", obj
            reqs = [line for n in ("node-1", "node-3") for line in c.log(n).splitlines()
                    if f"event=judge0.requeued token={tok} ok=yes" in line]
            assert len(reqs) == 1, f"{tok} queued again {len(reqs)} times: {reqs}"
            if t_j0 is None:
                t_j0 = time.monotonic() - t0
        print(f"SIGKILL -> the lost node's Judge0 submissions finished elsewhere: {t_j0:.2f} s")
        checks += 1
        # every run now goes to the survivors
        for _ in range(6):
            st, obj, node = ranna(e)
            assert st == 200 and node in ("node-1", "node-3"), (st, node)
        # the other nodes' jobs were not touched
        for node in ("node-1", "node-3"):
            assert linkis_status(e, running[node][0])[0] == "Running", node
        # acknowledged: the finished job, the submissions, the note
        for tok, (node, out) in j0_done.items():
            for name in ("node-1", "node-3"):
                st, obj, _ = j0_get(c.ports[name], tok)
                assert st == 200 and obj["stdout"] == out, (tok, node, name, st, obj)
        assert linkis_status(e, eid_done)[0] == "Succeed"
        assert linkis_task(e, tid_done)["status"] == "Succeed"
        checks += 1
        if c.pg:
            # the note is in the shared store: any node answers it
            for _ in range(4):
                assert note_listed(e, note_id), "the saved note is not listed through HAProxy"
            # a node started now, with an empty notebook directory, answers it
            c.start_node("node-4")
            assert note_listed(c.ports["node-4"], note_id), "the saved note is not in the store"
            c.procs["node-4"].send_signal(signal.SIGTERM)
            assert c.procs["node-4"].wait(20) == 0
            checks += 1
        # kill through HAProxy: routed to the node holding the job
        for node in ("node-1", "node-3"):
            eid = running[node][0]
            st, h, obj = http_json(e, "GET", f"{ENTRANCE}/{eid}/kill")
            assert st == 200 and obj["status"] == 0 and h.get("x-runnel-node") == node, \
                (st, obj, h)
            wait(lambda: linkis_status(e, eid)[0] == "Cancelled", 10, f"{node} job cancelled")
        checks += 1
        # --- SIGTERM drain: node-1 finishes its run and takes no new ones
        deid, dtid, _ = linkis_submit(c.ports["node-1"], "sleep 2; echo drained")
        assert node_of(deid) == "node-1"
        c.procs["node-1"].send_signal(signal.SIGTERM)
        t1 = time.monotonic()
        def refused(method, path, body=None):
            """The draining node answers 503, or takes no new connection."""
            try:
                st, _, obj = http_json(c.ports["node-1"], method, path, body, timeout=3)
                return st == 503 or (path.endswith("submit") and obj.get("status") != 0)
            except OSError:
                return True
        wait(lambda: refused("GET", "/readyz"), 5, "readyz refused")
        c.wait_servers(lambda st: st.get("node-1") != "UP", 5)
        print(f"SIGTERM -> HAProxy marked the node down: {time.monotonic() - t1:.2f} s")
        assert refused("POST", f"{ENTRANCE}/submit", {"executionCode": "echo no",
                                                      "runType": "sh"})
        for _ in range(4):
            st, obj, node = ranna(e)
            assert st == 200 and node == "node-3", (st, node)
        wait(lambda: linkis_status(e, deid)[0] == "Succeed", 20, "drained job ends Succeed")
        assert c.procs["node-1"].wait(20) == 0
        checks += 1
        # --- the store goes away: the last node answers /readyz 503
        if c.pg:
            c.as_postgres([str(c.pg_bin / "pg_ctl"), "-D", str(c.pg_dir / "data"), "-m",
                           "immediate", "-w", "stop"])
            t2 = time.monotonic()

            def not_ready():
                try:
                    return http(c.ports["node-3"], "GET", "/readyz", timeout=2)[0] == 503
                except OSError:
                    return False
            wait(not_ready, DEAD_AFTER_MS / 1000 + 5, "readyz 503 without the store")
            print(f"store stopped -> /readyz 503: {time.monotonic() - t2:.2f} s")
            checks += 1
        print(f"cluster test: {checks} checks passed")
        return 0
    except AssertionError:
        for name in ("node-1", "node-2", "node-3", "haproxy"):
            print(f"----- {name} log tail -----\n{c.log(name)[-2500:]}")
        raise
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
