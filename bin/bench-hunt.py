#!/usr/bin/env python3
"""`hunt` on EVTX beside `evtx_dump` and an older `hunt` (issue 15).

Copies EVTX files until the corpus reaches --mb megabytes, then runs each
tool over all copies, --runs times, interleaved, and prints per tool the
best CPU seconds (the child's utime+stime, from wait4), wall seconds,
records per CPU-second and peak RSS (ru_maxrss):

  evtx_dump  `evtx_dump -t 1 -o xml FILE` per copy (parse and write XML;
             `cargo install evtx --version 0.11.0 --root /tmp/evtxdump`)
  old hunt   `OLD hunt --format json DIR` (a build of an older commit)
  hunt -j N  `winrmdetect hunt -q --format json -j N DIR`

Usage (from the repository root, after `cargo build --release`):
  python3 bin/bench-hunt.py --from DIR [--mb 100] [--runs 3] [--jobs 1,2]
      [--bin target/release/winrmdetect] [--old PATH] [--evtx-dump PATH]

Records are counted from the new hunt's `summary` line (`events`).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def corpus(src, mb, into):
    files = sorted(
        os.path.join(d, f)
        for d, _, names in os.walk(src)
        for f in names
        if f.endswith(".evtx")
    )
    if not files:
        sys.exit(f"no .evtx under {src}")
    size, n = 0, 0
    while size < mb * 1_000_000:
        f = files[n % len(files)]
        dst = os.path.join(into, f"copy{n:05}.evtx")
        shutil.copyfile(f, dst)
        size += os.path.getsize(dst)
        n += 1
    return n, size


def timed(cmds):
    """Runs the commands one after another; CPU s, wall s, peak RSS MB, last stdout."""
    cpu, rss, out = 0.0, 0, b""
    start = time.monotonic()
    for cmd in cmds:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{cmd[:3]} failed: {status}")
        cpu += ru.ru_utime + ru.ru_stime
        rss = max(rss, ru.ru_maxrss)
    return cpu, time.monotonic() - start, rss / 1024, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="src", required=True)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--bin", default="target/release/winrmdetect")
    ap.add_argument("--old")
    ap.add_argument("--evtx-dump", dest="dump")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-hunt-")
    try:
        n, size = corpus(a.src, a.mb, tmp)
        copies = sorted(os.path.join(tmp, f) for f in os.listdir(tmp))
        tools = {}
        if a.dump:
            tools["evtx_dump -t 1"] = [[a.dump, "-t", "1", "-o", "xml", f] for f in copies]
        if a.old:
            tools["old hunt"] = [[a.old, "hunt", "--format", "json", tmp]]
        for j in a.jobs.split(","):
            tools[f"hunt -j {j}"] = [[a.bin, "hunt", "-q", "--format", "json", "-j", j, tmp]]
        best = {}
        records = None
        for _ in range(a.runs):
            for name, cmds in tools.items():
                cpu, wall, rss, out = timed(cmds)
                if name.startswith("hunt") and records is None:
                    last = out.decode().strip().splitlines()[-1]
                    records = json.loads(last)["events"]
                b = best.get(name)
                best[name] = (
                    min(cpu, b[0]) if b else cpu,
                    min(wall, b[1]) if b else wall,
                    max(rss, b[2]) if b else rss,
                )
        print(f"corpus: {n} copies, {size / 1e6:.0f} MB, {records} records; best of {a.runs}")
        print(f"{'tool':<16}{'CPU s':>8}{'wall s':>8}{'records/CPU-s':>15}{'peak RSS MB':>13}")
        for name, (cpu, wall, rss) in best.items():
            print(f"{name:<16}{cpu:>8.2f}{wall:>8.2f}{records / cpu:>15,.0f}{rss:>13.0f}")
    finally:
        shutil.rmtree(tmp)


main()
