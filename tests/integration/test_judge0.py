"""The Judge0 CE envelope driven with the requests Judge0's official Python
SDK (judge0-python, src/judge0/clients.py) sends: its headers, its query
parameters (base64_encoded=true, wait=false, fields=*), its bodies (texts in
base64) and its batch shapes; plus Judge0's own defaults (base64_encoded
false), statuses, errors, auth, persistence across a restart."""

import base64
import http.server
import json
import signal
import threading
import time

import pytest

from conftest import Server, wait_until

SDK_HEADERS = {"X-Judge0-App": "Judge0 Python SDK", "X-Judge0-App-Version": "0.0.5"}
PY, C, BASH = 71, 50, 46
DEFAULT_FIELDS = {"token", "time", "memory", "stdout", "stderr", "compile_output", "message",
                  "status"}
STATUS = {1: "In Queue", 2: "Processing", 3: "Accepted", 4: "Wrong Answer",
          5: "Time Limit Exceeded", 6: "Compilation Error", 7: "Runtime Error (SIGSEGV)",
          8: "Runtime Error (SIGXFSZ)", 9: "Runtime Error (SIGFPE)",
          10: "Runtime Error (SIGABRT)", 11: "Runtime Error (NZEC)",
          12: "Runtime Error (Other)", 13: "Internal Error", 14: "Exec Format Error"}


def enc(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def dec(s):
    return None if s is None else base64.b64decode(s).decode()


def make(tmp_path, name, specs, judge0=None, config=None, limits=None):
    cfg = {"judge0": dict(judge0 or {})}
    cfg.update(config or {})
    return Server(tmp_path, name, specs, limits=limits, config=cfg)


@pytest.fixture(scope="module")
def j0(tmp_path_factory, test_specs):
    d = tmp_path_factory.mktemp("judge0")
    s = make(d, "j0", test_specs, judge0={"enable_submission_delete": True})
    s.start()
    yield s
    stop_clean(s)


def stop_clean(srv):
    assert srv.stop(signal.SIGTERM, timeout=15) == 0, srv.log_tail()
    assert "Sanitizer" not in srv.log_text(), srv.log_tail()


# -- the SDK's requests -------------------------------------------------------

def sdk_body(source, language_id, **extra):
    """Submission.as_body: source_code, stdin and expected_output in base64,
    the other fields as given."""
    body = {"source_code": enc(source), "language_id": language_id}
    for k in ("stdin", "expected_output"):
        if k in extra:
            body[k] = enc(extra.pop(k))
    body.update(extra)
    return body


def sdk_create(srv, body, headers=None):
    st, _, obj = srv.http_json("POST", "/submissions?base64_encoded=true&wait=false", body,
                               headers={**SDK_HEADERS, **(headers or {})})
    return st, obj


def sdk_get(srv, token, fields="*", headers=None):
    st, _, obj = srv.http_json("GET", f"/submissions/{token}?base64_encoded=true&fields={fields}",
                               headers={**SDK_HEADERS, **(headers or {})})
    return st, obj


def sdk_wait(srv, token, timeout=60, headers=None):
    """The SDK's polling: GET fields=* until the status is neither 1 nor 2."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, obj = sdk_get(srv, token, headers=headers)
        assert st == 200, (st, obj)
        if obj["status"]["id"] not in (1, 2):
            return obj
        time.sleep(0.1)
    raise AssertionError(f"submission {token} not done within {timeout} s")


def run(srv, source, language_id=PY, **extra):
    st, obj = sdk_create(srv, sdk_body(source, language_id, **extra))
    assert st == 201, (st, obj)
    assert set(obj) == {"token"}, obj
    return sdk_wait(srv, obj["token"])


def check_status(obj, sid):
    assert obj["status"] == {"id": sid, "description": STATUS[sid]}, obj
    assert obj["status_id"] == sid, obj


# -- info routes ----------------------------------------------------------------

def test_about_version_languages_statuses(j0):
    st, _, about = j0.http_json("GET", "/about", headers=SDK_HEADERS)
    assert st == 200
    assert about["version"] == "1.13.1"
    assert set(about) >= {"version", "homepage", "source_code", "maintainer", "runnel_version"}
    st, _, body = j0.http("GET", "/version")
    assert (st, body) == (200, b"1.13.1")
    st, _, langs = j0.http_json("GET", "/languages", headers=SDK_HEADERS)
    assert st == 200
    ids = {l["id"]: l["name"] for l in langs}
    assert ids[PY] == "Python (3.8.1)" and ids[C] == "C (GCC 9.2.0)" and ids[BASH] == "Bash (5.0.0)"
    assert all(set(l) == {"id", "name"} for l in langs)
    assert [l["id"] for l in langs] == sorted(ids)
    st, _, one = j0.http_json("GET", f"/languages/{PY}")
    assert st == 200 and one["id"] == PY and one["is_archived"] is False
    assert one["source_file"] and one["compile_cmd"] is None and one["run_cmd"]
    st, _, _ = j0.http_json("GET", "/languages/999999")
    assert st == 404
    st, _, allv = j0.http_json("GET", "/languages/all")
    assert st == 200 and all(set(l) == {"id", "name", "is_archived"} for l in allv)
    assert {l["id"] for l in allv if not l["is_archived"]} == set(ids)
    st, _, statuses = j0.http_json("GET", "/statuses")
    assert statuses == [{"id": k, "description": v} for k, v in STATUS.items()]


def test_config_info_has_the_sdk_fields(j0):
    st, _, cfg = j0.http_json("GET", "/config_info", headers=SDK_HEADERS)
    assert st == 200
    sdk_config_fields = {
        "allow_enable_network", "allow_enable_per_process_and_thread_memory_limit",
        "allow_enable_per_process_and_thread_time_limit", "allowed_languages_for_compile_options",
        "callbacks_max_tries", "callbacks_timeout", "cpu_extra_time", "cpu_time_limit",
        "enable_additional_files", "enable_batched_submissions", "enable_callbacks",
        "enable_command_line_arguments", "enable_compiler_options", "enable_network",
        "enable_per_process_and_thread_memory_limit", "enable_per_process_and_thread_time_limit",
        "enable_submission_delete", "enable_wait_result", "maintenance_mode",
        "max_cpu_extra_time", "max_cpu_time_limit", "max_extract_size", "max_file_size",
        "max_max_file_size", "max_max_processes_and_or_threads", "max_memory_limit",
        "max_number_of_runs", "max_processes_and_or_threads", "max_queue_size",
        "max_stack_limit", "max_submission_batch_size", "max_wall_time_limit", "memory_limit",
        "number_of_runs", "redirect_stderr_to_stdout", "stack_limit",
        "submission_cache_duration", "use_docs_as_homepage", "wall_time_limit"}
    assert sdk_config_fields <= set(cfg), sdk_config_fields - set(cfg)
    assert cfg["cpu_time_limit"] == 5 and cfg["max_cpu_time_limit"] == 15
    assert cfg["memory_limit"] == 128000 and cfg["max_memory_limit"] == 512000
    assert cfg["max_queue_size"] == 64 and cfg["max_submission_batch_size"] == 20
    assert cfg["enable_wait_result"] is True and cfg["allow_enable_network"] is False
    st, _, workers = j0.http_json("GET", "/workers")
    assert st == 200 and workers[0]["available"] == 2
    assert set(workers[0]) == {"queue", "size", "available", "idle", "working", "paused",
                               "failed"}


# -- submissions ------------------------------------------------------------------

def test_create_and_poll_accepted(j0):
    obj = run(j0, "print(input())", stdin="hello", expected_output="hello  \n\n")
    check_status(obj, 3)
    assert obj["stdout"] == enc("hello\n") + "\n"  # Ruby's encode64: newline-ended
    assert dec(obj["stdout"]) == "hello\n" and obj["stderr"] is None
    assert dec(obj["source_code"]) == "print(input())" and dec(obj["stdin"]) == "hello"
    assert obj["exit_code"] == 0 and obj["exit_signal"] is None and obj["message"] is None
    assert obj["language"] == {"id": PY, "name": "Python (3.8.1)"}
    assert float(obj["time"]) >= 0 and isinstance(obj["time"], str)
    assert isinstance(obj["wall_time"], str) and isinstance(obj["memory"], int)
    time.strptime(obj["created_at"][:19], "%Y-%m-%dT%H:%M:%S")
    assert obj["created_at"].endswith("Z") and obj["finished_at"].endswith("Z")
    assert obj["cpu_time_limit"] == "5.0" and obj["wall_time_limit"] == "10.0"
    assert obj["memory_limit"] == 128000 and obj["number_of_runs"] == 1


def test_wrong_answer(j0):
    obj = run(j0, "print('a')", expected_output="b")
    check_status(obj, 4)
    assert dec(obj["stdout"]) == "a\n"


def test_wait_true_plain_text(j0):
    st, _, obj = j0.http_json("POST", "/submissions?wait=true",
                              {"source_code": "echo hi; echo err >&2", "language_id": BASH})
    assert st == 201, obj
    assert set(obj) == DEFAULT_FIELDS
    assert obj["stdout"] == "hi\n" and obj["stderr"] == "err\n"
    assert obj["status"] == {"id": 3, "description": "Accepted"}
    assert obj["compile_output"] is None and obj["message"] is None


def test_fields_and_bad_fields(j0):
    st, _, obj = j0.http_json("POST", "/submissions?wait=true&fields=stdout,status_id,language_id",
                              {"source_code": "echo x", "language_id": BASH})
    assert st == 201 and obj == {"stdout": "x\n", "status_id": 3, "language_id": BASH}
    st, _, obj = j0.http_json("GET", "/submissions/abc?fields=stdout,nope,bad")
    assert (st, obj) == (400, {"error": "invalid fields: [nope, bad]"})


def test_non_utf8_output_needs_base64(j0):
    st, _, obj = j0.http_json("POST", "/submissions?wait=true",
                              {"source_code": "printf '\\377\\376'", "language_id": BASH})
    assert st == 400
    assert obj == {"error": "some attributes for this submission cannot be converted to UTF-8, "
                            "use base64_encoded=true"}
    st, _, obj = j0.http_json("POST", "/submissions?wait=true&base64_encoded=true",
                              {"source_code": enc("printf '\\377\\376'"), "language_id": BASH})
    assert st == 201 and base64.b64decode(obj["stdout"]) == b"\xff\xfe"


def test_validation_errors_422(j0):
    st, _, obj = j0.http_json("POST", "/submissions", {"source_code": "x", "language_id": 150000})
    assert (st, obj) == (422, {"language_id": ["language with id 150000 doesn't exist"]})
    st, _, obj = j0.http_json("POST", "/submissions",
                              {"source_code": "x", "language_id": PY, "cpu_time_limit": 16,
                               "memory_limit": 1000, "number_of_runs": 21})
    assert st == 422
    assert obj == {"cpu_time_limit": ["must be less than or equal to 15"],
                   "memory_limit": ["must be greater than or equal to 2048"],
                   "number_of_runs": ["must be less than or equal to 20"]}
    st, _, obj = j0.http_json("POST", "/submissions", {"language_id": PY})
    assert (st, obj) == (422, {"source_code": ["can't be blank"]})
    st, _, obj = j0.http_json("POST", "/submissions",
                              {"source_code": "x", "language_id": PY, "enable_network": True})
    assert (st, obj) == (422, {"enable_network": ["enabling network is not allowed"]})
    st, _, obj = j0.http_json("POST", "/submissions",
                              {"source_code": "x", "language_id": PY,
                               "command_line_arguments": "a" * 513})
    assert (st, obj) == (422, {"command_line_arguments":
                               ["is too long (maximum is 512 characters)"]})


def test_compile_error(j0):
    obj = run(j0, "int main( { return 0; }", C)
    check_status(obj, 6)
    assert "error" in dec(obj["compile_output"])
    assert obj["stdout"] is None and obj["time"] is None and obj["memory"] is None


def test_time_limit_exceeded(j0):
    obj = run(j0, "while True: pass", cpu_time_limit=1, cpu_extra_time=0.5, wall_time_limit=20)
    check_status(obj, 5)
    assert obj["exit_signal"] == 9
    # As isolate reports it: over the CPU limit is "Time limit exceeded"
    # even when the wall limit struck first (a machine too loaded to give
    # the CPU in time); under it, the wall clock's.
    if float(obj["time"]) > 1.0:
        assert dec(obj["message"]) == "Time limit exceeded"
    else:
        assert dec(obj["message"]) == "Time limit exceeded (wall clock)"


def test_sigsegv(j0):
    obj = run(j0, "int main(void) { volatile int *p = 0; *p = 1; return 0; }", C)
    check_status(obj, 7)
    assert obj["exit_signal"] == 11 and dec(obj["message"]) == "Caught fatal signal 11"


def test_sigfpe_and_sigabrt(j0):
    obj = run(j0, "import os, signal\nos.kill(os.getpid(), signal.SIGFPE)")
    check_status(obj, 9)
    obj = run(j0, "import os\nos.abort()")
    check_status(obj, 10)
    assert obj["exit_signal"] == 6


def test_nzec(j0):
    obj = run(j0, "import sys\nsys.exit(3)")
    check_status(obj, 11)
    assert obj["exit_code"] == 3 and dec(obj["message"]) == "Exited with error status 3"


def test_memory_limit(j0):
    obj = run(j0, "x = bytearray(200 * 1024 * 1024)\nprint(len(x))", memory_limit=65536)
    # The cgroup's kill at the limit, as isolate reports a SIGKILL.
    check_status(obj, 12)
    assert obj["stdout"] is None and obj["exit_code"] is None
    assert obj["exit_signal"] == 9 and dec(obj["message"]) == "Caught fatal signal 9"
    assert 60000 <= obj["memory"] <= 65536


def test_number_of_runs(j0):
    obj = run(j0, "print(1)", number_of_runs=3)
    check_status(obj, 3)
    assert obj["number_of_runs"] == 3
    assert wait_until(lambda: f"token={obj['token']} status=3 runs=3" in j0.log_text(), 5)


def test_redirect_stderr_to_stdout(j0):
    obj = run(j0, "import sys\nprint('a', flush=True)\nprint('b', file=sys.stderr)",
              redirect_stderr_to_stdout=True)
    check_status(obj, 3)
    assert dec(obj["stdout"]) == "a\nb\n" and obj["stderr"] is None


def test_command_line_arguments_are_stripped(j0):
    obj = run(j0, "import sys\nprint(sys.argv[1:])", command_line_arguments="x;y $z `w`")
    assert dec(obj["stdout"]) == "['xy', 'z', 'w']\n"
    assert obj["command_line_arguments"] == "xy z w"


def test_batch_with_one_bad_item(j0):
    good = sdk_body("print(2)", PY)
    bad = sdk_body("print(3)", 150000)
    st, _, arr = j0.http_json("POST", "/submissions/batch?base64_encoded=true",
                              {"submissions": [good, bad]}, headers=SDK_HEADERS)
    assert st == 201, arr
    assert set(arr[0]) == {"token"}
    assert arr[1] == {"language_id": ["language with id 150000 doesn't exist"]}
    token = arr[0]["token"]
    sdk_wait(j0, token)
    st, _, obj = j0.http_json(
        "GET", f"/submissions/batch?base64_encoded=true&fields=*&tokens={token},nosuch",
        headers=SDK_HEADERS)
    assert st == 200 and obj["submissions"][1] is None
    assert dec(obj["submissions"][0]["stdout"]) == "2\n"
    st, _, arr = j0.http_json("POST", "/submissions/batch", {"submissions": [bad]})
    assert st == 422 and arr == [{"language_id": ["language with id 150000 doesn't exist"]}]
    st, _, obj = j0.http_json("POST", "/submissions/batch", {"submissions": [good] * 21})
    assert (st, obj) == (400, {"error": "number of submissions in a batch should be less than "
                                        "or equal to 20"})


def test_unknown_token_and_delete(j0):
    st, _, obj = j0.http_json("GET", "/submissions/no-such-token")
    assert st == 404
    obj = run(j0, "print(5)")
    st, _, deleted = j0.http_json("DELETE", f"/submissions/{obj['token']}")
    assert st == 200 and dec(deleted["stdout"]) == "5\n"  # always base64
    st, _, _ = j0.http_json("GET", f"/submissions/{obj['token']}")
    assert st == 404
    st, _, page = j0.http_json("GET", "/submissions?per_page=2&page=1")
    assert st == 200 and len(page["submissions"]) == 2
    assert page["meta"]["current_page"] == 1 and page["meta"]["prev_page"] is None
    assert page["meta"]["total_count"] >= 3


def test_wait_not_allowed_and_delete_not_allowed(tmp_path, test_specs):
    s = make(tmp_path, "j0off", test_specs, judge0={"enable_wait_result": False}).start()
    try:
        st, _, obj = s.http_json("POST", "/submissions?wait=true",
                                 {"source_code": "echo", "language_id": BASH})
        assert (st, obj) == (400, {"error": "wait not allowed"})
        st, _, obj = s.http_json("DELETE", "/submissions/x")
        assert (st, obj) == (400, {"error": "delete not allowed"})
    finally:
        stop_clean(s)


def test_queue_full_is_503(tmp_path, test_specs):
    s = make(tmp_path, "j0q", test_specs, limits={"concurrency": 1, "queue": 1}).start()
    try:
        body = {"source_code": "sleep 3", "language_id": BASH}
        codes = [s.http_json("POST", "/submissions", body)[0] for _ in range(2)]
        st, _, obj = s.http_json("POST", "/submissions", body)
        assert codes == [201, 201] and (st, obj) == (503, {"error": "queue is full"})
    finally:
        stop_clean(s)


def test_auth_tokens_and_tenants(tmp_path, test_specs):
    cfg = {"auth": {"users": ["alice:tok-a", "bob:tok-b", "root:tok-r"],
                    "admins": ["root"]}}
    s = make(tmp_path, "j0auth", test_specs, config=cfg).start()
    try:
        body = {"source_code": "echo mine", "language_id": BASH}
        st, _, data = s.http("POST", "/submissions", body)
        assert (st, data) == (401, b"")
        st, _, data = s.http("POST", "/submissions", body, headers={"X-Auth-Token": "wrong"})
        assert (st, data) == (401, b"")
        st, _, obj = s.http_json("POST", "/submissions?wait=true", body,
                                 headers={"X-Auth-Token": "tok-a"})
        assert st == 201
        st, _, a = s.http_json("POST", "/submissions", body, headers={"X-Auth-Token": "tok-a"})
        tok = a["token"]
        st, _, _ = s.http_json("GET", f"/submissions/{tok}", headers={"X-Auth-Token": "tok-a"})
        assert st == 200
        st, _, _ = s.http_json("GET", f"/submissions/{tok}", headers={"X-Auth-Token": "tok-b"})
        assert st == 404
        st, _, obj = s.http_json("GET", f"/submissions/batch?tokens={tok}",
                                 headers={"X-Auth-Token": "tok-b"})
        assert obj == {"submissions": [None]}
        st, _, data = s.http("GET", "/submissions", headers={"X-Auth-Token": "tok-a"})
        assert (st, data) == (403, b"")
        st, _, page = s.http_json("GET", "/submissions",
                                  headers={"X-Auth-Token": "tok-b", "X-Auth-User": "tok-r"})
        assert st == 200 and page["meta"]["total_count"] == 2
        st, _, _ = s.http("POST", "/authenticate", headers={"X-Auth-Token": "tok-b"})
        assert st == 200
        st, _, data = s.http("POST", "/authorize", headers={"X-Auth-User": "tok-b"})
        assert (st, data) == (403, b"")
        st, _, _ = s.http("POST", "/authorize", headers={"X-Auth-User": "tok-r"})
        assert st == 200
    finally:
        stop_clean(s)


def test_restart_between_create_and_get(tmp_path, test_specs):
    s = make(tmp_path, "j0r", test_specs).start()
    done = run(s, "print('kept')")
    st, obj = sdk_create(s, sdk_body("import time\ntime.sleep(2)\nprint('late')", PY))
    tok = obj["token"]
    assert wait_until(lambda: sdk_get(s, tok)[1]["status"]["id"] == 2, 10)
    s.stop(signal.SIGKILL)
    s.start()
    try:
        assert dec(sdk_get(s, done["token"])[1]["stdout"]) == "kept\n"
        late = sdk_wait(s, tok)
        check_status(late, 3)
        assert dec(late["stdout"]) == "late\n"
        assert f"token={tok} ok=yes" in s.log_text()
    finally:
        stop_clean(s)


def test_sigkill_right_after_201_keeps_every_token(tmp_path, test_specs):
    """A token is given (201) only once its row is committed: SIGKILL the
    server the moment the answers arrive, and every token (single creates
    and a batch's) still answers after the restart and runs to its end."""
    s = make(tmp_path, "j0k", test_specs).start()
    toks = []
    for i in range(5):
        st, obj = sdk_create(s, sdk_body(f"print({i})", PY))
        assert st == 201, (st, obj)
        toks.append(obj["token"])
    st, _, batch = s.http("POST", "/submissions/batch?base64_encoded=true",
                          {"submissions": [sdk_body("print(7)", PY) for _ in range(3)]})
    assert st == 201, (st, batch)
    toks += [b["token"] for b in json.loads(batch)]
    s.stop(signal.SIGKILL)
    s.start()
    try:
        for tok in toks:
            obj = sdk_wait(s, tok)
            check_status(obj, 3)
    finally:
        stop_clean(s)


# -- callbacks --------------------------------------------------------------------

class Catcher(http.server.BaseHTTPRequestHandler):
    got = []

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", 0))
        Catcher.got.append((self.path, self.headers.get("Content-Type"), self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_callbacks(tmp_path, test_specs):
    probe = make(tmp_path, "j0cbp", test_specs).start()
    enabled = probe.http_json("GET", "/config_info")[2]["enable_callbacks"]
    stop_clean(probe)
    if not enabled:
        pytest.skip("this build has no outbound callback module")
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Catcher)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    s = make(tmp_path, "j0cb", test_specs, judge0={"callback_allow": ["127.0.0.1"]}).start()
    try:
        obj = run(s, "print('cb')", callback_url=f"http://127.0.0.1:{port}/done")
        assert wait_until(lambda: Catcher.got, 15)
        path, ctype, body = Catcher.got[0]
        assert path == "/done" and ctype.startswith("application/json")
        sent = json.loads(body)
        assert set(sent) == DEFAULT_FIELDS and sent["token"] == obj["token"]
        assert dec(sent["stdout"]) == "cb\n"  # always base64
        refused = run(s, "print(1)", callback_url="http://169.254.169.254/latest")
        assert wait_until(lambda: "refused" in (dec(sdk_get(s, refused["token"])[1]["message"])
                                                or ""), 15)
    finally:
        httpd.shutdown()
        stop_clean(s)


# -- additional_files ------------------------------------------------------------

def zip_of(files):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return enc(buf.getvalue())


def test_multi_file_program(j0):
    st, _, one = j0.http_json("GET", "/languages/89")
    assert st == 200 and one["name"] == "Multi-file program"
    files = {"compile": "gcc -o prog main.c lib/util.c\n",
             "run": "./prog \"$@\"\n",
             "main.c": "#include <stdio.h>\nint twice(int);\n"
                       "int main(void){int x; scanf(\"%d\",&x); printf(\"%d\\n\", twice(x));}\n",
             "lib/util.c": "int twice(int x){return 2*x;}\n"}
    st, obj = sdk_create(j0, {"language_id": 89, "additional_files": zip_of(files),
                              "stdin": enc("21"), "expected_output": enc("42")})
    assert st == 201, obj
    done = sdk_wait(j0, obj["token"])
    check_status(done, 3)
    assert dec(done["stdout"]) == "42\n"


def test_additional_files_beside_the_program(j0):
    obj = run(j0, "print(open('data/in.txt').read().upper())",
              additional_files=zip_of({"data/in.txt": "abc"}))
    check_status(obj, 3)
    assert dec(obj["stdout"]) == "ABC\n"


def test_bad_archives_are_422(j0):
    st, _, obj = j0.http_json("POST", "/submissions",
                              {"source_code": "x", "language_id": PY,
                               "additional_files": enc("not a zip")})
    assert st == 422 and list(obj) == ["additional_files"], obj
    st, _, obj = j0.http_json("POST", "/submissions",
                              {"source_code": "x", "language_id": PY,
                               "additional_files": zip_of({"../escape": "x"})})
    assert st == 422 and list(obj) == ["additional_files"], obj
    st, _, obj = j0.http_json("POST", "/submissions",
                              {"language_id": 89, "additional_files": zip_of({"compile": ""})})
    assert (st, obj) == (422, {"additional_files":
                               ["a Multi-file program's archive must hold a run script"]})
    big = zip_of({"big.bin": "\0" * (11 * 1024 * 1024)})
    st, _, obj = j0.http_json("POST", "/submissions",
                              {"source_code": "x", "language_id": PY, "additional_files": big})
    assert st == 422 and list(obj) == ["additional_files"], obj


def test_interrupted_twice_is_internal_error(tmp_path, test_specs):
    """A clean stop (SIGTERM) leaves a running submission queued for the
    next start, which runs it again; a second stop while it runs again
    ends it as 13 with a message, never silently."""
    s = make(tmp_path, "j0rr", test_specs).start()
    st, obj = sdk_create(s, sdk_body("import time\ntime.sleep(30)", PY))
    tok = obj["token"]
    assert wait_until(lambda: sdk_get(s, tok)[1]["status"]["id"] == 2, 10)
    stop_clean(s)
    s.start()
    assert wait_until(lambda: f"token={tok} ok=yes" in s.log_text(), 10)
    assert wait_until(lambda: sdk_get(s, tok)[1]["status"]["id"] == 2, 10)
    s.stop(signal.SIGKILL)
    s.start()
    try:
        obj = sdk_get(s, tok)[1]
        check_status(obj, 13)
        assert dec(obj["message"]) == ("the server holding this submission stopped twice "
                                       "while it was queued or running")
        assert obj["finished_at"] is not None
    finally:
        stop_clean(s)


def test_per_process_memory_limit(j0):
    """With the per-process flag a program's allocation fails (Python's
    MemoryError: NZEC) instead of the run being killed."""
    obj = run(j0, "x = bytearray(200 * 1024 * 1024)", memory_limit=65536,
              enable_per_process_and_thread_memory_limit=True)
    check_status(obj, 11)
    assert obj["exit_code"] == 1 and "MemoryError" in dec(obj["stderr"])
    assert obj["enable_per_process_and_thread_memory_limit"] is True


def test_wall_time_limit(j0):
    obj = run(j0, "import time\ntime.sleep(5)", wall_time_limit=1)
    check_status(obj, 5)
    assert dec(obj["message"]) == "Time limit exceeded (wall clock)"
    assert obj["exit_signal"] == 9


def test_retention_by_count(tmp_path, test_specs):
    """judge0.max_submissions bounds what is kept in memory (oldest finished
    first); state.retention_count bounds the store, pruned a second after
    start: the oldest are gone after a restart too."""
    s = make(tmp_path, "j0ret", test_specs, judge0={"max_submissions": 2},
             config={"state": {"retention_count": 2}}).start()
    try:
        toks = [run(s, f"print({i})")["token"] for i in range(4)]
        assert [sdk_get(s, t)[0] for t in toks] == [404, 404, 200, 200]
        stop_clean(s)
        s.start()
        time.sleep(1.5)  # the store's first prune
        stop_clean(s)
        import sqlite3
        db = sqlite3.connect(str(tmp_path / "j0ret.state" / "runnel.db"))
        kept = [r[0] for r in db.execute("SELECT token FROM judge0_submission ORDER BY created_ms")]
        db.close()
        assert kept == toks[2:]
        s.start()
        assert [sdk_get(s, t)[0] for t in toks] == [404, 404, 200, 200]
        st, _, obj = s.http_json("GET", "/statistics")
        assert obj["submissions"]["total"] == 2
        assert wait_until(lambda: "judge0.store" in s.log_text(), 5)
        assert "submissions=2 requeue=0" in s.log_text()
    finally:
        stop_clean(s)
