#!/bin/sh
# The cluster tests: PostgreSQL (temporary), three runneld nodes and HAProxy
# on loopback (tests/cluster/test_cluster.py), then two nodes with tenants
# (tests/cluster/test_tenants.py). Needs haproxy and postgresql
# (packaging/test-deps.txt); PostgreSQL runs as the postgres user.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for need in haproxy runuser; do
    command -v "$need" >/dev/null 2>&1 || { echo "cluster test: $need missing" >&2; exit 1; }
done
# test_cluster.py stops what it started on every exit; a signal to this
# script reaches it as well
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait' INT TERM
for t in test_cluster.py test_tenants.py; do
    /usr/bin/python3 "$here/$t" "$@" &
    child=$!
    wait "$child"
done
