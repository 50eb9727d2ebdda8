#!/bin/sh
# Install the Debian packages the language specs need.
#
#   runtimes/install.sh --default      bash sh python3 javascript c cpp
#   runtimes/install.sh --all          every language in specs/
#   runtimes/install.sh go rust java   the named languages (names or aliases)
#   runtimes/install.sh --list         languages, packages, installed or not, size
#   runtimes/install.sh --print ...    print the package names, install nothing
#
# Packages come from the machine's apt sources only. Already installed
# packages are left alone, so running it again does nothing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
specs=${RUNNEL_SPECS_DIR:-$here/../specs}
[ -d "$specs" ] || specs=/usr/share/runnel/specs
py=/usr/bin/python3
DEFAULT="bash sh python3 javascript c cpp"

usage() {
    sed -n '2,12s/^# \{0,1\}//p' "$0"
    exit "${1:-2}"
}

# packages_for LANG... -> one package per line (unknown language: exit 1)
packages_for() {
    "$py" - "$specs" "$@" <<'PY'
import glob, json, os, sys
specs_dir, want = sys.argv[1], sys.argv[2:]
specs = {}
for path in sorted(glob.glob(os.path.join(specs_dir, "*.json"))):
    if os.path.basename(path) == "schema.json":
        continue
    try:
        with open(path) as f:
            s = json.load(f)
    except (OSError, ValueError) as e:
        print(f"install.sh: skipping {path}: {e}", file=sys.stderr)
        continue
    for key in [s.get("name", "")] + s.get("aliases", []):
        specs.setdefault(key.lower(), s)
if want == ["--all"]:
    chosen = {s["name"]: s for s in specs.values()}.values()
elif want == ["--list"]:
    import subprocess
    langs = sorted({s["name"]: s for s in specs.values()}.values(), key=lambda s: s["name"])
    allp = sorted({p for s in langs for p in s.get("packages", [])})
    # Installed-Size (KiB) of each package itself, from apt's cache in one call
    size = {}
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", *allp],
                         capture_output=True, text=True).stdout
    pkg = None
    for line in out.splitlines():
        if line.startswith("Package: "):
            pkg = line.split(": ", 1)[1]
        elif line.startswith("Installed-Size: ") and pkg:
            size.setdefault(pkg, int(line.split(": ", 1)[1]))
    total = 0
    print(f"{'language':14s} {'status':9s}  {'own MB':>6s}  packages")
    for s in langs:
        pk = s.get("packages", [])
        ok = all(subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", p],
                                capture_output=True, text=True).stdout.startswith("ii")
                 for p in pk)
        mb = sum(size.get(p, 0) for p in pk) / 1024
        print(f"{s['name']:14s} {'installed' if ok else 'missing  '}  {mb:6.1f}  {' '.join(pk)}")
    total = sum(size.get(p, 0) for p in allp) / 1024
    print(f"{len(langs)} languages, {len(allp)} packages, {total:.0f} MB installed "
          "(the packages themselves, from apt's Installed-Size; dependencies not counted)")
    sys.exit(0)
else:
    chosen, bad = [], []
    for w in want:
        s = specs.get(w.lower())
        (chosen.append(s) if s else bad.append(w))
    if bad:
        print("install.sh: unknown language: " + " ".join(bad), file=sys.stderr)
        sys.exit(1)
seen = []
for s in chosen:
    for p in s.get("packages", []):
        if p not in seen:
            seen.append(p)
print("\n".join(seen))
PY
}

[ $# -gt 0 ] || usage
print_only=0
case "$1" in
-h | --help) usage 0 ;;
--list) packages_for --list; exit 0 ;;
--print) print_only=1; shift ;;
esac
[ $# -gt 0 ] || usage
case "$1" in
--default) set -- $DEFAULT ;;
esac

pkgs=$(packages_for "$@")
[ -n "$pkgs" ] || { echo "install.sh: nothing to install"; exit 0; }
if [ "$print_only" = 1 ]; then
    echo "$pkgs"
    exit 0
fi

missing=
for p in $pkgs; do
    if ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install.sh: all packages already installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root to install:$missing" >&2
    exit 1
fi
echo "install.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing
