#!/usr/bin/env bash
# Install what the build and the tests need, build twice (plain, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), and run every test in both.
# Must run as root on Debian 12: the sandbox tests create user namespaces,
# cgroups and uid-mapped runs, and the language tests need the toolchains.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
jobs=$(nproc)

if [ "$(id -u)" != 0 ]; then
    echo "tests/run-all.sh: run as root (the sandbox suite needs it)" >&2
    exit 2
fi

echo "== installing build and test dependencies"
apt-get update -q
apt-get install -y -q --no-install-recommends $(grep -v '^#' packaging/build-deps.txt) \
    $(grep -v '^#' packaging/test-deps.txt)
# The browser test installs playwright-core with npm; Debian ships npm
# separately from nodejs (some images bring their own node with npm).
command -v npm >/dev/null || apt-get install -y -q --no-install-recommends npm
echo "== installing every language runtime"
bash runtimes/install.sh --all

run_suite() {
    local dir=$1; shift
    echo "== configure $dir $*"
    cmake -S . -B "$dir" "$@"
    cmake --build "$dir" -j"$jobs"
    echo "== test $dir"
    ctest --test-dir "$dir" --output-on-failure -j1 --timeout 1800
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Users' machines are cgroup-v2-only: the sandbox label and a runneld smoke
# again, on the plain build, inside a QEMU guest whose kernel has cgroup v2
# alone (../shared/vm/cgroup2-vm.sh); prints each part's counts and its time.
echo "== cgroup v2 leg (QEMU guest)"
bash tests/cgroup2/leg.sh build
# A small quarantine: the slow-reader test bounds the server's RSS growth.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DRUNNEL_SANITIZE=ON -DCMAKE_C_COMPILER=clang
# libFuzzer targets (tests/fuzz): a third, small build of only the fuzz
# targets and what they link, smoke-running each (20 000 inputs).
echo "== configure build-fuzz (libFuzzer targets)"
cmake -S . -B build-fuzz -DRUNNEL_FUZZ=ON -DCMAKE_C_COMPILER=clang -DRUNNEL_TESTS=ON
cmake --build build-fuzz -j"$jobs" --target fuzz
echo "== test build-fuzz (label fuzz)"
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$jobs" --timeout 600
echo "== all suites passed"
