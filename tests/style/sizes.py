#!/usr/bin/python3
"""The size rules of the C sources in src/ and sandbox/: no .c file longer
than 900 lines, no function longer than 150 lines (from the line that
opens its body to the closing brace at column 0). Prints each offender and
exits 1 when there is one."""
import pathlib
import re
import sys

MAX_FILE = 900
MAX_FUNC = 150
ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
if ROOT.is_file():
    ROOT = ROOT.parents[2]

# A definition's first line: at column 0, not a preprocessor line, not a
# declaration (no ';' at its end), with a '(' (the parameter list).
HEAD = re.compile(r"^[A-Za-z_][^;]*\(")


def functions(lines):
    """(name, first line, length) of each function body in a C file."""
    name, start = None, None
    for i, line in enumerate(lines, 1):
        if start is None:
            if HEAD.match(line) and not line.rstrip().endswith(";"):
                m = re.search(r"([A-Za-z_]\w*)\s*\(", line)
                name, head = (m.group(1) if m else "?"), i
            if line.startswith("{") and name:
                start = head
        elif line.startswith("}"):
            yield name, start, i - start + 1
            name, start = None, None


def main():
    bad = []
    for top in ("src", "sandbox"):
        for path in sorted((ROOT / top).rglob("*.c")):
            lines = path.read_text(errors="replace").split("\n")
            n = len(lines) - (1 if lines and lines[-1] == "" else 0)
            rel = path.relative_to(ROOT)
            if n > MAX_FILE:
                bad.append(f"{rel}: {n} lines (at most {MAX_FILE})")
            for name, start, length in functions(lines):
                if length > MAX_FUNC:
                    bad.append(f"{rel}:{start}: {name} is {length} lines (at most {MAX_FUNC})")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
