"""The Zeppelin notebook envelope at /ws, driven through a real client.

Wire shapes are Zeppelin's (../shared/seeds/zeppelin-websocket-protocol.md
and ../shared/reference/linkis-zeppelin.md): frames {op, data, ticket,
principal, roles, msgId?}; PARAGRAPH at each status change, APPEND_OUTPUT
and PROGRESS while running; notes shared between connections.
"""

import asyncio
import copy
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import SPECS, arun
from zeppelin_client import DATE_RE, SEED_RUN, ZWS

PY_HELLO = '%python\nprint("hello from zeppelin")\n'

FAST_PROGRESS = {"zeppelin": {"progress_interval_ms": 200}}


# The conftest's spec subset plus what the mapping tests need.
ZEP_LANGS = ("bash", "sh", "python3", "c", "sqlite", "javascript")


@pytest.fixture(scope="session")
def zspecs(tmp_path_factory):
    if os.environ.get("RUNNEL_IT_FULL_SPECS") == "1":
        return SPECS
    root = tmp_path_factory.mktemp("zeppelin-specs")
    d = root / "specs"
    d.mkdir()
    for name in ZEP_LANGS + ("schema",):
        src = SPECS / f"{name}.json"
        if src.exists():
            shutil.copy(src, d / src.name)
    if (SPECS.parent / "runtimes").exists():
        os.symlink(SPECS.parent / "runtimes", root / "runtimes")
    return d


@pytest.fixture
def zfactory(server_factory, zspecs):
    def make(*a, **kw):
        kw.setdefault("_specs", zspecs)
        return server_factory(*a, **kw)
    return make


@pytest.fixture
def zserver(zfactory):
    return zfactory("zeppelin", _config=FAST_PROGRESS)


# --------------------------------------------------------------------------
# HTTP, PING, LIST_CONFIGURATIONS
# --------------------------------------------------------------------------

def test_security_ticket(zserver):
    st, hdrs, body = zserver.http_json("GET", "/api/security/ticket")
    assert st == 200 and hdrs["content-type"].startswith("application/json")
    assert body == {"status": "OK", "message": "",
                    "body": {"principal": "anonymous", "roles": "[]", "ticket": "anonymous"}}
    st, _, body = zserver.http_json("GET", "/api/version")
    assert st == 200 and body["status"] == "OK" and body["body"]["version"]
    st, _, _ = zserver.http("GET", "/ws")
    assert st == 426


def test_seed_ping_and_list_configurations(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        await ws.send('{"op":"PING","principal":"anonymous","ticket":"anonymous",'
                      '"roles":"[\\"anonymous\\"]"}')
        await ws.nothing(0.5)
        await ws.send('{"op":"LIST_CONFIGURATIONS","principal":"anonymous",'
                      '"ticket":"anonymous","roles":"[\\"anonymous\\"]"}')
        f = await ws.expect("CONFIGURATIONS_INFO")
        assert list(json.loads(ws.raw[-1])) == ["op", "data", "ticket", "principal", "roles"]
        c = f["data"]["configurations"]
        assert c["runnel.version"] == "0.1.0"
        assert "python3" in c["runnel.languages"].split(",")
        assert c["runnel.limits.wall_ms"] == "10000"
        assert c["runnel.limits.output_bytes"] == "1048576"
        assert c["zeppelin.websocket.paragraph_status_progress.enable"] == "true"
        # PING with no fields at all, many times: still no reply, no error
        for _ in range(3):
            await ws.send('{"op":"PING"}')
        await ws.nothing(0.3)
        await ws.alive()
        await ws.close()
    arun(main())


def test_msgid_echoed_on_replies(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        await ws.op("LIST_NOTES", msgId="abcde-7")
        f = await ws.expect("NOTES_INFO")
        assert f["msgId"] == "abcde-7"
        await ws.op("NO_SUCH_OP", msgId="abcde-8")
        f = await ws.expect("ERROR_INFO")
        assert f["msgId"] == "abcde-8"
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# RUN_PARAGRAPH
# --------------------------------------------------------------------------

def test_seed_run_paragraph_python(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        frame = copy.deepcopy(SEED_RUN)
        frame["data"]["paragraph"] = PY_HELLO
        frame["msgId"] = "xyzab-3"
        await ws.send(frame)
        pid = frame["data"]["id"]
        p = await ws.collect(pid)
        ops = p.ops()
        assert p.statuses() == ["PENDING", "RUNNING", "FINISHED"], ops
        assert ops[0] == "PENDING" and ops[1] == "RUNNING" and ops[2] == "PROGRESS", ops
        assert ops[-2:] == ["PROGRESS", "FINISHED"], ops
        assert p.progress()[0] == 0 and p.progress()[-1] == 100, ops
        assert p.appended() == "hello from zeppelin\n"
        for f in p.frames:
            if f["op"] == "PARAGRAPH_APPEND_OUTPUT":
                assert f["data"]["paragraphId"] == pid
                assert isinstance(f["data"]["noteId"], str) and f["data"]["noteId"]
        pending, running, final = [f["data"]["paragraph"] for f in p.frames
                                   if f["op"] == "PARAGRAPH"]
        assert "results" not in pending and "results" not in running
        assert "dateStarted" not in pending and "dateFinished" not in pending
        assert "dateStarted" in running and "dateFinished" not in running
        assert final["results"] == {"code": "SUCCESS", "msg": [
            {"type": "TEXT", "data": "hello from zeppelin\n"}]}
        assert final["text"] == PY_HELLO and final["id"] == pid
        assert final["user"] == "anonymous"
        assert final["config"] == SEED_RUN["data"]["config"]
        assert final["settings"] == {"params": {}, "forms": {}}
        assert final["progressUpdateIntervalMs"] == 200
        for k in ("dateCreated", "dateUpdated", "dateStarted", "dateFinished"):
            assert DATE_RE.match(final[k]), final[k]
        assert final["dateStarted"] <= final["dateFinished"]
        assert final["jobName"] == pending["jobName"]
        await ws.alive()
        await ws.close()
    arun(main())


def test_progress_is_periodic(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect("p1", "%sh\necho a; sleep 1.5; echo b\n")
        prog = p.progress()
        assert len(prog) >= 5, p.ops()  # 0, >= 3 ticks at 200 ms, 100
        assert prog == sorted(prog) and prog[0] == 0 and prog[-1] == 100, prog
        assert all(0 < x < 100 for x in prog[1:-1]), prog
        assert p.appended() == "a\nb\n"
        assert p.final["status"] == "FINISHED"
        await ws.close()
    arun(main())


@pytest.mark.parametrize("text,out", [
    ("%python\nprint(6*7)\n", "42\n"),
    ("%python3\nprint('p3')", "p3\n"),
    ("%spark.pyspark\nimport sys; print(sys.version_info[0])\n", "3\n"),
    ("%pyspark print('inline')", "inline\n"),
    ("%sh\necho $BASH_VERSION | cut -c1\n", "5\n"),
    ("%sh(key=value, quoted=\"a,b)\") echo props", "props\n"),
    ("%sql\nSELECT 1+1;\n", "2\n"),
    ("%javascript\nconsole.log('js')\n", "js\n"),
    ("  \n%bash\necho leading-space", "leading-space\n"),
])
def test_interpreter_mapping(zserver, text, out):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect("pm", text)
        assert p.final["status"] == "FINISHED", p.ops()
        assert p.final["results"]["msg"] == [{"type": "TEXT", "data": out}]
        assert p.final["text"] == text
        await ws.close()
    arun(main())


def test_markdown_is_echoed_as_text(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect("md1", "%md\n# Title\n*hi*\n")
        assert p.ops() == ["PENDING", "RUNNING", "PROGRESS", "PROGRESS", "FINISHED"]
        assert p.final["results"] == {"code": "SUCCESS",
                                      "msg": [{"type": "TEXT", "data": "# Title\n*hi*\n"}]}
        await ws.close()
    arun(main())


@pytest.mark.parametrize("lang,text,out", [
    ("python", "print('from editor')", "from editor\n"),
    ("sh", "echo $((6*7))", "42\n"),
    ("sql", "SELECT 'q';", "q\n"),
])
def test_editor_setting_selects_language(zserver, lang, text, out):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect("ed", text,
                                     config={"editorSetting": {"language": lang}})
        assert p.final["status"] == "FINISHED", p.ops()
        assert p.final["results"]["msg"] == [{"type": "TEXT", "data": out}]
        await ws.close()
    arun(main())


def test_default_interpreter_is_python(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect("d", "print('default')")
        assert p.final["results"]["msg"] == [{"type": "TEXT", "data": "default\n"}]
        await ws.close()
    arun(main())


def test_failing_program_gives_error_with_stderr(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect(
            "bad", "%python\nimport sys\nprint('before')\nsys.stdout.flush()\n"
                   "print('oops on stderr', file=sys.stderr)\nsys.exit(3)\n")
        assert p.statuses() == ["PENDING", "RUNNING", "ERROR"], p.ops()
        assert "oops on stderr\n" in p.appended() and "before\n" in p.appended()
        r = p.final["results"]
        assert r["code"] == "ERROR"
        assert r["msg"][0]["data"] == p.appended()
        assert r["msg"][1] == {"type": "TEXT", "data": "Process exited with code 3"}
        p = await ws.run_and_collect("bad2", "%python\n1/0\n")
        assert p.final["status"] == "ERROR"
        assert "ZeroDivisionError" in p.final["results"]["msg"][0]["data"]
        await ws.close()
    arun(main())


def test_blank_paragraph_finishes_without_running(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect("blank", "%python\n   \n")
        assert p.ops() == ["PENDING", "FINISHED"]
        assert p.final["results"] == {"code": "SUCCESS", "msg": []}
        await ws.close()
    arun(main())


def test_limits_end_in_error_saying_which(zfactory):
    s = zfactory("zlim", _config=FAST_PROGRESS, wall_ms=1000, output_bytes=4096)

    async def main():
        ws = await ZWS.connect(s)
        p = await ws.run_and_collect("slow", "%sh\necho start; sleep 20\n")
        assert p.final["status"] == "ERROR", p.ops()
        assert p.final["results"]["msg"] == [
            {"type": "TEXT", "data": "start\n"},
            {"type": "TEXT", "data": "Time limit exceeded (1000 ms)"}]
        p = await ws.run_and_collect("loud", "%python\nwhile True: print('x' * 99)\n")
        assert p.final["status"] == "ERROR", p.ops()
        msg = p.final["results"]["msg"]
        assert len(msg[0]["data"]) <= 4096
        assert msg[1]["data"] == "Output truncated: output limit exceeded (4096 bytes)"
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# CANCEL and rerun
# --------------------------------------------------------------------------

def test_cancel_gives_abort_within_a_second(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        await ws.run("c1", "%sh\necho started; sleep 30\n", note="NC")
        p = await ws.collect("c1", stop=lambda f: f["op"] == "PARAGRAPH_APPEND_OUTPUT")
        t0 = time.monotonic()
        await ws.op("CANCEL_PARAGRAPH", {"id": "c1", "noteId": "NC"})
        rest = await ws.collect("c1", timeout=5)
        assert time.monotonic() - t0 < 1.0, rest.ops()
        assert rest.final["status"] == "ABORT"
        assert rest.final["results"]["msg"] == [
            {"type": "TEXT", "data": "started\n"},
            {"type": "TEXT", "data": "Paragraph aborted"}]
        assert "dateFinished" in rest.final
        # cancelling it again, now finished, is quiet
        await ws.op("CANCEL_PARAGRAPH", {"id": "c1"})
        await ws.alive()
        await ws.close()
    arun(main())


def test_rerun_of_running_paragraph_cancels_first(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        await ws.run("r1", "%sh\necho first; sleep 30\n")
        await ws.collect("r1", stop=lambda f: f["op"] == "PARAGRAPH_APPEND_OUTPUT")
        await ws.run("r1", "%sh\necho second\n")
        p = await ws.collect("r1", until_done=False,
                             stop=lambda f: f["op"] == "PARAGRAPH"
                             and f["data"]["paragraph"]["status"] == "FINISHED")
        st = p.statuses()
        assert st == ["ABORT", "PENDING", "RUNNING", "FINISHED"], p.ops()
        abort = [f["data"]["paragraph"] for f in p.frames if f["op"] == "PARAGRAPH"][0]
        assert abort["results"]["msg"][-1]["data"] == "Paragraph aborted: it was run again"
        assert p.final["results"]["msg"] == [{"type": "TEXT", "data": "second\n"}]
        assert p.final["text"] == "%sh\necho second\n"
        await ws.alive()
        await ws.close()
    arun(main())


def test_rerun_counts_for_the_clients_run_rate(zfactory):
    """A re-run of a running paragraph starts when the first run ends, from
    that run's end: it still takes a token of the client's run rate, so a
    third run within the minute is refused."""
    srv = zfactory("zeppelin", runs_per_minute_per_ip=2, _config=FAST_PROGRESS)

    async def main():
        ws = await ZWS.connect(srv)
        await ws.run("r1", "%sh\necho first; sleep 30\n")
        await ws.collect("r1", stop=lambda f: f["op"] == "PARAGRAPH_APPEND_OUTPUT")
        await ws.run("r1", "%sh\necho second\n")
        p = await ws.collect("r1", until_done=False,
                             stop=lambda f: f["op"] == "PARAGRAPH"
                             and f["data"]["paragraph"]["status"] == "FINISHED")
        assert p.statuses() == ["ABORT", "PENDING", "RUNNING", "FINISHED"], p.ops()
        await ws.run("r2", "%sh\necho third\n")
        frames = []
        while True:
            f = await ws.recv()
            frames.append(f)
            if f["op"] == "ERROR_INFO":
                break
            assert f["op"] == "PARAGRAPH", frames
        assert frames[-1]["data"]["info"] == (
            "You have been rate limited: 2 runs per minute per client"), frames
        await ws.close()
    arun(main())


# --------------------------------------------------------------------------
# Notes and watchers
# --------------------------------------------------------------------------

def test_two_watchers_see_the_stream(zserver):
    async def main():
        a = await ZWS.connect(zserver)
        b = await ZWS.connect(zserver)
        pa = await a.run_and_collect("w0", "%python\nprint('first')", note="SHARED1")
        assert pa.final["status"] == "FINISHED"
        await b.op("GET_NOTE", {"id": "SHARED1"}, msgId="b-1")
        f = await b.expect("NOTE")
        assert f["msgId"] == "b-1"
        note = f["data"]["note"]
        assert note["id"] == "SHARED1" and note["path"] == "/SHARED1"
        assert [p["id"] for p in note["paragraphs"]] == ["w0"]
        assert note["paragraphs"][0]["status"] == "FINISHED"
        assert note["paragraphs"][0]["results"]["msg"] == [{"type": "TEXT", "data": "first\n"}]
        text = "%sh\necho one; sleep 0.5; echo two\n"
        await a.run("w1", text, note="SHARED1")
        ra, rb = await asyncio.gather(a.collect("w1"), b.collect("w1"))
        for r in (ra, rb):
            assert r.statuses() == ["PENDING", "RUNNING", "FINISHED"], r.ops()
            assert r.appended() == "one\ntwo\n"
            assert r.final["results"]["msg"] == [{"type": "TEXT", "data": "one\ntwo\n"}]
            assert r.progress()[0] == 0 and r.progress()[-1] == 100
        assert ra.ops() == rb.ops()
        # the watcher cancels the runner's paragraph: both see ABORT
        await a.run("w2", "%sh\nsleep 30\n", note="SHARED1")
        await a.collect("w2", stop=lambda f: f["op"] == "PROGRESS")
        await b.collect("w2", stop=lambda f: f["op"] == "PROGRESS")
        await b.op("CANCEL_PARAGRAPH", {"id": "w2"})
        ra, rb = await asyncio.gather(a.collect("w2"), b.collect("w2"))
        assert ra.final["status"] == rb.final["status"] == "ABORT"
        await a.close()
        await b.close()
    arun(main())


def test_runner_disconnect_aborts_for_watchers(zserver):
    async def main():
        a = await ZWS.connect(zserver)
        b = await ZWS.connect(zserver)
        await a.run("d1", "%sh\necho x; sleep 30\n", note="ND")
        await a.collect("d1", stop=lambda f: f["op"] == "PARAGRAPH_APPEND_OUTPUT")
        await b.op("GET_NOTE", {"id": "ND"})
        f = await b.expect("NOTE")
        (p,) = f["data"]["note"]["paragraphs"]
        assert p["status"] == "RUNNING"
        assert p["results"] == {"code": "INCOMPLETE", "msg": [{"type": "TEXT", "data": "x\n"}]}
        await a.close()
        r = await b.collect("d1", timeout=5)
        assert r.final["status"] == "ABORT"
        assert r.final["results"]["msg"][-1]["data"] == \
            "Paragraph aborted: the connection that ran it closed"
        await b.close()
    arun(main())


def test_list_notes_and_generated_note_id(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        p = await ws.run_and_collect("g1", "%sh\necho gen\n")
        nid = [f for f in p.frames if f["op"] == "PARAGRAPH_APPEND_OUTPUT"][0]["data"]["noteId"]
        assert len(nid) == 9 and nid.isalnum() and nid.upper() == nid
        # a second paragraph without noteId lands in the same note
        await ws.run_and_collect("g2", "%sh\necho gen2\n")
        await ws.op("LIST_NOTES")
        f = await ws.expect("NOTES_INFO")
        assert f["data"]["notes"] == [{"id": nid, "path": "/" + nid}]
        await ws.op("GET_NOTE", {"id": nid})
        note = (await ws.expect("NOTE"))["data"]["note"]
        assert [p["id"] for p in note["paragraphs"]] == ["g1", "g2"]
        assert set(note) >= {"paragraphs", "name", "id", "defaultInterpreterGroup", "version",
                             "noteParams", "noteForms", "angularObjects", "config", "info",
                             "path"}
        await ws.op("GET_HOME_NOTE")
        f = await ws.expect("NOTE")
        assert f["data"] == {"note": None}
        await ws.close()
    arun(main())


def test_interpreter_bindings(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        await ws.op("GET_INTERPRETER_BINDINGS", {"noteId": "x"})
        f = await ws.expect("INTERPRETER_BINDINGS")
        b = f["data"]["interpreterBindings"]
        ids = [x["id"] for x in b]
        for want in ("md", "python", "sh", "spark", "python3", "javascript"):
            assert want in ids, ids
        for x in b:
            assert set(x) == {"id", "name", "interpreters", "selected"}, x
            assert x["selected"] is True and x["interpreters"]
            for i in x["interpreters"]:
                assert set(i) == {"name", "class", "defaultInterpreter", "editor", "config"}, i
        spark = b[ids.index("spark")]
        assert [i["name"] for i in spark["interpreters"]][:2] == ["pyspark", "sql"]
        await ws.op("EDITOR_SETTING", {"paragraphId": "p", "magic": "sh"})
        f = await ws.expect("EDITOR_SETTING")
        assert f["data"]["paragraphId"] == "p"
        assert f["data"]["editor"]["language"] == "sh"
        await ws.close()
    arun(main())


def test_note_limits_and_expiry(zfactory):
    """Notes live on disk: the note limit refuses a new note (nothing is
    evicted), and an idle note leaves memory only: it is still listed and
    reads back from its file with its paragraphs and results."""
    s = zfactory("znotes", _config={"zeppelin": {
        "max_paragraphs": 2, "max_notes": 2, "note_ttl_ms": 1000}})

    async def main():
        ws = await ZWS.connect(s)
        for pid in ("a", "b"):
            r = await ws.run_and_collect(pid, "%sh\necho " + pid, note="L1")
            assert r.final["status"] == "FINISHED"
        await ws.run("c", "%sh\necho c", note="L1")
        f = await ws.expect("ERROR_INFO")
        assert f["data"]["info"] == ("Note L1 has too many paragraphs "
                                     "(limit 2: zeppelin.max_paragraphs)")
        await ws.run_and_collect("a", "%sh\necho again", note="L2")
        await ws.run("a", "%sh\necho three", note="L3")
        f = await ws.expect("ERROR_INFO")
        assert f["data"]["info"] == "Too many notes (limit 2: zeppelin.max_notes)"
        await ws.op("LIST_NOTES")
        notes = (await ws.expect("NOTES_INFO"))["data"]["notes"]
        assert sorted(notes, key=lambda n: n["id"]) == [
            {"id": "L1", "path": "/L1"}, {"id": "L2", "path": "/L2"}]
        await ws.close()
        await asyncio.sleep(1.3)
        ws = await ZWS.connect(s)
        await ws.op("LIST_NOTES")
        assert len((await ws.expect("NOTES_INFO"))["data"]["notes"]) == 2
        await ws.op("GET_NOTE", {"id": "L1"})
        note = (await ws.expect("NOTE"))["data"]["note"]
        assert [(p["id"], p["results"]["msg"][0]["data"]) for p in note["paragraphs"]] == [
            ("a", "a\n"), ("b", "b\n")]
        await ws.close()
    arun(main())
    assert "event=zeppelin.note_unloaded note=L1 reason=idle" in s.log_text()


# --------------------------------------------------------------------------
# Bad inputs: ERROR_INFO, the connection stays usable
# --------------------------------------------------------------------------

BAD = [
    ("{not json", "Invalid message: not valid JSON"),
    ("[1,2]", "Invalid message: expected a JSON object"),
    ({"data": {}}, "Invalid message: missing field 'op'"),
    ({"op": 5}, "Invalid message: field 'op' must be a string"),
    ({"op": "FROBNICATE"}, "Unknown or unsupported op: FROBNICATE"),
    ({"op": "RUN_PARAGRAPH"}, "RUN_PARAGRAPH: missing field 'data'"),
    ({"op": "RUN_PARAGRAPH", "data": "x"}, "RUN_PARAGRAPH: field 'data' must be an object"),
    ({"op": "RUN_PARAGRAPH", "data": {"paragraph": "%sh\necho"}},
     "RUN_PARAGRAPH: missing paragraph id ('id')"),
    ({"op": "RUN_PARAGRAPH", "data": {"id": 7, "paragraph": "x"}},
     "RUN_PARAGRAPH: paragraph id ('id') must be a string of 1 to 128 printable characters"),
    ({"op": "RUN_PARAGRAPH", "data": {"id": "p"}}, "RUN_PARAGRAPH: missing field 'paragraph'"),
    ({"op": "RUN_PARAGRAPH", "data": {"id": "p", "paragraph": "x", "config": []}},
     "RUN_PARAGRAPH: 'title' must be a string, 'config' and 'params' objects"),
    ({"op": "GET_NOTE", "data": {}}, "GET_NOTE: missing note id ('id')"),
    ({"op": "GET_NOTE", "data": {"id": "nope"}}, "No such note: nope"),
    ({"op": "CANCEL_PARAGRAPH", "data": {}}, "CANCEL_PARAGRAPH: missing paragraph id ('id')"),
    ({"op": "CANCEL_PARAGRAPH", "data": {"id": "p"}},
     "CANCEL_PARAGRAPH: no note: give 'noteId' or GET_NOTE first"),
    ({"op": "CANCEL_PARAGRAPH", "data": {"id": "p", "noteId": "zz"}}, "No such note: zz"),
]


@pytest.mark.parametrize("frame,info", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(zserver, frame, info):
    async def main():
        ws = await ZWS.connect(zserver)
        await ws.send(frame)
        f = await ws.expect("ERROR_INFO")
        assert f["data"] == {"info": info}
        await ws.nothing(0.2)
        await ws.alive()
        await ws.close()
    arun(main())


def test_binary_frame_and_unknown_interpreter(zserver):
    async def main():
        ws = await ZWS.connect(zserver)
        await ws.send(b'{"op":"PING"}')
        f = await ws.expect("ERROR_INFO")
        assert f["data"]["info"] == "Invalid message: binary frames are not supported"
        # Zeppelin: straight to ERROR without PENDING; runnel adds ERROR_INFO
        await ws.run("u1", "%nosuchthing\nhello", note="NU")
        f = await ws.expect("PARAGRAPH")
        p = f["data"]["paragraph"]
        assert p["status"] == "ERROR" and p["id"] == "u1"
        assert p["results"] == {"code": "ERROR", "msg": [
            {"type": "TEXT", "data": "Interpreter nosuchthing not found"}]}
        f = await ws.expect("ERROR_INFO")
        assert f["data"] == {"info": "Interpreter nosuchthing not found"}
        await ws.run("u2", "sc.version\n", config=SEED_RUN["data"]["config"])
        await ws.expect("PARAGRAPH")
        f = await ws.expect("ERROR_INFO")
        assert f["data"] == {"info": "Interpreter scala not found"}
        await ws.op("CANCEL_PARAGRAPH", {"id": "nope", "noteId": "NU"})
        f = await ws.expect("ERROR_INFO")
        assert f["data"] == {"info": "Paragraph nope not found in note NU"}
        await ws.run("u3", "%sh(unclosed=1\necho")
        await ws.expect("PARAGRAPH")
        f = await ws.expect("ERROR_INFO")
        assert "Not finished interpreter configuration" in f["data"]["info"]
        await ws.alive()
        await ws.close()
    arun(main())


def test_paragraph_text_too_large(zfactory):
    s = zfactory("zbig", code_bytes=1024)

    async def main():
        ws = await ZWS.connect(s)
        await ws.run("big", "%sh\n" + "#" * 2000)
        f = await ws.expect("ERROR_INFO")
        assert f["data"]["info"] == "Paragraph text too large (limit 1024 bytes)"
        await ws.alive()
        await ws.close()
    arun(main())


def test_bad_config_refuses_to_start(zfactory):
    # The section's keys are checked by the configuration's own parser
    # (FILE:LINE: ...); what only the envelope can tell, by its init.
    for cfg, line in [
        ({"max_notes": 0}, "'zeppelin.max_notes' must be an integer from 1 to 100000"),
        ({"bogus": 1}, "unknown key 'zeppelin.bogus'"),
        ({"interpreters": {"py": "cobol"}},
         'zeppelin: zeppelin.interpreters.py must name a runnel language, "text" or ""'),
        ({"default_interpreter": "cobol"},
         "zeppelin: zeppelin.default_interpreter: unknown interpreter 'cobol'"),
    ]:
        s = zfactory(_start=False, _config={"zeppelin": cfg})
        s.expect_exit = True
        s.logf = open(s.log_path, "wb")
        s.proc = subprocess.Popen(s.argv, stdout=s.logf, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, RUNNEL_STATE_DIR=str(s.dir / "state")))
        assert s.proc.wait(10) == 1
        assert any(l.startswith("runneld: ") and line in l
                   for l in s.log_text().splitlines()), s.log_text()


def test_interpreter_overrides(zfactory):
    s = zfactory("zmap", _config={"zeppelin": {
        "interpreters": {"shell2": "sh", "md": "", "py": "python3"},
        "default_interpreter": "sh"}})

    async def main():
        ws = await ZWS.connect(s)
        r = await ws.run_and_collect("o1", "%shell2\necho $0")
        assert r.final["status"] == "FINISHED", r.ops()
        r = await ws.run_and_collect("o2", "echo default-sh")
        assert r.final["results"]["msg"] == [{"type": "TEXT", "data": "default-sh\n"}]
        await ws.run("o3", "%md\nhi")
        await ws.expect("PARAGRAPH")
        f = await ws.expect("ERROR_INFO")
        assert f["data"]["info"] == "Interpreter md not found"
        await ws.close()
    arun(main())
