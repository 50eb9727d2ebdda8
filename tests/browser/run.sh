#!/bin/sh
# The playground browser test: install playwright-core from the committed
# lock file (into tests/browser/node_modules), then drive Debian's Chromium.
set -eu
cd "$(dirname "$0")"
# npm is not listed in packaging/test-deps.txt: Debian's npm package
# conflicts with NodeSource's nodejs, which ships its own npm.
if ! command -v npm >/dev/null 2>&1; then
    echo "tests/browser: npm not found (Debian: apt-get install npm)" >&2
    exit 1
fi
if [ ! -f node_modules/playwright-core/package.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
    timeout 300 npm ci --no-audit --no-fund --loglevel=error
fi
exec timeout --kill-after=10 240 node playground.test.js
