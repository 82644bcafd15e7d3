#!/usr/bin/env python3
"""Rewrites tests/differential/intended.tsv from a fresh recording.

Usage (from the repository root):
  WINRMDETECT_DIFF_RECORD=/tmp/now.tsv cargo test --test integration differential
  python3 bin/record-intended.py /tmp/now.tsv

Every output that differs from 553877b.tsv is listed with a reason: the
reason already given for that exact digest, else the reason of the issue
that changed it (issue 13's, by mode). Review the diff before committing.
"""
import sys

DIR = "tests/differential/"


def read(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        out[(f[0], f[1])] = (f[2], f[3], f[4] if len(f) > 4 else "")
    return out


R_STREAM = ("issue 14: hosts short and lower-case in risk_object, target_host and messages; CIM "
            "fields dest, src, src_ip, dest_ip, user, process, process_name, parent_process_name added")
R_CORR = ("issue 14: hops carry CIM src, dest, user and lm_risk_added; events of hops carry the CIM "
          "fields; hosts in one spelling")
R_MAP = "issue 14: the map phase forwards the same events (hosts in one spelling downstream)"
R_CLI = ("issue 15: hunt's new report: the 120-column table with grouping, chains and a summary; "
         "JSON lines with kinds alert/hop/chain/warning/summary and ISO 8601 times; CSV on stdout "
         "is the alerts only (one header; hops and chains in --output-dir)")
R_NEW = "issue 13: a fixture added (a technique other than WinRM/WMI, or a hard negative)"


def reason(key, base):
    _, mode = key
    if key not in base:
        return R_NEW
    if mode == "winrmdetect phase=map":
        return R_MAP
    if mode.startswith("winrmdetect correlate"):
        return R_CORR
    if mode.startswith("winrmdetect") or mode in ("scan", "scan --all"):
        return R_STREAM
    return R_CLI


def main():
    base = read(DIR + "553877b.tsv")
    old = read(DIR + "intended.tsv")
    now = read(sys.argv[1])
    lines = []
    for key, (size, digest, _) in sorted(now.items()):
        if key in base and base[key][:2] == (size, digest):
            continue
        why = old[key][2] if key in old and old[key][:2] == (size, digest) else reason(key, base)
        lines.append("\t".join([key[0], key[1], size, digest, why]))
    header = "# input\tmode\tbytes\tsha256\treason (an output that differs from 553877b on purpose)\n"
    with open(DIR + "intended.tsv", "w", encoding="utf-8") as f:
        f.write(header + "".join(l + "\n" for l in lines))
    print(f"{len(lines)} intended differences")


main()
