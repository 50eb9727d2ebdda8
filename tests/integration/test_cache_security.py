"""The compile cache under attack.

A client's environment reaches the run stage only: a compile with a hostile
NODE_OPTIONS (TypeScript) or SOURCE_DATE_EPOCH (C) builds what a plain
compile builds, so the cache entry everyone shares is never the attacker's.
The key covers the spec (a reloaded spec compiles anew). /build is bounded
while compiling (a size-limited tmpfs of cache.entry_max_bytes, 0700 and the
run's own) and an over-size build caches and evicts nothing. A cache
directory other accounts can write is refused at start.
"""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SPECS, arun, wait_until

TSC = Path("/usr/share/nodejs/typescript/bin/tsc")
KEY_RE = re.compile(r"^[0-9a-f]{64}$")

# A language whose compile stage runs the submitted file as a shell script
# (so a test can make the compile write what it likes to /build) after
# recording what the compile stage saw: a POISON variable from the request,
# SPECVAR from the spec, the mode of /build. The run stage prints them.
PROBE = {
    "name": "probe",
    "display": "Cache probe",
    "language": "probe",
    "filename": "main.sh",
    "compile": ["/bin/sh", "-c",
                "printf %s \"${POISON-unset}\" > {build}/poison; "
                "printf %s \"${SPECVAR-none}\" > {build}/specvar; "
                "stat -c %a {build} > {build}/mode; . ./{file}"],
    "run": ["/bin/sh", "-c",
            "cat {build}/poison; echo; cat {build}/specvar; echo; cat {build}/mode"],
    "env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "SPECVAR": "one"},
    "example": "true",
    "example_output": "unset\none\n700\n",
}


def make_specs(tmp_path, langs, probe=PROBE):
    root = tmp_path / "specs-root"
    d = root / "specs"
    d.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        spec = json.loads((SPECS / f"{lang}.json").read_text())
        # a loaded test machine must not turn a compile into a timeout
        if "compile_limits" in spec:
            spec["compile_limits"]["wall_ms"] = 180000
        (d / f"{lang}.json").write_text(json.dumps(spec))
    (d / "probe.json").write_text(json.dumps(probe))
    runtimes = SPECS.parent / "runtimes"
    if runtimes.exists() and not (root / "runtimes").exists():
        os.symlink(runtimes, root / "runtimes")
    return d


def rest(srv, language, code, env=None):
    body = {"language": language, "code": code}
    if env is not None:
        body["environment"] = env
    st, _, out = srv.http_json("POST", "/v1/exec", body, timeout=300)
    assert st == 200, out
    return out


def entries(srv):
    d = Path(srv.config["cache"]["dir"])
    return sorted(p.name for p in d.iterdir() if KEY_RE.match(p.name))


def leftovers(srv):
    d = Path(srv.config["cache"]["dir"])
    return sorted(p.name for p in d.iterdir() if p.name.startswith("tmp."))


def test_request_env_never_reaches_the_compile_stage(server_factory, tmp_path):
    srv = server_factory(_specs=make_specs(tmp_path, ["c"]))
    code = "true\n"
    first = rest(srv, "probe", code, {"POISON": "attacker"})
    assert first["reason"] == "exited", first
    assert first["stdout"] == "unset\none\n700\n", first
    assert first["compilecached"] is False
    again = rest(srv, "probe", code)
    assert again["stdout"] == "unset\none\n700\n", again
    assert again["compilecached"] is True
    # the run stage still gets the request's environment
    out = rest(srv, "c", '#include <stdio.h>\n#include <stdlib.h>\n'
               'int main(void){puts(getenv("POISON") ? getenv("POISON") : "-");}\n',
               {"POISON": "for-the-program"})
    assert out["stdout"] == "for-the-program\n", out


def test_c_source_date_epoch_cannot_poison_the_cache(server_factory, tmp_path):
    """GCC honours SOURCE_DATE_EPOCH in __DATE__: an attacker's compile of
    a program printing __DATE__ would be cached with 1970 in it."""
    srv = server_factory(_specs=make_specs(tmp_path, ["c"]))
    code = '#include <stdio.h>\nint main(void){puts(__DATE__);return 0;}\n'
    poisoned = rest(srv, "c", code, {"SOURCE_DATE_EPOCH": "0"})
    assert poisoned["reason"] == "exited", poisoned
    assert poisoned["stdout"] != "Jan  1 1970\n", poisoned
    plain = rest(srv, "c", code)
    assert plain["compilecached"] is True, plain
    assert plain["stdout"] == poisoned["stdout"]
    assert plain["stdout"] != "Jan  1 1970\n"
    assert re.match(r"^[A-Z][a-z]{2} [ \d]\d \d{4}\n$", plain["stdout"]), plain


@pytest.mark.skipif(not TSC.exists(), reason="node-typescript is not installed")
def test_typescript_node_options_cannot_poison_the_cache(server_factory, tmp_path):
    """The reported attack: an --import hook rewrites /build/main.js when tsc
    exits; every later plain run of that code would print the attacker's
    text with compilecached true."""
    srv = server_factory(_specs=make_specs(tmp_path, ["typescript"]), wall_ms=60000,
                         cpu_ms=60000)
    js = ('import fs from "node:fs";process.on("exit",()=>'
          'fs.writeFileSync("/build/main.js","console.log(\\"pwned\\")"))')
    # NODE_OPTIONS splits on spaces: the hook travels as base64
    hook = "data:text/javascript;base64," + base64.b64encode(js.encode()).decode()
    code = 'console.log("legit " + (6 * 7));\n'
    attack = rest(srv, "typescript", code,
                  {"NODE_OPTIONS": f"--import={hook} --max-old-space-size=192"})
    assert attack["compilecached"] is False, attack
    assert attack["stdout"] == "legit 42\n", json.dumps(attack)
    # the hook is the program's too: it runs, but only in the run stage,
    # whose /build is read-only
    plain = rest(srv, "typescript", code)
    assert plain["reason"] == "exited", plain
    assert plain["compilecached"] is True, plain
    assert plain["stdout"] == "legit 42\n", plain


def test_spec_change_is_a_new_key(server_factory, tmp_path):
    specs = make_specs(tmp_path, [])
    srv = server_factory(_specs=specs)
    code = "true\n"
    assert rest(srv, "probe", code)["stdout"] == "unset\none\n700\n"
    assert rest(srv, "probe", code)["compilecached"] is True
    changed = dict(PROBE, env=dict(PROBE["env"], SPECVAR="two"))
    (specs / "probe.json").write_text(json.dumps(changed))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "event=config.reloaded" in srv.log_text(), 5), srv.log_tail()
    out = rest(srv, "probe", code)
    assert out["compilecached"] is False, out
    assert out["stdout"] == "unset\ntwo\n700\n", out


def test_oversize_build_fails_and_caches_nothing(server_factory, tmp_path):
    srv = server_factory(_specs=make_specs(tmp_path, []),
                         _config={"cache": {"dir": str(tmp_path / "c.cache"),
                                            "entry_max_bytes": 1048576}})
    small = rest(srv, "probe", "true\n")
    assert small["reason"] == "exited", small
    before = entries(srv)
    assert len(before) == 1
    # the tmpfs is full at 1 MiB: the compile itself fails
    big = rest(srv, "probe", "head -c 3000000 /dev/zero > /build/big\n")
    assert big["reason"] == "compile_error", big
    assert "the build directory is full (1048576 bytes)" in big["message"], big
    # within the tmpfs, but over the cap once copied (hard links)
    links = rest(srv, "probe", "head -c 600000 /dev/zero > /build/a && ln /build/a /build/b\n")
    assert links["reason"] == "compile_error", links
    assert "over the 1048576 bytes one build may keep" in links["message"], links
    assert entries(srv) == before
    assert wait_until(lambda: leftovers(srv) == [], 5), leftovers(srv)
    again = rest(srv, "probe", "true\n")
    assert again["compilecached"] is True, again
    assert not [m for m in Path("/proc/self/mounts").read_text().splitlines()
                if str(tmp_path) in m], "a build tmpfs is still mounted"


def start_expecting_refusal(srv):
    p = subprocess.run(srv.argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    return p.returncode, p.stderr.decode(errors="replace") + p.stdout.decode(errors="replace")


def test_cache_dir_others_can_write_is_refused(server_factory, tmp_path):
    d = tmp_path / "shared.cache"
    d.mkdir()
    os.chmod(d, 0o777)
    srv = server_factory(_start=False, _config={"cache": {"dir": str(d)}})
    rc, err = start_expecting_refusal(srv)
    assert rc == 1, err
    assert ("refusing to start: cache.dir " + str(d) +
            " is writable by group and others (mode 0777)") in err, err
    if os.geteuid() == 0:
        os.chmod(d, 0o700)
        os.chown(d, 65534, 65534)
        rc, err = start_expecting_refusal(srv)
        assert rc == 1, err
        assert "is owned by uid 65534, not by runneld's uid 0" in err, err


def test_missing_cache_dir_is_made_0700(server_factory, tmp_path):
    d = tmp_path / "new" / "cache"
    srv = server_factory(_config={"cache": {"dir": str(d)}})
    assert rest(srv, "c", "#include <stdio.h>\nint main(void){puts(\"hi\");}\n")["stdout"] == "hi\n"
    assert (d.stat().st_mode & 0o777) == 0o700
