"""Checks an image grid written by `st-run sample --output GRID.png`.

    check_grid.py GRID.png IMAGES.idx COUNT COLUMNS SCALE [--completions]

The PNG is decoded here (zlib and the five PNG row filters, grey 8-bit),
independently of libpng. The grid must hold COUNT cells of the IDX file's
image size (COLUMNS per row, 2 pixels of white padding, enlarged SCALE
times); with --completions the cells are (original, completion) pairs, the
original must be the IDX image and the completion's top half its top half."""
import struct
import sys
import zlib


def decode_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, idat, header = 8, b"", None
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + size]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + size
    width, height, depth, color = header[:4]
    assert (depth, color) == (8, 0), f"expected 8-bit grey, got {depth}/{color}"
    raw, rows, prev = zlib.decompress(idat), [], bytes(width)
    for y in range(height):
        line = raw[y * (width + 1):(y + 1) * (width + 1)]
        kind, cur = line[0], bytearray(line[1:])
        for x in range(width):
            a = cur[x - 1] if x else 0
            b, c = prev[x], prev[x - 1] if x else 0
            if kind == 1:
                cur[x] = (cur[x] + a) & 255
            elif kind == 2:
                cur[x] = (cur[x] + b) & 255
            elif kind == 3:
                cur[x] = (cur[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[x] = (cur[x] + pred) & 255
        rows.append(bytes(cur))
        prev = cur
    return width, height, rows


def main():
    grid, idx, count, columns, scale = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    completions = "--completions" in sys.argv
    blob = open(idx, "rb").read()
    n, h, w = struct.unpack(">III", blob[4:16])
    images = [blob[16 + i * h * w:16 + (i + 1) * h * w] for i in range(n)]
    cells = 2 * count if completions else count
    per_row = 2 * columns if completions else columns
    grid_rows = (cells + per_row - 1) // per_row
    width, height, rows = decode_png(grid)
    expect = ((per_row * (w + 2) + 2) * scale, (grid_rows * (h + 2) + 2) * scale)
    assert (width, height) == expect, f"grid {width}x{height}, expected {expect}"

    def cell(i):
        top, left = 2 + (i // per_row) * (h + 2), 2 + (i % per_row) * (w + 2)
        return bytes(rows[(top + y) * scale][(left + x) * scale]
                     for y in range(h) for x in range(w))

    assert rows[0][0] == 255, "padding is not white"
    if completions:
        half = (h // 2) * w
        for i in range(count):
            original, completion = cell(2 * i), cell(2 * i + 1)
            assert original == images[i], f"cell {2 * i} is not image {i}"
            assert completion[:half] == images[i][:half], f"completion {i}: top half differs"
    print(f"{grid}: {width}x{height}, {cells} cells of {h}x{w}")


main()
