#!/bin/bash
# Runs inside the cgroup-v2-only guest (see leg.sh): checks that the guest
# really is cgroup v2 and that the sandbox uses it, runs the sandbox label
# of BUILD_DIR's ctest suite and the runneld smoke, and prints each part's
# counts as "N passed, M failed". Exit status 0 only when all passed.
#
#   guest.sh BUILD_DIR
set -u
build=${1:?usage: guest.sh BUILD_DIR}
cd "$(dirname "$0")/../.."
status=0

echo "== cgroup v2 guest: $(uname -r), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
check=$("$build/sandbox/runnel-box" --check)
echo "$check" | grep '^cgroup'
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && grep -q '^cgroup v2 limits: on' <<<"$check" &&
    grep -q '^cgroup v1 limits: off' <<<"$check"; then
    echo "cgroup v2 path: 1 passed, 0 failed"
else
    echo "cgroup v2 path: 0 passed, 1 failed (the sandbox does not use cgroup v2 here)"
    status=1
fi

echo "== ctest -L sandbox (cgroup v2)"
# An emulated guest (no KVM) is several times slower: the suite's wall-time
# bounds get this factor.
export RUNNEL_TEST_TIME_SLACK=${RUNNEL_TEST_TIME_SLACK:-3}
ctest --test-dir "$build" -L sandbox --output-on-failure -j1 --timeout 300 | tee /tmp/cg2-ctest.log
rc=${PIPESTATUS[0]}
line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' /tmp/cg2-ctest.log | tail -1)
if [ -n "$line" ]; then
    failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    echo "cgroup v2 sandbox label: $((total - failed)) passed, $failed failed"
else
    echo "cgroup v2 sandbox label: 0 passed, 1 failed (ctest printed no summary)"
    rc=1
fi
[ "$rc" -eq 0 ] || status=1

echo "== runneld smoke (cgroup v2)"
/usr/bin/python3 tests/cgroup2/smoke.py "$build" | sed -E 's/^([0-9]+ passed, [0-9]+ failed)$/cgroup v2 smoke: \1/'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit $status
