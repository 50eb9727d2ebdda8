#!/usr/bin/env bash
# The default config (packaging/runnel.conf) is accepted by runneld and
# serves; a broken copy is refused with FILE:LINE; runnel.conf(5) names every
# key runneld knows; every option in each binary's --help is in its man page;
# the man pages render without warnings.
#
#   tests/packaging/test_conf_man.sh SOURCE_DIR RUNNELD RUNNEL_BOX RUNNEL WORK_DIR
set -euo pipefail

src=$(cd "${1:?usage: test_conf_man.sh SOURCE_DIR RUNNELD RUNNEL_BOX RUNNEL WORK_DIR}" && pwd)
runneld=${2:?} runnel_box=${3:?} runnel=${4:?} work=${5:?}
here=$(cd "$(dirname "$0")" && pwd)
check() { python3 "$here/svc_check.py" "$@"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
rm -rf "$work"
mkdir -p "$work"
conf=$src/packaging/runnel.conf
man_dir=$src/packaging/man

echo "== runneld --config packaging/runnel.conf"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Specs from the source tree, a private cache: the rest is the file's.
RUNNEL_CACHE_DIR=$work/cache "$runneld" --config "$conf" --specs "$src/specs" \
    --listen "127.0.0.1:$port" 2>"$work/runneld.log" &
pid=$!
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() { kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT
check wait "http://127.0.0.1:$port/healthz" 30 || { cat "$work/runneld.log" >&2; fail "runneld did not serve"; }
check get "http://127.0.0.1:$port/v1/info" --status 200 >/dev/null || fail "/v1/info"
if grep -E 'level=(warn|error)' "$work/runneld.log"; then
    fail "warnings with the default config"
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || grep -q LeakSanitizer "$work/runneld.log" || fail "runneld exited $rc"
trap - EXIT
echo "default config: accepted, served, stopped"

echo "== a broken copy is refused with FILE:LINE"
sed 's/"queue": 64,/"queue": 64,\n    "queue_lenght": 1,/' "$conf" >"$work/bad.conf"
line=$(grep -n queue_lenght "$work/bad.conf" | cut -d: -f1)
rc=0
"$runneld" --config "$work/bad.conf" --specs "$src/specs" --listen 127.0.0.1:0 2>"$work/bad.log" || rc=$?
[ "$rc" = 1 ] || fail "bad config: exit $rc, expected 1"
grep -q "$work/bad.conf:$line:" "$work/bad.log" || fail "bad config: no FILE:$line: in: $(cat "$work/bad.log")"
echo "refused: $(head -1 "$work/bad.log")"

echo "== runnel.conf(5) and packaging/runnel.conf name every key"
# Every key runneld parses, from its own table (envelope sections included).
all_keys=$("$runneld" --config-keys | awk -F'\t' '$2 != "section" { print $1 }')
envelope_sections=$("$runneld" --config-keys | awk -F'\t' '$2 == "section" && $4 ~ /envelope$/ { print $1 }')
keys=$all_keys
[ -n "$keys" ] || fail "runneld --config-keys listed no keys"
page=$(MANWIDTH=200 man -l "$man_dir/runnel.conf.5" 2>/dev/null | col -b)
json_keys=$(python3 - "$conf" <<'PY'
import json, sys
def walk(o, p=""):
    for k, v in o.items():
        if isinstance(v, dict):
            yield from walk(v, p + k + ".")
        else:
            yield p + k
print("\n".join(walk(json.load(open(sys.argv[1])))))
PY
)
missing=""
for k in $keys; do
    grep -qF "$k" <<<"$page" || missing="$missing $k"
done
[ -z "$missing" ] || fail "runnel.conf(5) does not document:$missing"
for k in $keys; do
    [ "$k" = limits.idle_client_ms ] && continue # its default (= wall_ms) has no literal
    # Envelope sections keep their defaults in their tables: the file may leave them out.
    grep -qx "${k%%.*}" <<<"$envelope_sections" && continue
    grep -qx "$k" <<<"$json_keys" || missing="$missing $k"
done
[ -z "$missing" ] || fail "packaging/runnel.conf does not list:$missing"
echo "$(wc -w <<<"$keys") keys documented"

echo "== --help options are in the man pages"
for pair in "$runneld:runneld.1" "$runnel_box:runnel-box.1" "$runnel:runnel.1"; do
    bin=${pair%%:*} pg=${pair##*:}
    help=$("$bin" --help 2>&1 || true)
    rendered=$(MANWIDTH=200 man -l "$man_dir/$pg" 2>/dev/null | col -b)
    opts=$(grep -oE -- '(^|[ ,[|])--[a-z][a-z-]*' <<<"$help" | grep -oE -- '--[a-z-]+' | sort -u)
    [ -n "$opts" ] || fail "no options parsed from $bin --help"
    for o in $opts; do
        grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" <<<"$rendered" || missing="$missing $pg:$o"
    done
    # And the other way: every option the page describes exists.
    described=$(grep -oE -- '^ {7}--[a-z][a-z-]*' <<<"$rendered" | grep -oE -- '--[a-z-]+' | sort -u)
    [ -n "$described" ] || fail "$pg describes no options"
    for o in $described; do
        grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" <<<"$help" || missing="$missing $pg:$o(not in --help)"
    done
done
[ -z "$missing" ] || fail "option lists differ:$missing"
echo "option lists match --help"

echo "== man pages render without warnings"
for pg in "$man_dir"/*.[15]; do
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$pg" 2>&1 >/dev/null)
    [ -z "$out" ] || fail "$(basename "$pg"): $out"
done
echo "man pages OK"
