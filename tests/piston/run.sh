#!/bin/sh
# The Piston v2 envelope test: install piston-client 1.0.2 and ws from the
# committed lock file (into tests/piston/node_modules), then run them
# unchanged against a real runneld.
set -eu
cd "$(dirname "$0")"
# npm is not listed in packaging/test-deps.txt: Debian's npm package
# conflicts with NodeSource's nodejs, which ships its own npm.
if ! command -v npm >/dev/null 2>&1; then
    echo "tests/piston: npm not found (Debian: apt-get install npm)" >&2
    exit 1
fi
if [ ! -f node_modules/piston-client/package.json ] || [ ! -f node_modules/ws/package.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
    timeout 300 npm ci --no-audit --no-fund --loglevel=error
fi
exec timeout --kill-after=10 450 node piston.test.mjs
