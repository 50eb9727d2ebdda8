#!/usr/bin/env bash
# systemd-analyze verify packaging/systemd/runnel.service, with nothing to
# say. verify also checks that ExecStart's binary and the Documentation= man
# pages exist, so when runnel is not installed the freshly built runneld and
# man pages are overlaid on /usr/bin and /usr/share/man in a private mount
# namespace (root), leaving the real directories untouched.
#
#   tests/packaging/test_unit_verify.sh SOURCE_DIR RUNNELD MAN_GZ_DIR
set -euo pipefail

src=$(cd "${1:?usage: test_unit_verify.sh SOURCE_DIR RUNNELD MAN_GZ_DIR}" && pwd)
runneld=${2:?runneld path}
mandir=${3:?directory of the built .gz man pages}
unit=$src/packaging/systemd/runnel.service

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed (apt-get install systemd)"; exit 77; }

verify() {
    local out
    if out=$(systemd-analyze verify "$unit" 2>&1) && [ -z "$out" ]; then
        echo "systemd-analyze verify $unit: clean"
        return 0
    fi
    echo "FAIL: systemd-analyze verify $unit:" >&2
    printf '%s\n' "$out" >&2
    return 1
}

if [ "${RUNNEL_VERIFY_PHASE:-}" = overlay ]; then
    t=$(mktemp -d)
    mount -t tmpfs tmpfs "$t"
    for d in /usr/bin /usr/share/man/man1 /usr/share/man/man5; do
        mkdir -p "$t/up$d" "$t/work$d"
        mount -t overlay overlay -o "lowerdir=$d,upperdir=$t/up$d,workdir=$t/work$d" "$d"
    done
    install -m 0755 "$runneld" /usr/bin/runneld
    install -m 0644 "$mandir"/*.1.gz /usr/share/man/man1/
    install -m 0644 "$mandir"/*.5.gz /usr/share/man/man5/
    verify
    exit
fi

# Directives this unit must keep (the service depends on them).
# shellcheck disable=SC2016  # $MAINPID is literal unit text
for want in 'Type=notify' 'ExecStart=/usr/bin/runneld --config /etc/runnel/runnel.conf' \
    'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' 'Delegate=yes' 'KillMode=mixed'; do
    grep -qxF "$want" "$unit" || { echo "FAIL: $want missing from $unit" >&2; exit 1; }
done
grep -q '^LimitNOFILE=' "$unit" || { echo "FAIL: LimitNOFILE missing" >&2; exit 1; }
# Directives that break the sandbox (docs/operations.md says why).
for bad in PrivateUsers RestrictNamespaces ProtectHostname ProtectControlGroups \
    ProtectKernelTunables MemoryDenyWriteExecute DynamicUser User; do
    if grep -q "^$bad=" "$unit"; then
        echo "FAIL: $bad= breaks the sandbox; see docs/operations.md" >&2
        exit 1
    fi
done

# A system-call allow-list would be inherited by every run: deny-lists only.
if grep -E '^SystemCallFilter=[^~]' "$unit"; then
    echo "FAIL: SystemCallFilter must be a deny-list (~...)" >&2
    exit 1
fi
for cap in CAP_SETUID CAP_SETGID; do
    grep -q "^CapabilityBoundingSet=.*$cap" "$unit" ||
        { echo "FAIL: runneld needs $cap (uid maps)" >&2; exit 1; }
done

if [ -x /usr/bin/runneld ]; then
    verify
elif [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    RUNNEL_VERIFY_PHASE=overlay unshare --mount --propagation private "$0" "$@"
else
    echo "SKIP: runnel not installed and not root (verify needs /usr/bin/runneld)"
    exit 77
fi
