#!/bin/bash
# The cgroup v2 leg of the test command: users' machines are cgroup-v2-only,
# this one may not be. Boots this machine's own filesystem in a QEMU guest
# whose kernel has cgroup v2 alone (the shared cgroup2-vm.sh, next to the
# repository in ../shared/vm, or $RUNNEL_CGROUP2_VM) and runs guest.sh there:
# the sandbox label of BUILD_DIR and the runneld smoke, with their counts.
#
#   leg.sh [BUILD_DIR]      (default: build)       run as root
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$repo" && realpath "${1:-build}")
vm=${RUNNEL_CGROUP2_VM:-$repo/../shared/vm/cgroup2-vm.sh}
if [ ! -f "$vm" ]; then
    echo "tests/cgroup2/leg.sh: no $vm (set RUNNEL_CGROUP2_VM)" >&2
    exit 2
fi

# The guest's initrd runs the busybox it finds on PATH, so it must be the
# static one. Debian's dynamic busybox package (a language runtime list
# installs it) replaces busybox-static: then take busybox-static's binary
# from its package, unpacked into a cache directory, ahead on PATH.
bb=$(command -v busybox || true)
if [ -z "$bb" ] || ! LC_ALL=C ldd "$bb" 2>&1 | grep -q "not a dynamic executable"; then
    cache=${RUNNEL_CGROUP2_CACHE:-/var/tmp/runnel-cgroup2}
    if [ ! -x "$cache/bin/busybox" ]; then
        echo "== cgroup v2 leg: $bb is not static; unpacking busybox-static into $cache"
        mkdir -p "$cache/deb"
        (cd "$cache/deb" && rm -f ./*.deb && apt-get download -q busybox-static 2>/dev/null &&
            dpkg-deb -x ./busybox-static_*.deb "$cache/root")
        mkdir -p "$cache/bin"
        cp "$cache/root/bin/busybox" "$cache/bin/busybox"
    fi
    export PATH="$cache/bin:$PATH"
fi

start=$(date +%s)
rc=0
cd "$repo"
bash "$vm" -m 2048 -t 1800 -- bash "$repo/tests/cgroup2/guest.sh" "$build" || rc=$?
echo "== cgroup v2 leg: exit $rc, $(($(date +%s) - start)) s"
exit $rc
