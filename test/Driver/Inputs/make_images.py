"""Writes synthetic grey images as an IDX file (gzip-compressed when OUT ends
in .gz), written here independently of ST's own IDX writer:

    make_images.py OUT COUNT HEIGHT WIDTH [--drop N]

Each image is one to three filled rectangles of random grey levels on a
black background (a seeded generator, so every run writes the same file);
--drop N leaves the last N pixel bytes out, making a truncated file."""
import gzip
import random
import struct
import sys

out, count, height, width = sys.argv[1], *map(int, sys.argv[2:5])
drop = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--drop" else 0
rng = random.Random(1)
pixels = bytearray()
for _ in range(count):
    image = bytearray(height * width)
    for _ in range(rng.randint(1, 3)):
        top, left = rng.randrange(height), rng.randrange(width)
        bottom = rng.randint(top + 1, height)
        right = rng.randint(left + 1, width)
        level = rng.choice([128, 192, 255])
        for y in range(top, bottom):
            image[y * width + left:y * width + right] = bytes([level]) * (right - left)
    pixels += image
data = struct.pack(">BBBBIII", 0, 0, 8, 3, count, height, width) + bytes(pixels)
if drop:
    data = data[:-drop]
with (gzip.open if out.endswith(".gz") else open)(out, "wb") as f:
    f.write(data)
