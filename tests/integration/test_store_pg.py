"""The state store on PostgreSQL (docs/state-store.md): two runneld nodes
share one database (state.store=postgresql://...); a Linkis task submitted
on one is answered by the other, also after the first was SIGKILLed right
after acknowledging it. A throw-away server comes from tests/pg/pg_fixture.sh;
without PostgreSQL installed the tests skip, except under CI=true."""

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from linkis_helpers import ENTRANCE, HISTORY, rest, result_sets
from test_linkis import linkis_specs  # noqa: F401  (the fixture: a few languages only)
from test_linkis_history import CLI, cli_submit, history, wait_history

FIXTURE = Path(__file__).resolve().parent.parent / "pg" / "pg_fixture.sh"


@pytest.fixture(scope="module")
def pg_uri():
    d = tempfile.mkdtemp(prefix="runnel-pg-it.")
    os.rmdir(d)
    p = subprocess.run([str(FIXTURE), "start", d], capture_output=True, text=True)
    if p.returncode == 77:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries missing under CI: " + p.stderr)
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    assert p.returncode == 0, p.stderr
    yield p.stdout.strip()
    subprocess.run([str(FIXTURE), "stop", d])


@pytest.fixture
def nodes(server_factory, linkis_specs, pg_uri):  # noqa: F811
    # A fresh schema per test: the nodes migrate it.
    drop = subprocess.run(["psql", "-q", "-d", pg_uri, "-c",
                           "DROP SCHEMA public CASCADE; CREATE SCHEMA public"],
                          capture_output=True, text=True)
    assert drop.returncode == 0, drop.stderr

    def make(name):
        return server_factory(name, _specs=linkis_specs, _config={"state": {"store": pg_uri}})
    return make


def test_task_answered_by_the_other_node(nodes):
    a, b = nodes("nodeA"), nodes("nodeB")
    assert "backend=postgresql" in a.log_text()
    eid, tid = cli_submit(a, "print('from A')\n", "python")
    task = wait_history(a, tid)
    assert task["status"] == "Succeed", task
    # B never saw the task: it reads it from the shared store (the end is
    # written there just after A's memory has it).
    tb = wait_history(b, tid)
    assert tb["execId"] == eid and tb["status"] == "Succeed"
    assert tb["instance"] == task["instance"]
    st, _, s = rest(b, "GET", f"{ENTRANCE}/{eid}/status", headers=CLI)
    assert st == 200 and s["data"]["status"] == "Succeed", s
    assert result_sets(b, tid, CLI) == result_sets(a, tid, CLI)
    # Ids do not collide: B's next task follows A's.
    eid_b, tid_b = cli_submit(b, "print('from B')\n", "python")
    assert tid_b == tid + 1 and eid_b != eid
    assert wait_history(b, tid_b)["status"] == "Succeed"
    st, _, ha = history(a, tid_b)
    assert ha["data"]["task"]["execId"] == eid_b


def test_ack_survives_sigkill_of_the_node(nodes):
    a = nodes("nodeA")
    eid, tid = cli_submit(a, "import time\ntime.sleep(30)\n", "python")
    a.stop(signal.SIGKILL)  # right after the acknowledged submit
    b = nodes("nodeB")  # started after: its start-up leaves A's task alone
    st, _, h = history(b, tid)
    assert st == 200 and h["status"] == 0, h
    assert h["data"]["task"]["execId"] == eid
    # Still A's: B does not mark it (its restart sweep is its own tasks only).
    assert h["data"]["task"]["status"] in ("Inited", "Scheduled", "Running"), h
    # A restarting marks its own unfinished task Failed; B answers that.
    a.start()
    task = wait_history(b, tid)
    assert task["status"] == "Failed" and task["errCode"] == 1
    assert task["errDesc"].startswith("the server restarted while this job was running")


def test_list_from_either_node(nodes):
    a, b = nodes("nodeA"), nodes("nodeB")
    ids = []
    for srv in (a, b, a):
        _, tid = cli_submit(srv, "print(1)\n", "python")
        wait_history(srv, tid)
        ids.append(tid)
    for srv in (a, b):
        st, _, r = rest(srv, "GET", f"{HISTORY}/list?pageNow=1&pageSize=10", headers=CLI)
        assert st == 200, r
        got = sorted(t["taskID"] for t in r["data"]["tasks"])
        assert got == sorted(ids)
