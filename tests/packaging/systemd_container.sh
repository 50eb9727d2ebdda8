#!/usr/bin/env bash
# Manual check (not run by ctest): boot systemd as PID 1 in throw-away
# namespaces on an overlay of this machine's root, install the .deb there,
# and start runnel.service for real, with its hardening directives.
#
#   tests/packaging/systemd_container.sh start DEB STATE_DIR   # boots; prints the PID
#   tests/packaging/systemd_container.sh run STATE_DIR CMD...  # runs CMD inside
#   tests/packaging/systemd_container.sh stop STATE_DIR
#
# Every write lands in STATE_DIR/up (overlayfs upper dir), in a new mount,
# pid, network, uts, ipc and cgroup namespace, under a cgroup v2 child
# /sys/fs/cgroup/unified/runnel-ct (or /sys/fs/cgroup/runnel-ct): the host's
# files, processes and network are untouched. Needs root and cgroup v2.
set -euo pipefail

cmd=${1:?usage: systemd_container.sh start|run|stop ...}
shift

cg2=/sys/fs/cgroup
[ -f "$cg2/cgroup.controllers" ] || cg2=/sys/fs/cgroup/unified
[ -f "$cg2/cgroup.controllers" ] || { echo "no cgroup v2 hierarchy" >&2; exit 77; }

case "$cmd" in
start)
    deb=$(cd "$(dirname "${1:?DEB}")" && pwd)/$(basename "$1")
    state=${2:?STATE_DIR}
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    mkdir -p "$state/up" "$state/work" "$state/root"
    mkdir -p "$cg2/runnel-ct"
    cat >"$state/inner.sh" <<INNER
set -euo pipefail
echo \$\$ >"$cg2/runnel-ct/cgroup.procs"
exec unshare --cgroup --mount --propagation private --pid --fork --net --uts --ipc bash -c '
set -euo pipefail
r=$state/root
mount -t overlay overlay -o lowerdir=/,upperdir=$state/up,workdir=$state/work "\$r"
mount -t proc proc "\$r/proc"
mount --rbind /sys "\$r/sys"
umount -R "\$r/sys/fs/cgroup"
mount -t cgroup2 cgroup2 "\$r/sys/fs/cgroup"
mount --rbind /dev "\$r/dev"
mount -t tmpfs tmpfs "\$r/run"
mount -t tmpfs tmpfs "\$r/tmp"
cp "$deb" "\$r/tmp/runnel.deb"
chroot "\$r" sh -c "dpkg -i /tmp/runnel.deb >/tmp/dpkg.log 2>&1"
# Only what the check needs: no gettys, no host services.
ln -sf /lib/systemd/system/multi-user.target "\$r/etc/systemd/system/default.target"
rm -f "\$r"/etc/systemd/system/multi-user.target.wants/*
for u in console-getty.service getty@.service serial-getty@.service getty.target; do
    ln -sf /dev/null "\$r/etc/systemd/system/\$u"
done
hostname runnel-ct
# pivot_root, not chroot: the kernel refuses user namespaces in a chroot.
mkdir -p "\$r/.oldroot"
cd "\$r"
pivot_root . .oldroot
umount -l /.oldroot
exec env container=runnel-ct /lib/systemd/systemd --system --log-target=console
'
INNER
    setsid bash "$state/inner.sh" >"$state/console.log" 2>&1 </dev/null &
    for _ in $(seq 1 100); do
        pid=$(pgrep -f -n "^/lib/systemd/systemd --system --log-target=console$" || true)
        [ -n "$pid" ] && break
        sleep 0.2
    done
    [ -n "${pid:-}" ] || { cat "$state/console.log" >&2; exit 1; }
    echo "$pid" >"$state/pid"
    echo "$pid"
    ;;
run)
    state=${1:?STATE_DIR}
    shift
    nsenter -t "$(cat "$state/pid")" -a "$@"
    ;;
stop)
    state=${1:?STATE_DIR}
    pid=$(cat "$state/pid")
    kill -RTMIN+4 "$pid" 2>/dev/null || true # systemd: poweroff
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    sleep 0.5
    rmdir "$cg2"/runnel-ct/* 2>/dev/null || true
    find "$cg2/runnel-ct" -depth -type d -exec rmdir {} + 2>/dev/null || true
    ;;
*)
    echo "usage: systemd_container.sh start|run|stop ..." >&2
    exit 2
    ;;
esac
