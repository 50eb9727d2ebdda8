#!/usr/bin/env bash
# A throw-away PostgreSQL for the tests: Debian's binaries, a cluster in a
# temporary directory, listening on a loopback port only.
#
#   pg_fixture.sh start DIR   -> prints the connection URI on stdout
#   pg_fixture.sh stop DIR
#
# fsync is off (a test server), on with RUNNEL_PG_FSYNC=on (figures).
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# postgres account (or nobody) and its programs run through runuser.
# Exit 77 when PostgreSQL's binaries are absent (the callers skip then,
# except under CI=true, where that is a failure).
set -euo pipefail

cmd=${1:?usage: pg_fixture.sh start|stop DIR}
dir=${2:?usage: pg_fixture.sh start|stop DIR}

bin=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && bin=$d
done
if [ -z "$bin" ]; then
    echo "pg_fixture: PostgreSQL binaries not found (apt-get install postgresql)" >&2
    exit 77
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$owner" -- "$@"
    else
        "$@"
    fi
}
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
    owner=nobody
    id postgres >/dev/null 2>&1 && owner=postgres
fi

case $cmd in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown "$owner" "$dir"
    chmod 0700 "$dir"
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U runnel --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${RUNNEL_PG_FSYNC:-off} -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U runnel runnel
    echo "$port" >"$dir/port"
    echo "postgresql://runnel@127.0.0.1:$port/runnel"
    ;;
stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: pg_fixture.sh start|stop DIR" >&2
    exit 2
    ;;
esac
