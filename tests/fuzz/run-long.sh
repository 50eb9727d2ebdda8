#!/usr/bin/env bash
# A longer libFuzzer run of one target: tests/fuzz/run-long.sh TARGET SECONDS
# (TARGET without the fuzz_ prefix, e.g. ranna_ws). Needs a build made with
#   cmake -S . -B build-fuzz -DRUNNEL_FUZZ=ON -DCMAKE_C_COMPILER=clang
#   cmake --build build-fuzz --target fuzz
# ($RUNNEL_FUZZ_BUILD overrides build-fuzz). New inputs go to
# <build>/tests/fuzz/long/TARGET; crashes to <build>/tests/fuzz/artifacts/.
# Copy a crash into tests/fuzz/corpus/TARGET/regression-<what> once fixed.
# Extra arguments after SECONDS go to libFuzzer (e.g. -jobs=2 -workers=2).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer options...]" >&2
    exit 2
fi
target=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
build=${RUNNEL_FUZZ_BUILD:-$here/../../build-fuzz}
exe=$build/tests/fuzz/fuzz_$target
if [ ! -x "$exe" ]; then
    echo "$exe not built (cmake --build $build --target fuzz)" >&2
    exit 2
fi
work=$build/tests/fuzz/long/$target
art=$build/tests/fuzz/artifacts/
mkdir -p "$work" "$art"
dict=()
[ -f "$here/dict/$target.dict" ] && dict=("-dict=$here/dict/$target.dict")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art$target-" "${dict[@]}" "$@" "$work" "$here/corpus/$target"
