"""Draws the Loopscope logo (a loop arrow inside a lens) as PNG files.

Run once when the design changes: python3 make_logo.py
"""

import math
import struct
import zlib


def _png(path, pixels, size):
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def draw(size):
    blue = (32, 96, 192)
    orange = (240, 140, 32)
    rows = []
    c = (size - 1) / 2.0
    r_out, r_in = 0.47 * size, 0.36 * size
    ss = 4  # supersampling
    for y in range(size):
        row = []
        for x in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(ss):
                for sx in range(ss):
                    px = x + (sx + 0.5) / ss - 0.5 - c
                    py = y + (sy + 0.5) / ss - 0.5 - c
                    d = math.hypot(px, py)
                    ang = math.atan2(py, px)
                    col = None
                    if r_in <= d <= r_out and not (-0.35 < ang < 0.25):
                        col = blue  # the ring, with a gap: a loop
                    # arrow head at the gap
                    ax, ay = px - r_out * 0.88, py + 0.02 * size
                    if abs(ax) < 0.16 * size and -0.02 * size < ay < 0.16 * size - abs(ax):
                        col = blue
                    if d < 0.16 * size:
                        col = orange  # the nest in the middle
                    if col:
                        for ch in range(3):
                            acc[ch] += col[ch]
                        acc[3] += 255
            n = ss * ss
            a = acc[3] / n
            if a > 0:
                k = 255.0 / acc[3]
                row += [int(acc[0] * k), int(acc[1] * k), int(acc[2] * k), int(a)]
            else:
                row += [0, 0, 0, 0]
        rows.append(row)
    return rows


if __name__ == "__main__":
    for s in (32, 64):
        _png(f"logo-{s}x{s}.png", draw(s), s)
