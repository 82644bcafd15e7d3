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
      [--dense] [--keep DIR]

--keep DIR writes the corpus into DIR, keeps it and runs nothing (for perf).

--dense builds the corpus as a live log is laid out instead of copying
whole files: 20 MB logs made only of the sources' full chunks (at least
three quarters used), repeated, their records numbered anew and the chunk
and file checksums recomputed. A small capture holds one or two full chunks
and many empty ones; a log that has rolled over holds only full chunks.

Records are counted from the new hunt's `summary` line (`events`).
"""
import argparse
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

CHUNK = 65536
FILE_HEADER = 4096
DENSE_FILE_MB = 20


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


def full_chunks(src):
    """The chunks of the .evtx files under src at least three quarters used."""
    out = []
    for f in sorted(glob.glob(os.path.join(src, "**", "*.evtx"), recursive=True)):
        data = open(f, "rb").read()
        for at in range(FILE_HEADER, len(data) - CHUNK + 1, CHUNK):
            c = data[at : at + CHUNK]
            free = struct.unpack_from("<I", c, 48)[0]
            if c[:8] == b"ElfChnk\0" and 0.75 * CHUNK <= free <= CHUNK:
                out.append(c)
    if not out:
        sys.exit(f"no full chunk in the .evtx files under {src}")
    return out


def renumbered(chunk, first):
    """The chunk with its records numbered from `first`; checksums recomputed."""
    c = bytearray(chunk)
    free = struct.unpack_from("<I", c, 48)[0]
    at, n = 512, 0
    while at + 24 <= free and c[at : at + 4] == b"**\0\0":
        struct.pack_into("<Q", c, at + 8, first + n)
        at += struct.unpack_from("<I", c, at + 4)[0]
        n += 1
    last = first + max(n, 1) - 1
    struct.pack_into("<QQQQ", c, 8, first, last, first, last)
    struct.pack_into("<I", c, 52, zlib.crc32(c[512:free]))
    struct.pack_into("<I", c, 124, zlib.crc32(c[:120] + c[128:512]))
    return bytes(c), n


def dense_corpus(src, mb, into):
    chunks = full_chunks(src)
    per_file = DENSE_FILE_MB * 1_000_000 // CHUNK
    size, k = 0, 0
    for n in range(max(1, round(mb / DENSE_FILE_MB))):
        body, record = [], 1
        for _ in range(per_file):
            c, got = renumbered(chunks[k % len(chunks)], record)
            body.append(c)
            record += got
            k += 1
        head = bytearray(FILE_HEADER)
        struct.pack_into("<8sQQQIHHHH", head, 0, b"ElfFile\0", 0, per_file - 1, record, 128, 1, 3, FILE_HEADER, per_file)
        struct.pack_into("<I", head, 124, zlib.crc32(head[:120]))
        dst = os.path.join(into, f"dense{n:05}.evtx")
        with open(dst, "wb") as f:
            f.write(head)
            f.writelines(body)
        size += os.path.getsize(dst)
    return n + 1, size


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
    ap.add_argument("--dense", action="store_true")
    ap.add_argument("--keep")
    a = ap.parse_args()
    build = dense_corpus if a.dense else corpus
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        n, size = build(a.src, a.mb, a.keep)
        print(f"corpus: {n} files, {size / 1e6:.0f} MB in {a.keep}")
        return
    tmp = tempfile.mkdtemp(prefix="bench-hunt-")
    try:
        n, size = build(a.src, a.mb, tmp)
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
