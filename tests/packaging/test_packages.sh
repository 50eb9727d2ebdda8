#!/usr/bin/env bash
# Build the .deb and the .rpm in a separate build directory configured with
# CMAKE_INSTALL_PREFIX=/usr, check their contents and dependencies, install the
# .deb on this machine, run a snippet through the installed runneld with the
# installed config, then remove and purge it.
#
#   tests/packaging/test_packages.sh SOURCE_DIR WORK_DIR
#
# Needs root (dpkg -i). The install/run/remove part runs in a private mount
# namespace with a tmpfs on /var/cache, so the package's /var/cache/runnel
# never touches a real one that another runneld may be using. Whatever
# happens, the package is purged before the script exits. Exit 77 = skipped.
set -euo pipefail

src=$(cd "${1:?usage: test_packages.sh SOURCE_DIR WORK_DIR}" && pwd)
work=${2:?usage: test_packages.sh SOURCE_DIR WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)

check() { python3 "$here/svc_check.py" "$@"; }
say() { printf '== %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
skip() {
    printf 'SKIP: %s\n' "$*" >&2
    exit 77
}

# Paths dpkg is told not to unpack (minimal container images drop man pages).
excluded() {
    local pat
    # shellcheck disable=SC2013  # one pattern per word is what dpkg reads
    for pat in $(sed -n 's/^path-exclude[= ]*//p' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* 2>/dev/null); do
        # shellcheck disable=SC2053  # the pattern is a glob on purpose
        [[ $1 == $pat ]] && return 0
    done
    return 1
}

# dpkg refuses to run while apt or another dpkg holds its lock: wait for it.
dpkg_retry() {
    local i out
    for i in $(seq 1 120); do
        if out=$(dpkg "$@" 2>&1); then
            printf '%s\n' "$out"
            return 0
        fi
        if ! grep -q 'lock' <<<"$out"; then
            printf '%s\n' "$out" >&2
            return 1
        fi
        [ "$i" = 1 ] && echo "dpkg is locked by another process; waiting" >&2
        sleep 1
    done
    printf '%s\n' "$out" >&2
    return 1
}

# ---------------------------------------------------------------------------
# Inside the private mount namespace (re-executed through unshare).
# ---------------------------------------------------------------------------
if [ "${RUNNEL_PKG_PHASE:-}" = install ]; then
    deb=$work/build/runnel_${RUNNEL_PKG_VERSION}_$(dpkg --print-architecture).deb
    # A private /var/cache, but the real man-db index (dpkg's man-db trigger
    # updates it on install and again on removal, as for any package).
    keep=""
    if [ -d /var/cache/man ]; then
        keep=$(mktemp -d)
        mount --bind /var/cache/man "$keep"
    fi
    mount -t tmpfs -o mode=0755 tmpfs /var/cache
    if [ -n "$keep" ]; then
        mkdir /var/cache/man
        mount --move "$keep" /var/cache/man
        rmdir "$keep"
    fi
    pid=""
    notify_pid=""
    # shellcheck disable=SC2317  # called from the EXIT trap
    cleanup() {
        local rc=$? p
        set +e
        for p in $pid $notify_pid; do
            kill "$p" 2>/dev/null
            wait "$p" 2>/dev/null
        done
        if dpkg-query -W -f='${db:Status-Status}' runnel >/dev/null 2>&1; then
            echo "== cleanup: purging runnel"
            dpkg_retry -P runnel >/dev/null || true
        fi
        exit "$rc"
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    say "dpkg -i $(basename "$deb")"
    dpkg_retry -i "$deb"
    [ "$(dpkg-query -W -f='${db:Status-Status}' runnel)" = installed ] || fail "runnel is not installed"

    say "installed files"
    for f in /usr/bin/runneld /usr/bin/runnel-box /usr/bin/runnel /usr/libexec/runnel/runnel-sql; do
        [ -x "$f" ] || fail "$f missing or not executable"
    done
    for f in /etc/runnel/runnel.conf /lib/systemd/system/runnel.service \
        /usr/share/runnel/specs/python3.json /usr/share/runnel/runtimes/install.sh \
        /usr/share/runnel/runtimes/linebuf.h /usr/share/doc/runnel/copyright \
        /usr/share/man/man1/runneld.1.gz /usr/share/man/man1/runnel-box.1.gz \
        /usr/share/man/man1/runnel.1.gz /usr/share/man/man5/runnel.conf.5.gz; do
        if excluded "$f"; then
            echo "$f: excluded by dpkg's path-exclude here"
            continue
        fi
        [ -f "$f" ] || fail "$f missing"
    done
    [ -x /usr/share/runnel/runtimes/install.sh ] || fail "install.sh is not executable"
    grep -q '^ /etc/runnel/runnel.conf ' <<<"$(dpkg-query -W -f='${Conffiles}\n' runnel)" ||
        fail "/etc/runnel/runnel.conf is not a conffile"
    getent passwd runnel >/dev/null || fail "no runnel system user"
    [ "$(getent passwd runnel | cut -d: -f6,7)" = /var/lib/runnel:/usr/sbin/nologin ] ||
        fail "runnel user: $(getent passwd runnel)"
    [ "$(id -u runnel)" -lt 1000 ] || fail "runnel is not a system user"
    for d in /var/lib/runnel /var/cache/runnel; do
        [ "$(stat -c %U:%a "$d")" = root:700 ] || fail "$d: $(stat -c %U:%a "$d" 2>&1)"
    done
    if [ -e /etc/systemd/system/multi-user.target.wants/runnel.service ]; then
        fail "the package enabled the service"
    fi
    man_opt=""
    if excluded /usr/share/man/man1/runneld.1.gz; then
        man_opt=--man=no
    else
        man -w runneld runnel-box runnel >/dev/null || fail "man pages not found"
        man -w 5 runnel.conf >/dev/null || fail "runnel.conf(5) not found"
    fi
    grep -qx "runneld $RUNNEL_PKG_VERSION" <<<"$(/usr/bin/runneld --version)" || fail "runneld --version"
    /usr/bin/runnel-box --version >/dev/null || fail "runnel-box --version"
    /usr/bin/runnel --version >/dev/null || fail "runnel --version"

    say "systemd-analyze verify (installed unit)"
    # shellcheck disable=SC2086  # empty or one word
    if out=$(systemd-analyze verify $man_opt /lib/systemd/system/runnel.service 2>&1) && [ -z "$out" ]; then
        echo "verify: clean"
    else
        fail "systemd-analyze verify: $out"
    fi

    say "runneld from the installed paths with the installed config"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    notify_sock=$work/notify.sock
    notify_log=$work/notify.log
    : >"$notify_log"
    python3 "$here/svc_check.py" notify "$notify_sock" "$notify_log" &
    notify_pid=$!
    for _ in $(seq 1 50); do grep -q BOUND "$notify_log" && break; sleep 0.1; done
    NOTIFY_SOCKET=$notify_sock /usr/bin/runneld --config /etc/runnel/runnel.conf \
        --listen "127.0.0.1:$port" 2>"$work/runneld.log" &
    pid=$!
    if ! check wait "http://127.0.0.1:$port/healthz" 30; then
        cat "$work/runneld.log" >&2
        fail "runneld did not come up"
    fi
    grep -q 'specs=/usr/share/runnel/specs' "$work/runneld.log" || fail "runneld did not use the installed specs"
    for _ in $(seq 1 50); do grep -qx READY=1 "$notify_log" && break; sleep 0.1; done
    grep -qx READY=1 "$notify_log" || fail "no READY=1 on \$NOTIFY_SOCKET"
    echo "sd_notify: READY=1 received"

    check exec "http://127.0.0.1:$port/v1/exec" python3 \
        $'import sys\nprint("hello from", sys.version_info[0])\nprint(6 * 7)' \
        $'hello from 3\n42\n' || fail "python3 snippet"
    # The runtimes directory is found beside the installed specs ({runtimes}).
    if python3 - "$port" <<'EOF'
import json, sys, urllib.request
spec = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/spec"))
sys.exit(0 if spec.get("perl", {}).get("available") else 1)
EOF
    then
        check exec "http://127.0.0.1:$port/v1/exec" perl 'print "runtimes ", 2 + 2, "\n";' \
            $'runtimes 4\n' || fail "perl snippet (mounts {runtimes})"
    else
        echo "perl not installed here: {runtimes} check skipped"
    fi
    printf 'print(7 * 6)\n' | /usr/bin/runnel run --server "http://127.0.0.1:$port" --lang python3 - \
        >"$work/cli.out" || fail "runnel run exited $?"
    [ "$(cat "$work/cli.out")" = 42 ] || fail "runnel run printed: $(cat "$work/cli.out")"
    echo "runnel CLI: 42"

    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    pid=""
    [ "$rc" = 0 ] || fail "runneld exited $rc after SIGTERM"
    grep -qx STOPPING=1 "$notify_log" || fail "no STOPPING=1 on \$NOTIFY_SOCKET"
    echo "runneld stopped cleanly (STOPPING=1 sent)"
    kill "$notify_pid" 2>/dev/null || true
    wait "$notify_pid" 2>/dev/null || true
    notify_pid=""

    say "dpkg -r runnel: only the conffile stays"
    dpkg-query -L runnel | sort >"$work/files.txt"
    dpkg_retry -r runnel
    [ "$(dpkg-query -W -f='${db:Status-Status}' runnel)" = config-files ] ||
        fail "state after dpkg -r: $(dpkg-query -W -f='${db:Status-Status}' runnel)"
    left=""
    while IFS= read -r f; do
        [ -e "$f" ] || continue
        [ -d "$f" ] && continue # directories are shared (or /lib -> usr/lib)
        left="$left $f"
    done <"$work/files.txt"
    [ "$left" = " /etc/runnel/runnel.conf" ] || fail "left after dpkg -r:${left:- nothing (the conffile is gone)}"
    for d in /usr/share/runnel /usr/libexec/runnel /usr/share/doc/runnel /var/cache/runnel; do
        [ ! -e "$d" ] || fail "$d left after dpkg -r"
    done
    # The state (runnel.db: what clients were told is saved) outlives a
    # removal; only a purge deletes it.
    [ ! -e /var/lib/runnel ] || [ -e /var/lib/runnel/runnel.db ] ||
        fail "/var/lib/runnel left empty after dpkg -r"
    echo "left after dpkg -r: /etc/runnel/runnel.conf"

    say "dpkg -P runnel"
    dpkg_retry -P runnel
    if dpkg-query -W -f='${db:Status-Status}' runnel >/dev/null 2>&1; then
        fail "dpkg still knows runnel after purge"
    fi
    [ ! -e /etc/runnel ] || fail "/etc/runnel left after purge"
    [ ! -e /var/lib/runnel ] || fail "/var/lib/runnel left after purge"
    ! getent passwd runnel >/dev/null || fail "runnel user left after purge"
    ! getent group runnel >/dev/null || fail "runnel group left after purge"
    echo "purged: nothing left"
    exit 0
fi

# ---------------------------------------------------------------------------
# Outside: preconditions, build, package checks, then the install phase.
# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i)"
for tool in dpkg dpkg-deb rpm rpmbuild cpack cmake unshare python3 systemd-analyze man; do
    command -v "$tool" >/dev/null || fail "$tool not found (apt-get install $(grep -v '^#' "$src/packaging/test-deps.txt" | tr '\n' ' '))"
done
if dpkg-query -W -f='${db:Status-Status}' runnel >/dev/null 2>&1; then
    skip "a runnel package is already installed here; not touching it"
fi
for f in /usr/bin/runneld /usr/bin/runnel-box /usr/bin/runnel /etc/runnel /var/lib/runnel; do
    [ ! -e "$f" ] || skip "$f exists outside the package manager; not touching it"
done
if getent passwd runnel >/dev/null || getent group runnel >/dev/null; then
    skip "a runnel user or group exists that the package did not create"
fi

version=$(sed -n 's/^project(runnel VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt"
deb_arch=$(dpkg --print-architecture)
rpm_arch=$(uname -m)
mkdir -p "$work"
work=$(cd "$work" && pwd)

say "configure and build with CMAKE_INSTALL_PREFIX=/usr in $work/build"
rm -f "$work"/build/*.deb "$work"/build/*.rpm
cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DRUNNEL_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNNEL_SANITIZE=OFF >/dev/null
cmake --build "$work/build" -j"$(nproc)" >/dev/null
say "cmake --build --target package"
cmake --build "$work/build" --target package >"$work/cpack.log" 2>&1 || {
    cat "$work/cpack.log" >&2
    fail "cpack failed"
}
deb=$work/build/runnel_${version}_${deb_arch}.deb
rpmf=$work/build/runnel-${version}.${rpm_arch}.rpm
[ -f "$deb" ] || fail "$(basename "$deb") not made ($(ls "$work/build"/*.deb 2>/dev/null))"
[ -f "$rpmf" ] || fail "$(basename "$rpmf") not made ($(ls "$work/build"/*.rpm 2>/dev/null))"
ls -l "$deb" "$rpmf"

say "deb: control fields and contents"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for p in libwebsockets17 libwebsockets-evlib-uv libuv1 libcjson1 libseccomp2 libcap2 libssl3 libsqlite3-0 libc6 adduser; do
    grep -Eq "(^|, )$p( |,|$)" <<<"$depends" || fail "the .deb does not depend on $p"
done
[ "$(dpkg-deb -f "$deb" Package)" = runnel ] || fail "Package field"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version field"
grep -qx /etc/runnel/runnel.conf <<<"$(dpkg-deb -I "$deb" conffiles)" || fail "conffiles"
for s in postinst prerm postrm; do
    dpkg-deb -I "$deb" "$s" >/dev/null || fail "no $s in the .deb"
done
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|; s|/$||' | sort >"$work/deb-files.txt"
expect_common="/usr/bin/runneld /usr/bin/runnel-box /usr/bin/runnel /usr/libexec/runnel/runnel-sql
/etc/runnel/runnel.conf /usr/share/runnel/specs/python3.json /usr/share/runnel/runtimes/install.sh
/usr/share/runnel/runtimes/linebuf.h /usr/share/doc/runnel/copyright
/usr/share/man/man1/runneld.1.gz /usr/share/man/man1/runnel-box.1.gz /usr/share/man/man1/runnel.1.gz
/usr/share/man/man5/runnel.conf.5.gz"
for f in $expect_common /lib/systemd/system/runnel.service; do
    grep -qx "$f" "$work/deb-files.txt" || fail "$f not in the .deb"
done
for spec in "$src"/specs/*.json; do
    grep -qx "/usr/share/runnel/specs/$(basename "$spec")" "$work/deb-files.txt" ||
        fail "spec $(basename "$spec") not in the .deb"
done
if grep -Ev '^(/etc|/lib|/usr|/)(/|$)' "$work/deb-files.txt" | grep -q .; then
    fail "unexpected paths in the .deb: $(grep -Ev '^(/etc|/lib|/usr|/)(/|$)' "$work/deb-files.txt" | head -3)"
fi

say "rpm: rpm -qpl / -qpR / -qpc"
rpm -qpl "$rpmf" | sort >"$work/rpm-files.txt"
for f in $expect_common /usr/lib/systemd/system/runnel.service; do
    grep -qx "$f" "$work/rpm-files.txt" || fail "$f not in the .rpm"
done
if grep -Ev '^(/etc/runnel|/usr/(bin|libexec/runnel|lib/systemd/system/runnel.service|share/(runnel|doc/runnel|man/man[15])))(/|$)' \
    "$work/rpm-files.txt" | grep -q .; then
    fail "the .rpm owns paths that are not its own: $(grep -Ev '^(/etc/runnel|/usr/(bin|libexec/runnel|lib/systemd/system/runnel.service|share/(runnel|doc/runnel|man/man[15])))(/|$)' "$work/rpm-files.txt" | head -5 | tr '\n' ' ')"
fi
! grep -qx /usr/bin "$work/rpm-files.txt" || fail "the .rpm owns /usr/bin"
requires=$(rpm -qpR "$rpmf" | sort -u)
echo "Requires: $(tr '\n' ' ' <<<"$requires")"
for p in libwebsockets libuv cjson libseccomp libcap openssl-libs sqlite-libs shadow-utils; do
    grep -qx "$p" <<<"$requires" || fail "the .rpm does not require $p"
done
# (whole outputs first: with pipefail, grep -q closing the pipe early fails the writer)
grep -qx /etc/runnel/runnel.conf <<<"$(rpm -qpc "$rpmf")" || fail "runnel.conf is not %config in the .rpm"
grep -q '^cn /etc/runnel/runnel.conf$' <<<"$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmf")" ||
    fail "runnel.conf is not %config(noreplace)"
scripts=$(rpm -qp --scripts "$rpmf")
for s in 'preinstall scriptlet' 'postinstall scriptlet' 'preuninstall scriptlet' 'postuninstall scriptlet'; do
    grep -q "$s" <<<"$scripts" || fail "no $s in the .rpm"
done
grep -q 'useradd -r' <<<"$scripts" || fail "the .rpm does not create the runnel user"
[ "$(rpm -qp --qf '%{NAME} %{VERSION} %{ARCH} %{LICENSE}' "$rpmf")" = "runnel $version $rpm_arch MIT" ] ||
    fail "rpm header: $(rpm -qp --qf '%{NAME} %{VERSION} %{ARCH} %{LICENSE}' "$rpmf")"

# Install, run, remove: in a private mount namespace (see the top).
rc=0
RUNNEL_PKG_PHASE=install RUNNEL_PKG_VERSION=$version \
    unshare --mount --propagation private "$0" "$src" "$work" || rc=$?
# Belt and braces: if the inner phase was killed before its own cleanup.
if dpkg-query -W -f='${db:Status-Status}' runnel >/dev/null 2>&1; then
    echo "== runnel still known to dpkg: purging (private /var/cache)"
    unshare --mount --propagation private sh -c 'mount -t tmpfs tmpfs /var/cache && dpkg -P runnel' || true
    rc=1
fi
[ "$rc" = 0 ] || fail "install/run/remove phase failed ($rc)"
say "packages OK: $(basename "$deb") $(stat -c %s "$deb") bytes, $(basename "$rpmf") $(stat -c %s "$rpmf") bytes"
