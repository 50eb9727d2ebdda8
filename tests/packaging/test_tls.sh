#!/usr/bin/env bash
# TLS with a self-signed certificate: make a cert/key with openssl req -x509,
# start runneld with tls.cert/tls.key from a config file, GET /healthz over
# HTTPS verifying the certificate against that cert (and the host name), and
# check that a client that does not trust it is refused.
#
#   tests/packaging/test_tls.sh RUNNELD SPECS_DIR WORK_DIR
set -euo pipefail

runneld=${1:?usage: test_tls.sh RUNNELD SPECS_DIR WORK_DIR}
specs=${2:?specs dir}
work=${3:?work dir}
here=$(cd "$(dirname "$0")" && pwd)
check() { python3 "$here/svc_check.py" "$@"; }
fail() {
    echo "FAIL: $*" >&2
    [ -f "$work/runneld.log" ] && cat "$work/runneld.log" >&2
    exit 1
}

command -v openssl >/dev/null || fail "openssl not found (apt-get install openssl)"
rm -rf "$work"
mkdir -p "$work"
pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 0600 "$work/key.pem"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/runnel.conf" <<CONF
{
  "listen": "127.0.0.1:$port",
  "specs": "$specs",
  "cache": {"dir": "$work/cache"},
  "state": {"dir": "$work/state"},
  "tls": {"cert": "$work/cert.pem", "key": "$work/key.pem"}
}
CONF

"$runneld" --config "$work/runnel.conf" 2>"$work/runneld.log" &
pid=$!
check wait "https://127.0.0.1:$port/healthz" 30 --cafile "$work/cert.pem" || fail "no HTTPS /healthz"
grep -q "listening on https://127.0.0.1:$port" "$work/runneld.log" || fail "runneld does not say https"
check get "https://127.0.0.1:$port/healthz" --cafile "$work/cert.pem" --status 200 --body '"ok"' ||
    fail "GET https://127.0.0.1:$port/healthz"
check get "https://localhost:$port/healthz" --cafile "$work/cert.pem" --status 200 ||
    fail "GET https://localhost:$port/healthz"
# Without the self-signed cert as a trust anchor the client must refuse.
check get "https://127.0.0.1:$port/healthz" --verify-fails || fail "an untrusted certificate was accepted"
# A second, unrelated cert must not verify this server either.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/other-key.pem" -out "$work/other.pem" 2>/dev/null
check get "https://127.0.0.1:$port/healthz" --cafile "$work/other.pem" --verify-fails ||
    fail "a certificate signed by another key was accepted"
# Plain HTTP on the TLS port is not served.
if python3 - "$port" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=5)
except Exception:
    sys.exit(1)
PY
then
    fail "plain HTTP answered on the TLS port"
fi
echo "plain HTTP on the TLS port: refused"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
# Sanitizer builds may exit non-zero for leaks inside libwebsockets/OpenSSL.
[ "$rc" = 0 ] || grep -q LeakSanitizer "$work/runneld.log" || fail "runneld exited $rc after SIGTERM"
echo "TLS OK"
