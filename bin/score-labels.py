#!/usr/bin/env python3
"""Recall and precision of `winrmdetect hunt` on labelled recordings (issue 17).

Reads a data directory laid out as the team's `../shared/data` is
(`labels.json` and `csv/<dataset>.csv.gz`; it is not shipped with the
project) and runs `hunt -q --format json` on every dataset. For each it
prints the alerts and hops, and how many of the events its labels expect
(`expected_behaviours` selectors) got an alert; for the benign look-alikes
its labels name inside positive datasets (`hard_negatives_inside`), how
many got one. The totals line sums them per dataset category: alerts and
hops on `hard_negative` datasets are what precision is about.

An event is matched to an alert by its record id (`EventRecordID`). A
selector's `st` is a substring of `source`, `code` the EventCode, `host` a
prefix of `Computer`, and each of `f` a regular expression searched in the
field (ASCII case aside).

Usage (from the repository root, after `cargo build --release`):
  python3 bin/score-labels.py [--data ../shared/data]
      [--bin target/release/winrmdetect] [-- extra hunt arguments]
"""
import argparse
import collections
import csv
import gzip
import json
import re
import subprocess
import sys


def selected(rows, sel):
    """Record ids of the rows a label selector picks."""
    out = set()
    for r in rows:
        if sel.get("st") and sel["st"].lower() not in (r.get("source") or "").lower():
            continue
        if sel.get("code") and r.get("EventCode") != sel["code"]:
            continue
        host = (r.get("Computer") or r.get("host") or "").lower()
        if sel.get("host") and not host.startswith(sel["host"].lower()):
            continue
        fields = sel.get("f") or {}
        if any(not re.search(v, r.get(f) or "", re.I) for f, v in fields.items()):
            continue
        out.add(r.get("EventRecordID") or r.get("RecordNumber"))
    return out


def hunt(binary, path, extra):
    """Record ids of the alerts, and the number of alerts and hops."""
    out = subprocess.run(
        [binary, "hunt", "-q", "--format", "json", *extra, path],
        capture_output=True, text=True, check=False,
    ).stdout
    alerted, alerts, hops = set(), 0, 0
    for line in out.splitlines():
        o = json.loads(line)
        if o["kind"] == "alert":
            alerted.add(o.get("record_id"))
            alerts += 1
        elif o["kind"] == "hop":
            hops += 1
    return alerted, alerts, hops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--bin", default="target/release/winrmdetect")
    ap.add_argument("extra", nargs="*", help="more hunt arguments (after --)")
    a = ap.parse_args()
    csv.field_size_limit(sys.maxsize)
    labels = json.load(open(f"{a.data}/labels.json", encoding="utf-8"))
    total = collections.Counter()
    for name, lab in sorted(labels.items()):
        path = f"{a.data}/csv/{name}.csv.gz"
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            rows = list(csv.DictReader(f))
        alerted, alerts, hops = hunt(a.bin, path, a.extra)
        cat = lab["category"]
        want = [selected(rows, b["selector"]) for b in lab.get("expected_behaviours", [])]
        benign = [selected(rows, b["selector"]) for b in lab.get("hard_negatives_inside", [])]
        hit = sum(len(s & alerted) for s in want)
        need = sum(len(s) for s in want)
        wrong = sum(len(s & alerted) for s in benign)
        total[f"{cat} alerts"] += alerts
        total[f"{cat} hops"] += hops
        if cat != "hard_negative":
            total["expected events"] += need
            total["expected events alerted"] += hit
        total["look-alikes alerted"] += wrong
        print(f"{name:48} {cat:22} alerts {alerts:4}  hops {hops}  expected {hit}/{need}"
              + (f"  look-alikes alerted {wrong}" if benign else ""))
    print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(total.items())))


if __name__ == "__main__":
    main()
