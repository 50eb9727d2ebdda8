"""Jobe's REST API (the envelope Moodle CodeRunner talks to): languages,
runs and their outcomes in every Jobe language, files, errors, keys,
rate, overload from a full queue and the file cache across a restart."""

import base64
import hashlib
import json
import signal
import threading
import time

import pytest

from conftest import SPECS, Server, wait_until

API = "/jobe/index.php/restapi"
JOBE_LANGS = ("c", "cpp", "java", "nodejs", "octave", "pascal", "php", "python3")
SLOW = 180  # seconds: the first Java or Octave run on a loaded machine


@pytest.fixture(scope="module")
def jobe(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobe")
    s = Server(d, "jobe", SPECS, limits={"wall_ms": 60000, "cpu_ms": 60000},
               config={"jobe": {"files_dir": str(d / "files")}})
    s.start()
    yield s
    stop_clean(s)


def stop_clean(srv):
    """Stop on SIGTERM; runneld exits 0 and (sanitizer builds) reports nothing."""
    assert srv.stop(signal.SIGTERM, timeout=15) == 0, srv.log_tail()
    assert "Sanitizer" not in srv.log_text(), srv.log_tail()


def make_server(tmp_path, name, files_dir=None, limits=None, jobe=None, config=None):
    cfg = {"jobe": dict(jobe or {}, files_dir=str(files_dir or tmp_path / "files"))}
    cfg.update(config or {})
    lim = {"wall_ms": 60000, "cpu_ms": 60000}
    lim.update(limits or {})
    return Server(tmp_path, name, SPECS, limits=lim, config=cfg).start()


def run(srv, spec, headers=None, prefix=API):
    st, hdrs, data = srv.http("POST", prefix + "/runs", {"run_spec": spec}, headers=headers,
                              timeout=SLOW)
    return st, json.loads(data) if data else None


def run_ok(srv, spec):
    st, obj = run(srv, spec)
    assert st == 200, (st, obj)
    assert set(obj) == {"run_id", "outcome", "cmpinfo", "stdout", "stderr"}, obj
    return obj


def put_file(srv, fid, content, prefix=API):
    body = {"file_contents": base64.b64encode(content).decode()}
    st, _, data = srv.http("PUT", f"{prefix}/files/{fid}", body)
    return st, data


def head_file(srv, fid):
    st, _, data = srv.http("HEAD", f"{API}/files/{fid}")
    return st


# ---------------------------------------------------------------- languages

def test_languages_under_both_prefixes(jobe):
    # Versions are detected in the background after start.
    assert wait_until(lambda: not jobe.http_json("GET", "/v1/info")[2]["versions_pending"], 60)
    for path in (API + "/languages", API + "/languages/", "/jobe/restapi/languages"):
        st, hdrs, obj = jobe.http_json("GET", path)
        assert st == 200, (path, obj)
        assert hdrs["content-type"].startswith("application/json")
        assert all(isinstance(p, list) and len(p) == 2 for p in obj), obj
        ids = [p[0] for p in obj]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), ids
        for lang in JOBE_LANGS:
            assert lang in ids, (lang, ids)
        versions = dict(obj)
        assert versions["python3"].startswith("3."), versions
        assert all(versions[lang][0].isdigit() for lang in JOBE_LANGS), versions
        assert "javascript" not in ids  # Jobe's id is nodejs


# ---------------------------------------------------------------- outcomes

HELLO = {
    "c": '#include <stdio.h>\nint main(void) { printf("hi %d\\n", 6 * 7); return 0; }\n',
    "cpp": '#include <iostream>\nint main() { std::cout << "hi " << 6 * 7 << std::endl; }\n',
    "java": 'public class Hi {\n  public static void main(String[] a) {\n'
            '    System.out.println("hi " + 6 * 7);\n  }\n}\n',
    "nodejs": 'console.log("hi " + 6 * 7);\n',
    "octave": 'printf("hi %d\\n", 6 * 7);\n',
    "pascal": "program Hi;\nbegin\n  WriteLn('hi ', 6 * 7);\nend.\n",
    "php": '<?php\necho "hi " . (6 * 7) . "\\n";\n',
    "python3": 'print("hi", 6 * 7)\n',
}

BROKEN = {
    "c": "int main(void) { return x; }\n",
    "cpp": "int main() { return x; }\n",
    "java": "public class Hi {\n  public static void main(String[] a) { int x = ; }\n}\n",
    "pascal": "program Hi;\nbegin\n  WriteLn('hi')\n  x := ;\nend.\n",
    "php": "<?php\necho 'hi'\necho 'there';\n",
    "python3": "print('hi'\n",
}


@pytest.mark.parametrize("lang", JOBE_LANGS)
def test_hello_is_ok(jobe, lang):
    spec = {"language_id": lang, "sourcecode": HELLO[lang]}
    if lang in ("octave", "nodejs", "python3"):
        spec["parameters"] = {"memorylimit": 0}
    obj = run_ok(jobe, spec)
    assert (obj["outcome"], obj["stdout"], obj["stderr"], obj["cmpinfo"]) == \
        (15, "hi 42\n", "", ""), obj
    assert len(obj["run_id"]) == 64


@pytest.mark.parametrize("lang", sorted(BROKEN))
def test_compile_error_has_cmpinfo(jobe, lang):
    obj = run_ok(jobe, {"language_id": lang, "sourcecode": BROKEN[lang]})
    assert obj["outcome"] == 11, obj
    assert obj["cmpinfo"].strip(), obj
    assert (obj["stdout"], obj["stderr"]) == ("", ""), obj


def test_c_warning_is_a_compile_error_as_jobe_defaults_say(jobe):
    src = "#include <stdio.h>\nint main(void) { int unused; printf(\"x\\n\"); }\n"
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src})
    assert obj["outcome"] == 11 and "unused" in obj["cmpinfo"], obj
    # Without -Werror, the same program compiles and runs.
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src,
                        "parameters": {"compileargs": ["-std=c99"]}})
    assert (obj["outcome"], obj["stdout"]) == (15, "x\n"), obj


def test_compileargs_replace_the_defaults(jobe):
    src = "#include <stdio.h>\nint main(void) { puts(\"x\"); }\n"
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src,
                        "parameters": {"compileargs": ["std=c89"]}})
    assert obj["outcome"] == 11 and "std=c89" in obj["cmpinfo"], obj


def test_stderr_makes_a_runtime_error_and_exit_status_does_not(jobe):
    obj = run_ok(jobe, {"language_id": "python3",
                        "sourcecode": "import sys\nprint('out')\nsys.stderr.write('err\\n')\n"})
    assert (obj["outcome"], obj["stdout"], obj["stderr"]) == (12, "out\n", "err\n"), obj
    obj = run_ok(jobe, {"language_id": "python3",
                        "sourcecode": "import sys\nprint('out')\nsys.exit(3)\n"})
    assert (obj["outcome"], obj["stdout"], obj["stderr"]) == (15, "out\n", ""), obj


def test_runtime_errors(jobe):
    obj = run_ok(jobe, {"language_id": "python3", "sourcecode": "print([1][2])\n"})
    assert obj["outcome"] == 12 and "IndexError" in obj["stderr"], obj
    obj = run_ok(jobe, {"language_id": "c", "sourcecode":
                        "#include <stdio.h>\nint main(void) { int *p = 0; printf(\"%d\", *p); }\n"})
    assert obj["outcome"] == 12, obj
    obj = run_ok(jobe, {"language_id": "nodejs", "sourcecode": "throw new Error('boom');\n",
                        "parameters": {"memorylimit": 0}})
    assert obj["outcome"] == 12 and "boom" in obj["stderr"], obj


def test_time_limit_from_cputime(jobe):
    t0 = time.monotonic()
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": "int main(void) { for (;;); }\n",
                        "parameters": {"cputime": 1}})
    assert (obj["outcome"], obj["stderr"]) == (13, ""), obj
    assert time.monotonic() - t0 < 60


def test_runaway_output_is_a_time_limit(jobe):
    obj = run_ok(jobe, {"language_id": "c", "sourcecode":
                        "#include <stdio.h>\nint main(void) { for (;;) printf(\"Hello\"); }\n",
                        "parameters": {"streamsize": 1}})
    assert obj["outcome"] == 13, obj
    assert len(obj["stdout"]) <= 2 * 1000000 and obj["stdout"].startswith("HelloHello"), \
        len(obj["stdout"])


def test_memorylimit_is_a_per_process_cap(jobe):
    src = ("#include <stdio.h>\n#include <stdlib.h>\nint main(void) {\n"
           "  char *p = malloc(300000000);\n  puts(p ? \"got\" : \"refused\");\n}\n")
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src,
                        "parameters": {"memorylimit": 100}})
    assert (obj["outcome"], obj["stdout"]) == (15, "refused\n"), obj
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src,
                        "parameters": {"memorylimit": 1000}})
    assert (obj["outcome"], obj["stdout"]) == (15, "got\n"), obj


def test_memory_limit_outcome_when_the_sandbox_runs_out(jobe):
    src = ("#include <stdlib.h>\n#include <string.h>\nint main(void) {\n"
           "  for (int i = 0; i < 64; i++) {\n    char *p = malloc(64 << 20);\n"
           "    if (!p)\n      return 1;\n    memset(p, 1, 64 << 20);\n  }\n  return 0;\n}\n")
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src,
                        "parameters": {"memorylimit": 0}})
    assert obj["outcome"] == 17, obj


def test_sigsys_is_an_illegal_system_call(jobe):
    src = ("#define _POSIX_C_SOURCE 200809L\n#include <signal.h>\n#include <unistd.h>\n"
           "int main(void) { kill(getpid(), SIGSYS); pause(); }\n")
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src})
    assert obj["outcome"] == 19, obj


def test_numprocs_bounds_forks(jobe):
    src = ("#include <stdio.h>\n#include <unistd.h>\nint main(void) {\n"
           "  int ok = 0;\n  for (int i = 0; i < 100; i++) { int p = fork();\n"
           "    if (p == 0) { pause(); } else if (p > 0) ok++; }\n"
           "  printf(\"%d\\n\", ok);\n}\n")
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src, "parameters": {"numprocs": 5}})
    assert obj["outcome"] == 15 and 1 <= int(obj["stdout"]) <= 5, obj


def test_non_utf8_output_escaped_as_jobe(jobe):
    src = '#include <stdio.h>\nint main(void) { printf("ok\\n\\001\\300x\\n"); }\n'
    obj = run_ok(jobe, {"language_id": "c", "sourcecode": src})
    assert (obj["outcome"], obj["stdout"]) == (15, "ok\n\\x01\\xc0x\n"), obj


def test_input_and_args(jobe):
    obj = run_ok(jobe, {"language_id": "python3", "input": "a\nb\n",
                        "sourcecode": "import sys\nprint(input() + input(), sys.argv[1:])\n",
                        "parameters": {"runargs": ["x", "y z"]}})
    assert obj["stdout"] == "ab ['x', 'y', 'z']\n", obj  # Jobe's sh -c splits words
    obj = run_ok(jobe, {"language_id": "python3", "sourcecode": "\n",
                        "parameters": {"interpreterargs": ['-c "print(\\"Blah\\")"']}})
    assert (obj["outcome"], obj["stdout"]) == (15, "Blah\n"), obj


def test_sourcefilename_and_java_class(jobe):
    obj = run_ok(jobe, {"language_id": "python3", "sourcefilename": "mine.py",
                        "sourcecode": "import os\nprint(os.path.basename(__file__))\n"})
    assert obj["stdout"] == "mine.py\n", obj
    obj = run_ok(jobe, {"language_id": "python3",
                        "sourcecode": "import os\nprint(os.path.basename(__file__))\n"})
    assert obj["stdout"] == "prog.py\n", obj
    src = ("class Helper { static int f() { return 7; } }\n"
           "public class Found {\n  public static void main(String[] args) {\n"
           "    System.out.println(new Object(){}.getClass().getEnclosingClass().getName()"
           " + Helper.f());\n  }\n}\n")
    obj = run_ok(jobe, {"language_id": "java", "sourcecode": src})
    assert (obj["outcome"], obj["stdout"]) == (15, "Found7\n"), obj
    # Legacy CodeRunner's prog.java is ignored, as Jobe ignores it.
    obj = run_ok(jobe, {"language_id": "java", "sourcecode": src, "sourcefilename": "prog.java"})
    assert (obj["outcome"], obj["stdout"]) == (15, "Found7\n"), obj


def test_octave_stdin(jobe):
    obj = run_ok(jobe, {"language_id": "octave", "input": "abc\n",
                        "sourcecode": "s = input('', 's');\ndisp(s);\n",
                        "parameters": {"memorylimit": 0}})
    assert (obj["outcome"], obj["stdout"]) == (15, "abc\n"), obj


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("body,status,message", [
    ({"run_spec": {"sourcecode": "x"}}, 400,
     "run_spec is missing the required attribute 'language_id'"),
    ({"run_spec": {"language_id": "c"}}, 400,
     "run_spec is missing the required attribute 'sourcecode'"),
    ({"run_spec": {"language_id": "Fortran77", "sourcecode": "x"}}, 400,
     "Language 'fortran77' is not known"),
    ({"runspec": {}}, 400, "No run_spec attribute found in post data"),
    ([1, 2], 400, "Non-JSON post data received"),
    ({"run_spec": {"language_id": "c", "sourcecode": "x", "parameters": {"cputime": 121}}}, 400,
     "cputime exceeds maximum allowed on this Jobe server (120 secs)"),
    ({"run_spec": {"language_id": "c", "sourcecode": "x", "sourcefilename": "../x.c"}}, 400,
     "The sourcefilename for the run_spec is illegal"),
    ({"run_spec": {"language_id": "c", "sourcecode": "x", "file_list": [["short", "f"]]}}, 400,
     'Invalid file specifier: ["short","f"]'),
    ({"run_spec": {"language_id": "c", "sourcecode": "x",
                   "file_list": [["abcdefgh1234", "a/b"]]}}, 400,
     'Invalid file specifier: ["abcdefgh1234","a/b"]'),
    ({"run_spec": {"language_id": "python3", "sourcecode": "x",
                   "file_list": [["nosuchfileid", "f"]]}}, 404,
     "One or more of the specified files is missing/unavailable"),
])
def test_errors_are_jobe_strings(jobe, body, status, message):
    st, hdrs, obj = jobe.http_json("POST", API + "/runs", body)
    assert (st, obj) == (status, message)
    assert hdrs["content-type"].startswith("application/json")


def test_non_json_body(jobe):
    st, _, obj = jobe.http_json("POST", API + "/runs", "{not json",
                                headers={"Content-Type": "application/json"})
    assert (st, obj) == (400, "Non-JSON post data received")


def test_unknown_resources_and_methods_are_404(jobe):
    for method, path in (("GET", API + "/runs"), ("GET", API + "/runresults/1"),
                         ("POST", API + "/files"), ("DELETE", API + "/files/abcdefgh"),
                         ("GET", "/jobe/restapi/nothing")):
        st, hdrs, obj = jobe.http_json(method, path)
        assert st == 404 and isinstance(obj, str) and obj.startswith("Can't find a route"), \
            (method, path, st, obj)


# ---------------------------------------------------------------- files

def test_files_put_head_and_use(jobe):
    content = b"line one\nline two\n\x00\xff"
    fid = hashlib.md5(content).hexdigest()
    assert head_file(jobe, fid) == 404
    st, data = put_file(jobe, fid, content)
    assert (st, data) == (204, b"")
    assert head_file(jobe, fid) == 204
    st, data = put_file(jobe, "other1234", b"unnamed", prefix="/jobe/restapi")
    assert st == 204
    src = ("import os\nprint(sorted(os.listdir('.')))\n"
           "print(open('data.bin', 'rb').read() == " + repr(content) + ")\n")
    obj = run_ok(jobe, {"language_id": "python3", "sourcecode": src,
                        "sourcefilename": "t.py", "file_list": [[fid, "data.bin"]]})
    # The run sees its source and the file it named, nothing else.
    assert (obj["outcome"], obj["stdout"]) == (15, "['data.bin', 't.py']\nTrue\n"), obj


def test_java_support_class_from_the_cache(jobe):
    thing = b"public class Thing { public static String s() { return \"thing\"; } }\n"
    fid = hashlib.md5(thing).hexdigest()
    assert put_file(jobe, fid, thing)[0] == 204
    src = "public class Main2 { public static void main(String[] a) {" \
          " System.out.println(Thing.s()); } }\n"
    obj = run_ok(jobe, {"language_id": "java", "sourcecode": src,
                        "file_list": [[fid, "Thing.java"]]})
    assert (obj["outcome"], obj["stdout"]) == (15, "thing\n"), obj


@pytest.mark.parametrize("body,message", [
    ({"file_contents": "not base64!"}, "put: contents of file badb64abc are not valid base-64"),
    ({"file_contents": "QUJD=QUJD"}, "put: contents of file badb64abc are not valid base-64"),
    ({"contents": "QUJD"}, "put: missing file_contents parameter"),
])
def test_put_refusals(jobe, body, message):
    st, _, obj = jobe.http_json("PUT", API + "/files/badb64abc", body)
    assert (st, obj) == (400, message)
    assert head_file(jobe, "badb64abc") == 404


def test_file_ids_are_alphanumeric(jobe):
    st, _, obj = jobe.http_json("PUT", API + "/files/bad-id", {"file_contents": "QUJD"})
    assert st == 404, obj
    assert head_file(jobe, "bad-id") == 404


def test_file_cache_bounds(tmp_path):
    srv = make_server(tmp_path, "bounded", jobe={"files_max_count": 2})
    try:
        for i in range(3):
            assert put_file(srv, f"fileid000{i}", f"content {i}".encode())[0] == 204
            time.sleep(1.1)  # last use is counted in seconds
        assert [head_file(srv, f"fileid000{i}") for i in range(3)] == [404, 204, 204]
        # A run that uses a file keeps it: the other one goes next.
        obj = run_ok(srv, {"language_id": "python3", "sourcecode": "print(open('f').read())",
                           "file_list": [["fileid0001", "f"]]})
        assert obj["stdout"] == "content 1\n", obj
        time.sleep(1.1)
        assert put_file(srv, "fileid0003", b"3")[0] == 204
        assert [head_file(srv, f"fileid000{i}") for i in range(4)] == [404, 204, 404, 204]
    finally:
        stop_clean(srv)


def test_file_cache_survives_a_restart(tmp_path):
    files = tmp_path / "kept"
    srv = make_server(tmp_path, "first", files_dir=files)
    assert put_file(srv, "keptfile123", b"still here\n")[0] == 204
    assert put_file(srv, "samecontent1", b"still here\n")[0] == 204
    srv.stop(signal.SIGKILL)  # acknowledged means on disk
    objects = list((files / "objects").iterdir())
    assert len(objects) == 1, objects  # content-addressed: one copy
    srv = make_server(tmp_path, "second", files_dir=files)
    try:
        assert head_file(srv, "keptfile123") == 204
        assert head_file(srv, "samecontent1") == 204
        obj = run_ok(srv, {"language_id": "python3", "sourcecode": "print(open('k').read(), end='')",
                           "file_list": [["keptfile123", "k"]]})
        assert (obj["outcome"], obj["stdout"]) == (15, "still here\n"), obj
        # New content under both ids: the old object goes once unused.
        assert put_file(srv, "keptfile123", b"new\n")[0] == 204
        assert len(list((files / "objects").iterdir())) == 2
        assert put_file(srv, "samecontent1", b"new\n")[0] == 204
        assert wait_until(lambda: len(list((files / "objects").iterdir())) == 1, 10)
        obj = run_ok(srv, {"language_id": "python3", "sourcecode": "print(open('k').read(), end='')",
                           "file_list": [["samecontent1", "k"]]})
        assert obj["stdout"] == "new\n", obj
    finally:
        stop_clean(srv)


# ---------------------------------------------------------------- capacity, keys, rate

def test_overload_from_a_full_queue(tmp_path):
    srv = make_server(tmp_path, "full", limits={"concurrency": 1, "queue": 1})
    try:
        slow = {"language_id": "python3", "sourcecode": "import time\ntime.sleep(4)\nprint('done')\n"}
        results = []

        def go():
            results.append(run(srv, slow))

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.5)
        st, obj = run(srv, {"language_id": "python3", "sourcecode": "print(1)\n"})
        assert (st, obj) == (200, {"run_id": None, "outcome": 21, "cmpinfo": "", "stdout": "",
                                   "stderr": ""})
        for t in threads:
            t.join()
        assert [r[1]["outcome"] for r in results] == [15, 15], results
        assert run(srv, {"language_id": "python3", "sourcecode": "print(1)\n"})[1]["outcome"] == 15
    finally:
        stop_clean(srv)


def test_api_keys_map_onto_tokens(tmp_path):
    srv = make_server(tmp_path, "keys", config={"auth": {"tokens": ["jobe-key-0123456789"]}})
    try:
        path = API + "/languages"
        assert srv.http("GET", path)[::2] == (403, b"Missing API key")
        assert srv.http("GET", path, headers={"X-API-KEY": "wrong"})[::2] == \
            (403, b"Unknown API key")
        assert srv.http("GET", path, headers={"X-API-KEY": "jobe-key-0123456789"})[0] == 200
        assert srv.http("GET", path,
                        headers={"Authorization": "Bearer jobe-key-0123456789"})[0] == 200
        st, obj = run(srv, {"language_id": "python3", "sourcecode": "print(2)\n"},
                      headers={"X-API-KEY": "jobe-key-0123456789"})
        assert (st, obj["stdout"]) == (200, "2\n"), obj
        assert srv.http("PUT", API + "/files/abcdefgh12", {"file_contents": "QQ=="})[0] == 403
        # The rest of the server still asks for its bearer token.
        assert srv.http("GET", "/v1/spec", headers={"X-API-KEY": "jobe-key-0123456789"})[0] == 401
    finally:
        stop_clean(srv)


def test_files_belong_to_their_user(tmp_path):
    """With auth.users, a file PUT by one user is that user's: another
    user's HEAD says 404 and a run naming it gets Jobe's missing-file 404;
    the same id PUT by both users keeps two contents."""
    srv = make_server(tmp_path, "tenants", config={"auth": {
        "users": ["alice:tok-alice-0123456789", "bob:tok-bob-0123456789"]}})
    alice = {"X-API-KEY": "tok-alice-0123456789"}
    bob = {"Authorization": "Bearer tok-bob-0123456789"}
    try:
        body = {"file_contents": base64.b64encode(b"alice's").decode()}
        assert srv.http("PUT", API + "/files/shared1234", body, headers=alice)[::2] == (204, b"")
        assert srv.http("HEAD", API + "/files/shared1234", headers=alice)[0] == 204
        assert srv.http("HEAD", API + "/files/shared1234", headers=bob)[0] == 404
        spec = {"language_id": "python3", "sourcecode": "print(open('d').read())\n",
                "file_list": [["shared1234", "d"]]}
        st, obj = run(srv, spec, headers=bob)
        assert (st, obj) == (404, "One or more of the specified files is missing/unavailable")
        st, obj = run(srv, spec, headers=alice)
        assert (st, obj["outcome"], obj["stdout"]) == (200, 15, "alice's\n"), obj
        # bob's own file under the same id does not touch alice's
        body = {"file_contents": base64.b64encode(b"bob's").decode()}
        assert srv.http("PUT", API + "/files/shared1234", body, headers=bob)[0] == 204
        st, obj = run(srv, spec, headers=bob)
        assert (st, obj["stdout"]) == (200, "bob's\n"), obj
        st, obj = run(srv, spec, headers=alice)
        assert (st, obj["stdout"]) == (200, "alice's\n"), obj
    finally:
        stop_clean(srv)


def test_hourly_rate(tmp_path):
    srv = make_server(tmp_path, "rate", jobe={"runs_per_hour": 2})
    try:
        spec = {"language_id": "python3", "sourcecode": "print(3)\n"}
        assert [run(srv, spec)[0] for _ in range(2)] == [200, 200]
        st, _, data = srv.http("POST", API + "/runs", {"run_spec": spec})
        assert (st, data) == (429, b"Max RUN rate for this server exceeded")
        assert srv.http("GET", API + "/languages")[0] == 200  # only runs count
    finally:
        stop_clean(srv)


def test_hourly_rate_is_per_api_key(tmp_path):
    """Jobe counts runs per API key: one key spent leaves another's runs."""
    srv = make_server(tmp_path, "ratekey", jobe={"runs_per_hour": 1},
                      config={"auth": {"tokens": ["jobe-key-aaaa", "jobe-key-bbbb"]}})
    try:
        spec = {"language_id": "python3", "sourcecode": "print(3)\n"}
        a, b = {"X-API-KEY": "jobe-key-aaaa"}, {"X-API-KEY": "jobe-key-bbbb"}
        assert run(srv, spec, headers=a)[0] == 200
        st, _, data = srv.http("POST", API + "/runs", {"run_spec": spec}, headers=a)
        assert (st, data) == (429, b"Max RUN rate for this server exceeded")
        assert run(srv, spec, headers=b)[0] == 200
        assert srv.http("POST", API + "/runs", {"run_spec": spec}, headers=b)[0] == 429
    finally:
        stop_clean(srv)


def test_cputime_maximum_is_configurable(tmp_path):
    srv = make_server(tmp_path, "maxcpu", jobe={"max_cputime": 10})
    try:
        st, obj = run(srv, {"language_id": "python3", "sourcecode": "print(1)",
                            "parameters": {"cputime": 11}})
        assert (st, obj) == (400, "cputime exceeds maximum allowed on this Jobe server (10 secs)")
        st, obj = run(srv, {"language_id": "python3", "sourcecode": "print(1)",
                            "parameters": {"cputime": "10"}})
        assert (st, obj["outcome"]) == (200, 15), obj
    finally:
        stop_clean(srv)
