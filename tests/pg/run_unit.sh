#!/usr/bin/env bash
# The store's unit tests on the PostgreSQL backend: a throw-away server
# (pg_fixture.sh), test_store with RUNNEL_TEST_PG set to it, the server
# stopped. Skips (77) when PostgreSQL is not installed, unless CI=true.
#
#   tests/pg/run_unit.sh TEST_STORE_BINARY
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: run_unit.sh TEST_STORE_BINARY}
dir=$(mktemp -d /tmp/runnel-pg-unit.XXXXXX)
uri=$("$here/pg_fixture.sh" start "$dir")
rc=$?
if [ "$rc" = 77 ]; then
    rm -rf "$dir"
    if [ "${CI:-}" = true ]; then
        echo "FAIL: PostgreSQL binaries missing under CI (packaging/test-deps.txt names postgresql)" >&2
        exit 1
    fi
    echo "SKIP: PostgreSQL is not installed (apt-get install postgresql)"
    exit 77
fi
if [ "$rc" != 0 ]; then
    "$here/pg_fixture.sh" stop "$dir"
    echo "FAIL: could not start PostgreSQL" >&2
    exit 1
fi
trap '"$here/pg_fixture.sh" stop "$dir"' EXIT
RUNNEL_TEST_PG=$uri "$bin"
