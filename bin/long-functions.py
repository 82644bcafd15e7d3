#!/usr/bin/env python3
"""Lists functions in src/ longer than a limit (default 80 lines), tests
excluded: `python3 bin/long-functions.py [limit]`. Exit status 1 when
any is found. Brace matching on lines; string and char literals holding
braces are skipped well enough for this code base."""
import pathlib
import re
import sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 80
FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?fn\s+(\w+)")


def strip(line):
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(?:\\.|[^'\\])'", "''", line)
    return line.split("//")[0]


def functions(path):
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        # A test module at the top level ends the file's own code.
        if re.match(r"^#\[cfg\(test\)\]", lines[i]) and i + 1 < len(lines) \
                and lines[i + 1].startswith("mod "):
            return
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, j, opened = 0, i, False
        while j < len(lines):
            s = strip(lines[j])
            depth += s.count("{") - s.count("}")
            opened = opened or "{" in s
            if opened and depth <= 0:
                break
            if not opened and s.rstrip().endswith(";"):
                break
            j += 1
        yield m.group(1), i + 1, j - i + 1
        i += 1


long = []
for p in sorted(pathlib.Path("src").rglob("*.rs")):
    for name, line, n in functions(p):
        if n > LIMIT:
            long.append((n, f"{p}:{line}", name))
for n, at, name in sorted(long, reverse=True):
    print(f"{n:4} {at} {name}")
sys.exit(1 if long else 0)
