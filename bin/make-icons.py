#!/usr/bin/env python3
"""Generate the Splunk app icons in splunk_app/static/.

Uses only the standard library (zlib + struct), no PIL. The design is
deliberately simple: a dark-blue tile with a lighter "arrow" band (left to
right = lateral movement). Output is deterministic, so re-running it does not
change the committed files.

Usage: python3 bin/make-icons.py [output_dir]
"""
import os
import struct
import sys
import zlib

DARK = (0x1A, 0x52, 0x76)
LIGHT = (0xF3, 0x9C, 0x12)
WHITE = (0xFF, 0xFF, 0xFF)

SIZES = {
    "appIcon.png": (36, 36, False),
    "appIcon_2x.png": (72, 72, False),
    "appIconAlt.png": (36, 36, True),
    "appIconAlt_2x.png": (72, 72, True),
    "appLogo.png": (160, 40, False),
    "appLogo_2x.png": (320, 80, False),
}


def png(width, height, pixel):
    """Encode an RGB PNG; pixel(x, y) returns an (r, g, b) tuple."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type: None
        for x in range(width):
            raw.extend(pixel(x, y))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def design(width, height, alt):
    bg, fg = (WHITE, DARK) if alt else (DARK, LIGHT)
    h = min(width, height)  # the arrow lives in the left square

    def pixel(x, y):
        # Right-pointing arrow in the left h x h square: shaft + head.
        cx, cy = x / h, y / h
        shaft = 0.15 <= cx <= 0.55 and 0.40 <= cy <= 0.60
        head = 0.55 <= cx <= 0.85 and abs(cy - 0.5) <= (0.85 - cx) * (0.30 / 0.30)
        if x < h and (shaft or head):
            return fg
        # Logos: a band under the text area to the right of the arrow.
        if width > h and x >= h and 0.45 <= y / height <= 0.55:
            return fg
        return bg

    return png(width, height, pixel)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "splunk_app", "static")
    os.makedirs(out, exist_ok=True)
    for name, (w, h, alt) in SIZES.items():
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(design(w, h, alt))
        print("wrote %s (%dx%d)" % (os.path.normpath(path), w, h))


if __name__ == "__main__":
    main()
