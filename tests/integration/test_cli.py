"""The runnel client CLI against a real runneld: exit codes, streaming,
stdin, language guessing, and Ctrl+C killing the remote run."""

import os
import selectors
import signal
import subprocess
import time

import pytest

from conftest import BUILD, free_port, marker, pids_with, wait_until

RUNNEL = BUILD / "src" / "cli" / "runnel"


@pytest.fixture(autouse=True)
def _need_cli():
    if not RUNNEL.exists():
        pytest.fail(f"{RUNNEL} does not exist (build the runnel target)")


def url(server):
    return f"http://{server.host}:{server.port}"


def cli(*args, server=None, input=None, timeout=30, env=None):
    """Run the CLI to the end; returns CompletedProcess (text)."""
    e = dict(os.environ)
    e.pop("RUNNEL_SERVER", None)
    e.pop("RUNNEL_TOKEN", None)
    if env:
        e.update(env)
    argv = [str(RUNNEL), *args]
    if server is not None:
        argv[2:2] = ["--server", url(server)]
    return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                          env=e, stdin=None if input is not None else subprocess.DEVNULL)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


class Timed:
    """A running CLI whose stdout/stderr lines are timestamped as they arrive."""

    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.lines = []  # (monotonic time, "out"|"err", line)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ, "out")
        self.sel.register(self.proc.stderr, selectors.EVENT_READ, "err")
        self.partial = {"out": b"", "err": b""}

    def pump(self, until, timeout):
        """Read until until(self) is true or both pipes end; fails on timeout."""
        deadline = time.monotonic() + timeout
        while not until(self) and self.sel.get_map():
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; lines so far {self.lines!r}"
            for key, _ in self.sel.select(min(left, 0.2)):
                data = os.read(key.fileobj.fileno(), 65536)
                if not data:
                    self.sel.unregister(key.fileobj)
                    continue
                buf = self.partial[key.data] + data
                *whole, self.partial[key.data] = buf.split(b"\n")
                now = time.monotonic()
                for w in whole:
                    self.lines.append((now, key.data, w.decode()))

    def first(self, stream, text):
        for t, s, line in self.lines:
            if s == stream and text in line:
                return t
        raise AssertionError(f"{text!r} not seen on std{stream}: {self.lines!r}")

    def finish(self, timeout=20):
        self.pump(lambda s: False, timeout)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- usage

def test_help_and_usage_errors():
    r = cli("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: runnel run [--lang L] [--stdin FILE] [--server URL]")
    assert "124 wall-time limit" in r.stdout
    for args, msg in [
        (["run", "--bogus", "x.py"], "runnel: unknown or incomplete option '--bogus' (see runnel --help)\n"),
        (["run"], "runnel: run needs a FILE (or - for standard input)\n"),
        ([], "runnel: missing command: run, langs or ping (see runnel --help)\n"),
        (["frobnicate"], "runnel: unknown command 'frobnicate': run, langs or ping (see runnel --help)\n"),
        (["run", "--lang"], "runnel: unknown or incomplete option '--lang' (see runnel --help)\n"),
        (["ping", "extra"], "runnel: ping takes no argument ('extra')\n"),
        (["run", "--server", "ftp://x", "a.py"],
         "runnel: server URL 'ftp://x' must start with http://, https://, ws:// or wss://\n"),
        (["run", "--server", "http://h:99999", "a.py"], "runnel: server URL 'http://h:99999' has a bad port\n"),
    ]:
        r = cli(*args)
        assert (r.returncode, r.stderr, r.stdout) == (2, msg, ""), args


# ---------------------------------------------------------------- ping, langs

def test_ping(server):
    r = cli("ping", server=server)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"pong from {url(server)} in ")
    assert r.stdout.endswith(" ms\n")


def test_default_server_from_environment(server):
    r = cli("ping", env={"RUNNEL_SERVER": url(server)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"pong from {url(server)} ")


def test_langs(server):
    r = cli("langs", server=server)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "FILE", "ALIASES", "NAMES"]
    rows = {ln.split()[0]: ln for ln in lines[1:]}
    assert set(rows) == {"bash", "sh", "python3", "c"}, rows  # no alias rows
    assert "Python 3." in rows["python3"] and "main.py" in rows["python3"]
    assert "python, py, py3" in rows["python3"]
    # what each envelope calls it (the spec's names table)
    assert rows["python3"].rstrip().endswith(
        "piston python; judge0 71; jobe python3; linkis python,py,python3,pyspark; "
        "zeppelin python,pyspark"), rows["python3"]


# ---------------------------------------------------------------- exit codes

@pytest.mark.parametrize("code,status", [("pass", 0), ("raise SystemExit(3)", 3),
                                         ("raise SystemExit(255)", 255)])
def test_exit_status_is_the_programs(server, tmp_path, code, status):
    r = cli("run", write(tmp_path, "p.py", code + "\n"), server=server)
    assert (r.returncode, r.stdout, r.stderr) == (status, "", "")


def test_signal_gives_128_plus_n(server, tmp_path):
    # A fault: the program may be its namespace's init, which ignores
    # signals it sends itself, but not the kernel's SIGSEGV.
    f = write(tmp_path, "p.py", "import ctypes\nctypes.string_at(0)\n")
    r = cli("run", f, server=server)
    assert r.returncode == 128 + 11, r.stderr
    assert r.stderr.endswith("runnel: the program died of signal 11\n"), r.stderr


def test_timeout_is_124(server_factory, tmp_path):
    s = server_factory(wall_ms=1000, cpu_ms=1000, idle_client_ms=5000)
    t0 = time.monotonic()
    r = cli("run", write(tmp_path, "p.py", "import time\ntime.sleep(20)\n"), server=s)
    assert r.returncode == 124, r.stderr
    assert r.stderr.startswith("runnel: the run hit the wall-time limit (")
    assert time.monotonic() - t0 < 8


def test_output_limit_is_125(server_factory, tmp_path):
    s = server_factory(output_bytes=4096)
    r = cli("run", write(tmp_path, "p.py", "while True:\n    print('x' * 100)\n"), server=s)
    assert r.returncode == 125, r.stderr
    assert "runnel: the run hit the output limit" in r.stderr
    assert 0 < len(r.stdout) <= 4096


def test_code_size_limit_is_125(server_factory, tmp_path):
    s = server_factory(code_bytes=1024)
    r = cli("run", write(tmp_path, "p.py", "#" + "x" * 2000 + "\n"), server=s)
    assert r.returncode == 125
    assert r.stderr.startswith("runnel: server: request too large: code is limited to 1024 bytes")


def test_compile_error_is_126(server, tmp_path):
    r = cli("run", write(tmp_path, "p.c", "int main(void) { return nope; }\n"), server=server)
    assert r.returncode == 126, r.stderr
    assert "nope" in r.stderr  # the compiler's message reaches the terminal
    assert r.stderr.rstrip().endswith("runnel: compilation failed")


def test_unknown_language_is_127(server, tmp_path):
    r = cli("run", "--lang", "cobol-85", write(tmp_path, "p.txt", "x\n"), server=server)
    assert r.returncode == 127
    assert r.stderr == ("runnel: server: unsupported language spec: 'cobol-85' "
                        "(GET /v1/spec lists them)\n")


def test_unguessable_language_is_usage_error(server, tmp_path):
    r = cli("run", write(tmp_path, "p.xyz", "x\n"), server=server)
    assert r.returncode == 2
    assert r.stderr == (f"runnel: cannot tell the language of {tmp_path}/p.xyz: use --lang "
                        "(runnel langs lists them)\n")


def test_unreadable_file_is_66(server, tmp_path):
    r = cli("run", str(tmp_path / "missing.py"), server=server)
    assert r.returncode == 66
    assert r.stderr == f"runnel: cannot read {tmp_path}/missing.py: No such file or directory\n"


def test_connection_refused_is_69(tmp_path):
    port = free_port()
    f = write(tmp_path, "p.py", "print(1)\n")
    for args in (["run", "--lang", "python3", f], ["run", f], ["ping"], ["langs"]):
        r = cli(*args, env={"RUNNEL_SERVER": f"http://127.0.0.1:{port}"}, timeout=20)
        assert r.returncode == 69, (args, r.stderr)
        assert f"127.0.0.1:{port}" in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_connection_lost_is_69(server, tmp_path):
    f = write(tmp_path, "p.py", "import time\nprint('up', flush=True)\ntime.sleep(30)\n")
    t = Timed([str(RUNNEL), "run", "--server", url(server), f])
    try:
        t.pump(lambda s: any(ln == "up" for _, _, ln in s.lines), 15)
        server.expect_exit = True
        server.proc.kill()
        server.proc.wait(5)
        assert t.finish(15) == 69
        assert any(s == "err" and ln.startswith(f"runnel: lost the connection to {url(server)}")
                   for _, s, ln in t.lines), t.lines
    finally:
        t.kill()


def test_busy_server_is_75(server_factory, tmp_path):
    s = server_factory(concurrency=1, queue=0)
    slow = Timed([str(RUNNEL), "run", "--server", url(s),
                  write(tmp_path, "slow.py", "import time\nprint('up', flush=True)\ntime.sleep(4)\n")])
    try:
        slow.pump(lambda t: any(ln == "up" for _, _, ln in t.lines), 15)
        r = cli("run", write(tmp_path, "p.py", "print(1)\n"), server=s)
        assert r.returncode == 75, r.stderr
        assert r.stderr.startswith("runnel: server: server is busy")
        assert slow.finish(15) == 0
    finally:
        slow.kill()


# ---------------------------------------------------------------- streaming, stdin

def test_streaming_order_and_timing(server, tmp_path):
    f = write(tmp_path, "p.py", "\n".join([
        "import sys, time",
        "print('one', flush=True)",
        "time.sleep(0.7)",
        "print('two', file=sys.stderr, flush=True)",
        "time.sleep(0.7)",
        "print('three', flush=True)",
        ""]))
    t = Timed([str(RUNNEL), "run", "--server", url(server), f])
    try:
        assert t.finish(20) == 0
    finally:
        t.kill()
    t1, t2, t3 = t.first("out", "one"), t.first("err", "two"), t.first("out", "three")
    assert t2 - t1 >= 0.5, t.lines
    assert t3 - t2 >= 0.5, t.lines
    assert [(s, ln) for _, s, ln in t.lines] == [("out", "one"), ("err", "two"), ("out", "three")]


def test_stdin_file_and_dash(server, tmp_path):
    prog = write(tmp_path, "up.py", "import sys\nfor l in sys.stdin:\n    print(l.strip().upper())\n")
    data = write(tmp_path, "in.txt", "abc\nxyz\n")
    r = cli("run", "--stdin", data, prog, server=server)
    assert (r.returncode, r.stdout, r.stderr) == (0, "ABC\nXYZ\n", "")
    r = cli("run", "--stdin", "-", prog, server=server, input="piped\n")
    assert (r.returncode, r.stdout) == (0, "PIPED\n")
    r = cli("run", prog, server=server)  # no --stdin: the program reads EOF
    assert (r.returncode, r.stdout) == (0, "")
    r = cli("run", "--stdin", "-", "-", server=server, input="x")
    assert r.returncode == 2
    assert r.stderr == "runnel: the code and --stdin cannot both come from standard input\n"


def test_code_from_stdin_and_arguments(server):
    r = cli("run", "--lang", "python3", "-", "--", "a b", "-c", server=server,
            input="import sys\nprint(sys.argv[1:])\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, "['a b', '-c']\n", "")


def test_language_guessing(server, tmp_path):
    # extension
    r = cli("run", write(tmp_path, "hello.py", "print('py')\n"), server=server)
    assert (r.returncode, r.stdout) == (0, "py\n"), r.stderr
    # .sh is shared by bash and sh: without a #! line the extension's own name wins (sh = dash)
    probe = 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo notbash; fi\n'
    r = cli("run", write(tmp_path, "a.sh", probe), server=server)
    assert (r.returncode, r.stdout) == (0, "notbash\n"), r.stderr
    # the #! line beats the extension
    r = cli("run", write(tmp_path, "b.sh", "#!/bin/bash\n" + probe), server=server)
    assert (r.returncode, r.stdout) == (0, "bash\n"), r.stderr
    r = cli("run", "-", server=server, input="#!/usr/bin/env python3\nprint('env')\n")
    assert (r.returncode, r.stdout) == (0, "env\n"), r.stderr
    # --lang beats both
    r = cli("run", "--lang", "bash", write(tmp_path, "c.py", probe), server=server)
    assert (r.returncode, r.stdout) == (0, "bash\n"), r.stderr


def test_verbose_summary(server, tmp_path):
    r = cli("run", "-v", write(tmp_path, "p.py", "print('hi')\n"), server=server)
    assert r.returncode == 0
    assert r.stdout == "hi\n"
    import re
    assert re.fullmatch(r"runnel: exit 0 \(exited\), wall \d+ ms, cpu \d+ ms, "
                        r"peak memory [\d.]+ (B|KiB|MiB)\n", r.stderr), r.stderr


# ---------------------------------------------------------------- Ctrl+C

def test_sigint_kills_the_remote_run(server, tmp_path):
    tag = marker()
    f = write(tmp_path, "loop.py", "import time\nprint('started', flush=True)\n"
                                    "while True:\n    time.sleep(0.05)\n")
    env = dict(os.environ)
    env.pop("RUNNEL_SERVER", None)
    t = Timed([str(RUNNEL), "run", "--server", url(server), f, "--", tag], env=env)
    try:
        t.pump(lambda s: any(ln == "started" for _, _, ln in s.lines), 15)
        assert pids_with(tag), "the program is not running on the host"
        t0 = time.monotonic()
        t.proc.send_signal(signal.SIGINT)
        assert t.finish(10) == 130
        assert time.monotonic() - t0 < 5
        errs = [ln for _, s, ln in t.lines if s == "err"]
        assert errs == ["runnel: stopping the run (Ctrl+C again to leave at once)",
                        "runnel: run killed"], errs
        assert wait_until(lambda: not pids_with(tag), 5), "the remote program survived Ctrl+C"
    finally:
        t.kill()
    assert "reason=killed" in server.log_text() or "killed" in server.log_text()
