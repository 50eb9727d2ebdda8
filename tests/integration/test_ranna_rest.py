"""ranna's REST API: POST /v1/exec and GET /v1/spec."""

import json

from conftest import Run, arun, LOG, STOP_KEYS, REASONS


def exec_req(srv, body, **kw):
    return srv.http_json("POST", "/v1/exec", body, **kw)


def check_exec_response(obj):
    assert isinstance(obj, dict), obj
    need = {"stdout", "stderr", "exectimems"} | (STOP_KEYS - {"runid"})
    assert need <= set(obj), f"missing {need - set(obj)} in {obj!r}"
    assert isinstance(obj["stdout"], str) and isinstance(obj["stderr"], str), obj
    for k in ("exectimems", "exitcode", "signal", "cputimems", "memorypeakbytes"):
        assert type(obj[k]) is int, (k, obj)
    assert obj["reason"] in REASONS, obj


def check_error(st, hdrs, obj, status, message_prefix=None):
    assert st == status, f"HTTP {st}, expected {status}: {obj!r}"
    assert isinstance(obj, dict) and {"error", "code"} <= set(obj), obj
    assert obj["code"] == status, obj
    assert isinstance(obj["error"], str) and obj["error"], obj
    if message_prefix is not None:
        assert obj["error"].startswith(message_prefix), obj
    assert hdrs.get("content-type", "").startswith("application/json"), hdrs


def test_exec_hello(server):
    st, hdrs, obj = exec_req(server, {"language": "bash", "code": "echo hello; echo oops >&2"})
    assert st == 200, obj
    assert hdrs.get("content-type", "").startswith("application/json"), hdrs
    check_exec_response(obj)
    assert (obj["stdout"], obj["stderr"]) == ("hello\n", "oops\n")
    assert (obj["reason"], obj["exitcode"], obj["signal"]) == ("exited", 0, 0), obj
    assert 0 <= obj["exectimems"] < 10000


def test_exec_python_alias_arguments_environment(server):
    body = {"language": "py",
            "code": "import sys, os\nprint(sys.argv[1:], os.environ['GREETING'])\n",
            "arguments": ["a", "b c"], "environment": {"GREETING": "héllo 👋"},
            "inline_expression": False}
    st, _, obj = exec_req(server, body)
    assert st == 200, obj
    check_exec_response(obj)
    assert obj["stdout"] == "['a', 'b c'] héllo 👋\n", obj


def test_exec_exit_code_and_stdin(server):
    st, _, obj = exec_req(server, {"language": "bash", "code": "cat; exit 7", "stdin": "in put\n"})
    assert st == 200, obj
    check_exec_response(obj)
    assert obj["stdout"] == "in put\n"
    assert (obj["reason"], obj["exitcode"]) == ("exited", 7), obj


def test_exec_invalid_utf8(server):
    code = "import sys\nsys.stdout.buffer.write(b'a\\xffb\\xe2\\x82')\n"
    st, _, obj = exec_req(server, {"language": "python3", "code": code})
    assert st == 200, obj
    assert obj["stdout"] == "a\ufffdb\ufffd\ufffd", obj


def test_exec_c(server):
    code = '#include <stdio.h>\nint main(void){ puts("c says hi"); return 0; }\n'
    st, _, obj = exec_req(server, {"language": "c", "code": code}, timeout=60)
    assert st == 200, obj
    assert (obj["stdout"], obj["reason"], obj["exitcode"]) == ("c says hi\n", "exited", 0), obj
    st, _, obj = exec_req(server, {"language": "c", "code": "int main(void) { oops }"}, timeout=60)
    assert st == 200, obj
    assert obj["reason"] == "compile_error" and obj["exitcode"] != 0, obj
    assert "error" in obj["stderr"], obj


def test_exec_empty_code(server):
    st, hdrs, obj = exec_req(server, {"language": "bash", "code": ""})
    check_error(st, hdrs, obj, 400)
    assert obj["error"] == "code is empty", obj


def test_exec_unknown_language(server):
    st, hdrs, obj = exec_req(server, {"language": "brainfork", "code": "+"})
    check_error(st, hdrs, obj, 400, "unsupported language spec")


def test_exec_invalid_json(server):
    st, hdrs, obj = exec_req(server, '{"language": "bash", "code": ')
    check_error(st, hdrs, obj, 400)


def test_exec_wrong_types(server):
    for body in ([1, 2], {"language": "bash", "code": 5},
                 {"language": "bash", "code": "echo", "arguments": "x"},
                 {"language": "bash", "code": "echo", "environment": {"A": 1}}):
        st, hdrs, obj = exec_req(server, body)
        check_error(st, hdrs, obj, 400)


def test_exec_code_too_large(server_factory):
    srv = server_factory(code_bytes=1024)
    st, hdrs, obj = exec_req(srv, {"language": "bash", "code": "echo " + "x" * 2000})
    check_error(st, hdrs, obj, 413)


def test_exec_output_capped(server_factory):
    limit = 65536
    srv = server_factory(output_bytes=limit)
    st, _, obj = exec_req(srv, {"language": "bash", "code": "yes"}, timeout=20)
    # ranna: 400 {"error":"output len exceeded","code":400}; runnel's fields follow
    assert st == 400, obj
    assert list(obj)[:2] == ["error", "code"], obj
    assert (obj["error"], obj["code"]) == ("output len exceeded", 400), obj
    check_exec_response(obj)
    assert obj["reason"] == "output_limit", obj
    n = len(obj["stdout"].encode()) + len(obj["stderr"].encode())
    assert 0 < n <= limit, n


def test_exec_timeout(server_factory):
    srv = server_factory(wall_ms=1500)
    st, _, obj = exec_req(srv, {"language": "bash", "code": "echo start; sleep 30"}, timeout=20)
    # ranna: 400 {"error":"code execution timed out","code":400}
    assert st == 400, obj
    assert list(obj)[:2] == ["error", "code"], obj
    assert (obj["error"], obj["code"]) == ("code execution timed out", 400), obj
    check_exec_response(obj)
    assert obj["reason"] == "timeout", obj
    assert obj["stdout"] == "start\n", obj
    assert 1400 <= obj["exectimems"] <= 4000, obj


def test_exec_busy(server_factory):
    srv = server_factory(concurrency=1, queue=1)

    async def main():
        ws = await srv.ws()
        a = Run(1)
        await ws.exec("echo ready; sleep 30", nonce=1)
        await ws.collect({1: a}, 10, until=lambda e: e["code"] == LOG)
        assert a.stdout == "ready\n", a
        await ws.exec("echo queued", nonce=2)
        runs = {1: a, 2: Run(2)}
        await ws.sync(runs, nonce=50)
        assert runs[2].error is None, runs[2]
        # slot and queue are full: REST gets 429
        st, hdrs, obj = await asyncio_to_thread(
            exec_req, srv, {"language": "bash", "code": "echo no"})
        check_error(st, hdrs, obj, 429)
        await ws.close()

    arun(main())


async def asyncio_to_thread(fn, *a):
    import asyncio
    return await asyncio.to_thread(fn, *a)


def test_spec(server):
    st, hdrs, obj = server.http_json("GET", "/v1/spec")
    assert st == 200
    assert hdrs.get("content-type", "").startswith("application/json"), hdrs
    assert isinstance(obj, dict)
    for key in ("python3", "py", "python", "bash", "c"):
        assert key in obj, f"{key} missing from /v1/spec keys {sorted(obj)}"
    assert obj["py"] == {"use": "python3"}, obj["py"]
    assert obj["python"] == {"use": "python3"}, obj["python"]
    for key in ("python3", "bash", "c"):
        spec = obj[key]
        assert "use" not in spec, spec
        for f in ("filename", "language", "example"):
            assert isinstance(spec.get(f), str) and spec[f], (key, f, spec)
        assert isinstance(spec.get("version"), str), spec
        assert spec.get("available") is True, spec
        if "image" in spec:
            assert isinstance(spec["image"], str), spec
        if "inline" in spec:
            assert isinstance(spec["inline"], dict), spec
    assert obj["python3"]["language"] == "python", obj["python3"]
    assert obj["python3"]["filename"].endswith(".py"), obj["python3"]
    # every alias points at a real entry (one hop)
    for key, spec in obj.items():
        if "use" in spec:
            assert spec["use"] in obj and "use" not in obj[spec["use"]], (key, spec)


def test_spec_examples_run(server):
    _, _, specs = server.http_json("GET", "/v1/spec")
    for key in ("python3", "bash"):
        st, _, obj = exec_req(server, {"language": key, "code": specs[key]["example"]})
        assert st == 200, obj
        assert obj["reason"] == "exited" and obj["exitcode"] == 0, (key, obj)
        assert obj["stdout"], (key, obj)


def test_unknown_route_404(server):
    st, _, _ = server.http("GET", "/v1/nothing-here")
    assert st == 404


def test_exec_response_is_json_utf8(server):
    st, hdrs, data = server.http("POST", "/v1/exec",
                                 {"language": "bash", "code": "printf '<&>\\t\"'"})
    assert st == 200
    obj = json.loads(data.decode("utf-8"))
    assert obj["stdout"] == '<&>\t"'


def test_exec_body_over_message_limit(server_factory):
    srv = server_factory(message_bytes=4096, code_bytes=262144)
    body = {"language": "bash", "code": "echo " + "x" * 8000}
    st, hdrs, obj = exec_req(srv, body)
    check_error(st, hdrs, obj, 413)


def test_plain_get_on_ws_path(server):
    """As ranna: a non-upgrade request to /v1/ws gets 426 Upgrade Required."""
    st, _, _ = server.http("GET", "/v1/ws")
    assert st == 426, st
