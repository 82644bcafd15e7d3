#!/usr/bin/env python3
"""Writes the seed corpora of the csv_body, getinfo and evtx_chunk targets
from the project's own fixtures (tests/fixtures; MIT and CC0, see
tests/fixtures/PROVENANCE.md):  python3 fuzz/make-seeds.py"""
import csv, io, json, os, re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frames(path):
    """(metadata, body) of every frame of a recorded SCP input."""
    data = open(path, "rb").read()
    out = []
    while data:
        m = re.match(rb"chunked 1\.0,(\d+),(\d+)\n", data)
        if not m:
            break
        ml, bl = int(m.group(1)), int(m.group(2))
        at = m.end()
        out.append((data[at:at + ml], data[at + ml:at + ml + bl]))
        data = data[at + ml + bl:]
    return out


def head_rows(path, rows):
    """The header and the first `rows` rows of a CSV, re-quoted as Splunk does."""
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for i, row in enumerate(r):
            if i > rows:
                break
            w.writerow(row)
    return buf.getvalue().encode()


# csv_body: a mode byte, then a body.
bodies = []
for name in sorted(os.listdir(os.path.join(FIX, "scp"))):
    p = os.path.join(FIX, "scp", name)
    if name.endswith(".csv"):
        bodies.append((name, open(p, "rb").read()))
    elif name.endswith(".input"):
        for i, (_, body) in enumerate(frames(p)):
            if body and len(body) < 8192:
                bodies.append((f"{name}.{i}", body))
for name in sorted(os.listdir(FIX)):
    if name.endswith(".csv"):
        bodies.append((name, head_rows(os.path.join(FIX, name), 12)))
for name, body in bodies:
    write("csv_body", f"{name}.detect", b"\x00" + body)
    write("csv_body", f"{name}.correlate", b"\x9f" + body)
write("csv_body", "alerts_only", b"\x16" + bodies[-1][1])
write("csv_body", "evidence_only", b"\x40" + bodies[-1][1])

# getinfo: recorded getinfo metadata, with our arguments; argument lists.
for name in sorted(os.listdir(os.path.join(FIX, "scp"))):
    if name.endswith(".input"):
        meta = frames(os.path.join(FIX, "scp", name))[0][0]
        write("getinfo", f"{name}.json", meta)
        m = json.loads(meta)
        m["searchinfo"]["args"] = ["correlate=true", "window=300", "min_score=40"]
        write("getinfo", f"{name}.correlate.json", json.dumps(m).encode())
for i, args in enumerate([
    "alerts_only=true\nmin_score=50",
    "correlate=true\nwindow=120\nchain_window=3600\nmax_evidence=1000\nsummary=true",
    "detect=false\nlocal=true",
    "phase=map",
]):
    write("getinfo", f"args{i}.txt", args.encode())

# evtx_chunk: each chunk of the bundled EVTX files, trailing zeros dropped
# (the target pads them back).
for name in sorted(os.listdir(os.path.join(FIX, "evtx"))):
    if not name.endswith(".evtx"):
        continue
    data = open(os.path.join(FIX, "evtx", name), "rb").read()[4096:]
    for i in range(0, min(len(data), 4 * 65536), 65536):
        chunk = data[i:i + 65536].rstrip(b"\x00")
        if chunk:
            write("evtx_chunk", f"{name}.{i // 65536}", chunk)
