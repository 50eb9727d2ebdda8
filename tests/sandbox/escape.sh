#!/bin/bash
# Escape and limit suite: one case per invocation, run by ctest as root.
#
#   escape.sh CASE
#
# Environment: RB (runnel-box), PROBE_DIR (directory holding probe, bound
# read-only at /t inside), RMTREE (the sbx-rmtree helper). Every case asserts
# an exact outcome: the probe checks errnos inside, this script checks
# runnel-box's exit status, its JSON result and the host afterwards.
set -u
CASE=$1
: "${RB:?}" "${PROBE_DIR:?}"
TMP=$(mktemp -d /tmp/runnel-escape.XXXXXX)
chmod 755 "$TMP"
TOKEN="runnel-$CASE-$$-$RANDOM"
PIDS_TO_KILL=()
cleanup() {
    for p in "${PIDS_TO_KILL[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP" "/tmp/runnel-marker-$TOKEN" "/dev/shm/runnel-marker-$TOKEN"
}
trap cleanup EXIT

fail() {
    echo "FAIL [$CASE]: $*" >&2
    exit 1
}

# box [runnel-box options] -- probe-case args: runs the probe, leaves the exit
# status in $rc and the JSON result in $json.
box() {
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    "$RB" --json="$TMP/result.json" --bind "$PROBE_DIR:/t" "${opts[@]}" -- /t/probe "$@" \
        3>&- </dev/null
    rc=$?
    json=$(cat "$TMP/result.json" 2>/dev/null)
}

expect_rc() {
    [ "$rc" -eq "$1" ] || fail "exit status $rc, want $1 (result: $json)"
}

expect_json() {
    case "$json" in
    *"$1"*) ;;
    *) fail "result $json lacks $1" ;;
    esac
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Wall-time bounds are multiplied by this (the cgroup v2 leg runs the suite
# in an emulated guest, without KVM, where everything is several times
# slower).
SLACK=${RUNNEL_TEST_TIME_SLACK:-1}

# Processes a run started under the name $TOKEN (the probe's argv[0] trick).
leftovers() { pgrep -f "^$TOKEN( |\$)" || true; }

case "$CASE" in
ptrace | mount | unshare | creds | tiocsti | sockets | syscalls | allowlist | procmask)
    box -- "$CASE"
    expect_rc 0
    expect_json '"reason":"exited"'
    ;;
readonly)
    mkdir -p "$TMP/ro" && chmod 777 "$TMP/ro" && echo data >"$TMP/ro/f" && chmod 666 "$TMP/ro/f"
    box --bind "$TMP/ro:/ro" -- readonly /ro
    expect_rc 0
    [ "$(cat "$TMP/ro/f")" = data ] || fail "read-only file changed"
    ;;
setuid)
    mkdir -p "$TMP/suid"
    cp "$PROBE_DIR/probe" "$TMP/suid/probe"
    chown root:root "$TMP/suid/probe" && chmod 4755 "$TMP/suid/probe"
    [ -u "$TMP/suid/probe" ] || fail "could not make a setuid copy"
    box --bind "$TMP/suid:/suid" -- setuid /suid/probe
    expect_rc 0
    ;;
hostfiles)
    touch "/tmp/runnel-marker-$TOKEN" "/dev/shm/runnel-marker-$TOKEN"
    box -- hostfiles $$ "$TOKEN"
    expect_rc 0
    ;;
x32)
    box -- x32
    expect_rc 159
    expect_json '"signal":31'
    ;;
i386)
    # A kernel without a usable int 0x80 entry (no IA32 emulation, or a VM
    # that does not route it) faults before seccomp sees the call: then the
    # run must die exactly as it does outside the sandbox, never survive.
    "$PROBE_DIR/probe" i386 >/dev/null 2>&1
    host=$?
    box -- i386
    if [ "$host" -eq 0 ]; then
        expect_rc 159
        expect_json '"signal":31'
    else
        echo "note: int 0x80 kills with status $host outside the sandbox here"
        expect_rc "$host"
    fi
    ;;
connect)
    /usr/bin/python3 - "$TMP/port" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
EOF
    PIDS_TO_KILL+=($!)
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    port=$(cat "$TMP/port") || fail "no listener"
    # The host listener is reachable from the host...
    /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" ||
        fail "host listener not reachable from the host"
    # ...but not from a run: with --net its own lo refuses, without it lo is down.
    box --net -- connect-refused "$port"
    expect_rc 0
    box -- connect-nonet "$port"
    expect_rc 0
    ;;
abstract)
    /usr/bin/python3 - "$TOKEN" "$TMP/ready" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(8)
open(sys.argv[2], "w").write("1")
time.sleep(60)
EOF
    PIDS_TO_KILL+=($!)
    for _ in $(seq 100); do [ -s "$TMP/ready" ] && break; sleep 0.05; done
    box --net -- abstract "$TOKEN"
    expect_rc 0
    ;;
neighbour)
    # Two runs at once share nothing: not an abstract socket, not /tmp.
    "$RB" --net -- /usr/bin/python3 -c "
import socket, time
s = socket.socket(socket.AF_UNIX)
s.bind('\\0$TOKEN')
s.listen(8)
open('/tmp/$TOKEN', 'w').write('x')
print('ready', flush=True)
time.sleep(30)
" </dev/null >"$TMP/a.out" 3>&- &
    PIDS_TO_KILL+=($!)
    for _ in $(seq 200); do grep -q ready "$TMP/a.out" && break; sleep 0.05; done
    grep -q ready "$TMP/a.out" || fail "the first run did not start"
    box --net -- abstract "$TOKEN"
    expect_rc 0
    "$RB" -- /bin/sh -c "test ! -e /tmp/$TOKEN" </dev/null 3>&- || fail "/tmp is shared"
    ;;
kill)
    sleep 300 &
    victim=$!
    PIDS_TO_KILL+=($victim)
    box -- kill "$victim"
    expect_rc 0
    kill -0 "$victim" 2>/dev/null || fail "host process $victim was killed from inside"
    kill -0 $$ || fail "the driver was killed"
    ;;
diskfill)
    box --tmp-size 8M -- diskfill
    expect_rc 0
    ;;
orphan)
    box -- orphan "$TOKEN"
    expect_rc 0
    left=$(leftovers)
    [ -z "$left" ] || fail "processes outlived the run: $(ps -o pid,stat,args -p "$left")"
    ;;
parentdeath)
    # The caller dies (SIGKILL, no chance to clean up): its runs die with it.
    "$RB" --bind "$PROBE_DIR:/t" -- /t/probe hold "$TOKEN" </dev/null >/dev/null 3>&- &
    rbpid=$!
    for _ in $(seq 200); do [ -n "$(leftovers)" ] && break; sleep 0.05; done
    [ -n "$(leftovers)" ] || fail "the run did not start"
    kill -9 "$rbpid"
    wait "$rbpid" 2>/dev/null
    for _ in $(seq 100); do [ -z "$(leftovers)" ] && break; sleep 0.05; done
    [ -z "$(leftovers)" ] || fail "the run outlived runnel-box: $(leftovers)"
    ;;
cgsweep)
    # The caller dies mid-run (SIGKILL): the next context to start removes
    # the run cgroups it left, killing anything still in them first.
    "$RB" --bind "$PROBE_DIR:/t" -- /t/probe hold "$TOKEN" </dev/null >/dev/null 3>&- &
    rbpid=$!
    for _ in $(seq 200); do [ -n "$(leftovers)" ] && break; sleep 0.05; done
    [ -n "$(leftovers)" ] || fail "the run did not start"
    run_cgroups() { find /sys/fs/cgroup -maxdepth 8 -type d -path "*/runnel/$rbpid-*" 2>/dev/null; }
    [ -n "$(run_cgroups)" ] || fail "the run has no cgroup"
    # Something that does not die with the caller: a host process moved into
    # the run's cgroup(s).
    sleep 300 &
    stuck=$!
    PIDS_TO_KILL+=($stuck)
    for d in $(run_cgroups); do echo "$stuck" >"$d/cgroup.procs" || fail "cannot join $d"; done
    kill -9 "$rbpid"
    wait "$rbpid" 2>/dev/null
    "$RB" -- /bin/true </dev/null 3>&- || fail "the next run failed"
    left=$(run_cgroups)
    [ -z "$left" ] || fail "run cgroups left after the next start: $left"
    wait "$stuck" 2>/dev/null
    [ $? -eq 137 ] || fail "what was left in the run's cgroup was not killed"
    ;;
selfsignal)
    # A program's signals to itself act as anywhere else: the run's init, not
    # the program, is pid 1 (a pid namespace's init ignores them).
    out=$("$RB" --json="$TMP/result.json" -- /bin/bash -c 'echo x; kill -KILL $$; echo survived' \
        </dev/null 3>&-)
    rc=$?
    json=$(cat "$TMP/result.json")
    [ "$out" = x ] || fail "bash went on after kill -KILL \$\$: $out"
    expect_rc 137
    expect_json '"reason":"signaled","exit_code":-1,"signal":9'
    box -- abort
    expect_rc 134
    expect_json '"reason":"signaled","exit_code":-1,"signal":6'
    box -- raise 15
    expect_rc 143
    expect_json '"reason":"signaled","exit_code":-1,"signal":15'
    if [ -x /usr/bin/python3 ]; then
        "$RB" --json="$TMP/result.json" -- /usr/bin/python3 -c \
            'import os, signal; os.kill(os.getpid(), signal.SIGTERM); print("alive")' \
            </dev/null >"$TMP/out" 3>&-
        rc=$?
        json=$(cat "$TMP/result.json")
        expect_rc 143
        expect_json '"signal":15'
        [ ! -s "$TMP/out" ] || fail "python survived SIGTERM to itself"
    fi
    # A status the program exits with is still passed through.
    box -- raise 0
    expect_rc 3
    expect_json '"reason":"exited","exit_code":3,"signal":0'
    ;;
init)
    box -- init
    expect_rc 0
    expect_json '"reason":"exited"'
    ;;
zombies)
    box -- zombies
    expect_rc 0
    ;;
pids)
    # --pids counts the program's processes, the run's init aside.
    box --pids 8 -- pids 8
    expect_rc 0
    box --pids 8 --no-cgroup -- pids 8
    expect_rc 0
    ;;
forkbomb)
    start=$(now_ms)
    box --pids 32 --wall-ms 2000 -- forkbomb
    took=$(($(now_ms) - start))
    expect_rc 124
    expect_json '"reason":"timeout"'
    [ "$took" -lt $((5000 * SLACK)) ] || fail "took ${took} ms"
    [ -z "$(pgrep -f 't/probe forkbomb')" ] || fail "fork bomb processes survived"
    /bin/true || fail "the host cannot fork any more"
    ;;
membomb)
    box --memory 64M -- membomb
    expect_rc 121
    expect_json '"reason":"oom"'
    ;;
cpuspin)
    start=$(now_ms)
    box --cpu-ms 1000 --wall-ms 20000 -- cpuspin
    took=$(($(now_ms) - start))
    expect_rc 122
    expect_json '"reason":"cpu_limit"'
    cpu=$(sed 's/.*"cpu_ms":\([0-9]*\).*/\1/' <<<"$json")
    [ "$cpu" -ge 1000 ] || fail "ended after only $cpu ms of CPU"
    # Hard limit = soft + 1 s of CPU; the slack is for a loaded machine.
    [ "$took" -lt $((10000 * SLACK)) ] || fail "CPU limit took ${took} ms of wall time"
    ;;
sleep)
    start=$(now_ms)
    box --wall-ms 500 -- sleep
    took=$(($(now_ms) - start))
    expect_rc 124
    expect_json '"reason":"timeout"'
    [ "$took" -lt $((3000 * SLACK)) ] || fail "wall limit took ${took} ms"
    ;;
flood)
    "$RB" --json="$TMP/result.json" --output-limit 1M --bind "$PROBE_DIR:/t" -- /t/probe flood \
        </dev/null >"$TMP/out" 3>&-
    rc=$?
    json=$(cat "$TMP/result.json")
    expect_rc 120
    expect_json '"reason":"output_limit"'
    size=$(stat -c %s "$TMP/out")
    [ "$size" -eq 1048576 ] || fail "got $size bytes of output, want exactly 1 MiB"
    ;;
plant)
    mkdir -p "$TMP/victim/sub" "$TMP/work"
    echo secret >"$TMP/victim/secret"
    echo keep >"$TMP/victim/sub/keep"
    box --workdir "$TMP/work" -- plant "$TMP/victim"
    expect_rc 0
    [ -L "$TMP/work/evil-file" ] || fail "the planted symlink is missing"
    "${RMTREE:?}" "$TMP/work" || fail "rn_rmtree failed"
    [ ! -e "$TMP/work" ] || fail "work dir not removed"
    [ "$(cat "$TMP/victim/secret")" = secret ] || fail "host file touched"
    [ "$(cat "$TMP/victim/sub/keep")" = keep ] || fail "host dir touched"
    [ -d /usr/bin ] || fail "/usr/bin gone"
    ;;
check)
    out=$("$RB" --check) || fail "--check exit $?"
    for p in "user namespace" "pid namespace" "mount namespace" "network namespace" \
        "ipc namespace" "uts namespace" "cgroup namespace" "seccomp" "capability drop"; do
        grep -q "^$p: on" <<<"$out" || fail "$p is not on: $out"
    done
    ;;
cli)
    [ "$("$RB" -- /bin/echo hi)" = hi ] || fail "echo hi"
    [ "$(echo data | "$RB" -- /bin/cat)" = data ] || fail "stdin is not passed"
    [ "$("$RB" --env FOO=bar -- /usr/bin/printenv FOO)" = bar ] || fail "--env"
    echo 'echo from-file' >"$TMP/main.sh"
    [ "$("$RB" --file main.sh="$TMP/main.sh" -- /bin/sh main.sh)" = from-file ] || fail "--file"
    [ "$("$RB" -- /usr/bin/whoami)" = runner ] || fail "whoami"
    "$RB" -- /bin/sh -c 'exit 7'
    [ $? -eq 7 ] || fail "exit status not passed"
    "$RB" -- /bin/sh -c 'kill -SEGV $$; sleep 1; exit 3'
    rc=$?
    # The program is not pid 1 (the run's init is): its own signals kill it.
    [ $rc -eq $((128 + 11)) ] || fail "sh killing itself: $rc"
    "$RB" -- /nonexistent 2>/dev/null
    [ $? -eq 127 ] || fail "missing command"
    "$RB" --cwd /nonexistent -- /bin/true 2>/dev/null
    [ $? -eq 126 ] || fail "bad cwd"
    err=$("$RB" --bogus -- /bin/true 2>&1)
    [ $? -eq 2 ] || fail "bad option status"
    [ "$(wc -l <<<"$err")" -eq 1 ] || fail "bad option message: $err"
    "$RB" --memory 12Q -- /bin/true 2>/dev/null
    [ $? -eq 2 ] || fail "bad size"
    "$RB" --help | grep -q "EXIT STATUS" || fail "--help"
    "$RB" --version | grep -q "^runnel-box " || fail "--version"
    "$RB" --json -- /bin/true 3>"$TMP/fd3"
    grep -q '"reason":"exited"' "$TMP/fd3" || fail "--json on fd 3"
    ;;
*)
    fail "unknown case"
    ;;
esac
echo "ok [$CASE]"
