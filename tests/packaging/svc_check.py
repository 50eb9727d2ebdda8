#!/usr/bin/env python3
"""Small HTTP and sd_notify helpers for the packaging tests (stdlib only).

  svc_check.py notify SOCKET LOG       receive sd_notify datagrams into LOG
  svc_check.py wait URL SECONDS [--cafile F]   poll URL until it answers 200
  svc_check.py exec URL LANG CODE EXPECTED     POST /v1/exec, compare stdout
  svc_check.py get URL [--cafile F] [--status N] [--body TEXT] [--verify-fails]
"""
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request


def context(cafile):
    if cafile is None:
        return None
    # Verifies the chain against cafile only, and the host name.
    return ssl.create_default_context(cafile=cafile)


def fetch(url, cafile=None, data=None, timeout=30):
    req = urllib.request.Request(url, data=data)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context(cafile)) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def opt(args, name, default=None):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return default


def cmd_notify(sock_path, log_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    s.bind(sock_path)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("BOUND\n")
        log.flush()
        while True:
            msg = s.recv(65536).decode(errors="replace")
            for line in msg.splitlines():
                log.write(line + "\n")
            log.flush()


def cmd_wait(url, seconds, cafile):
    deadline = time.monotonic() + float(seconds)
    last = None
    while time.monotonic() < deadline:
        try:
            status, _ = fetch(url, cafile, timeout=2)
            if status == 200:
                return 0
            last = f"status {status}"
        except (OSError, urllib.error.URLError) as e:
            last = str(e)
        time.sleep(0.1)
    print(f"svc_check: {url} did not answer 200 in {seconds} s ({last})", file=sys.stderr)
    return 1


def cmd_exec(url, lang, code, expected):
    body = json.dumps({"language": lang, "code": code}).encode()
    status, text = fetch(url, data=body)
    if status != 200:
        print(f"svc_check: POST {url}: status {status}: {text}", file=sys.stderr)
        return 1
    reply = json.loads(text)
    if reply.get("stdout") != expected or reply.get("stderr") != "":
        print(f"svc_check: {lang}: expected stdout {expected!r}, got {reply!r}", file=sys.stderr)
        return 1
    print(f"svc_check: {lang}: stdout {expected!r} exitcode={reply.get('exitcode')}")
    return 0


def cmd_get(url, cafile, want_status, want_body, want_verify_failure):
    if want_verify_failure:
        try:
            fetch(url, cafile)
        except urllib.error.URLError as e:
            if isinstance(e.reason, ssl.SSLCertVerificationError):
                print(f"svc_check: GET {url}: refused as expected: {e.reason.verify_message}")
                return 0
            raise
        print(f"svc_check: GET {url}: certificate accepted, expected a failure", file=sys.stderr)
        return 1
    status, text = fetch(url, cafile)
    print(f"svc_check: GET {url}: {status} {text.strip()[:200]}")
    if want_status is not None and status != int(want_status):
        print(f"svc_check: expected status {want_status}", file=sys.stderr)
        return 1
    if want_body is not None and want_body not in text:
        print(f"svc_check: expected {want_body!r} in the body", file=sys.stderr)
        return 1
    return 0


def main(argv):
    args = list(argv[1:])
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = args.pop(0)
    cafile = opt(args, "--cafile")
    if cmd == "notify" and len(args) == 2:
        return cmd_notify(*args)
    if cmd == "wait" and len(args) == 2:
        return cmd_wait(args[0], args[1], cafile)
    if cmd == "exec" and len(args) == 4:
        return cmd_exec(*args)
    if cmd == "get":
        want_status = opt(args, "--status")
        want_body = opt(args, "--body")
        want_verify_failure = "--verify-fails" in args
        if want_verify_failure:
            args.remove("--verify-fails")
        if len(args) == 1:
            return cmd_get(args[0], cafile, want_status, want_body, want_verify_failure)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
