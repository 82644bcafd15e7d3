#!/usr/bin/env python3
"""Per-file counts from cargo-mutants outcome files, as a Markdown table.

    python3 bin/mutants-summary.py mutants.out/outcomes.json [more.json ...]

A later file's outcome for the same mutant replaces an earlier one's (a
`cargo mutants --iterate` run after new tests were added).
"""
import collections
import json
import sys

KINDS = {"CaughtMutant": "caught", "MissedMutant": "missed", "Timeout": "timeout", "Unviable": "unviable"}


def main(paths):
    latest = {}
    for path in paths:
        with open(path) as f:
            for o in json.load(f)["outcomes"]:
                mutant = o["scenario"].get("Mutant") if isinstance(o["scenario"], dict) else None
                if mutant:
                    latest[mutant["name"]] = (mutant["file"], KINDS.get(o["summary"], o["summary"]))
    table = collections.defaultdict(collections.Counter)
    for file, kind in latest.values():
        table[file][kind] += 1
    cols = ["caught", "timeout", "missed", "unviable"]
    print("| file | mutants | " + " | ".join(cols) + " |")
    print("|---|---:|" + "---:|" * len(cols))
    total = collections.Counter()
    for file in sorted(table):
        c = table[file]
        total.update(c)
        print(f"| `{file}` | {sum(c.values())} | " + " | ".join(str(c[k]) for k in cols) + " |")
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[k]) for k in cols) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
