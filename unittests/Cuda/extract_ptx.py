#!/usr/bin/env python3
"""Writes the PTX inside a gpu.binary (mlir-opt ... gpu-module-to-binary
{format=isa} output) to a file.

Usage: extract_ptx.py IN.mlir OUT.ptx
"""
import re
import sys


def unescape(text):
    """Undoes MLIR's string escapes: \\XX (hex), \\\\ and \\"."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in '\\"':
            out += nxt.encode()
            i += 2
        else:
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
    return bytes(out)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract_ptx.py IN.mlir OUT.ptx")
    text = open(sys.argv[1], encoding="utf-8").read()
    found = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', text)
    if len(found) != 1:
        sys.exit(f"{sys.argv[1]}: expected one gpu.binary assembly, "
                 f"found {len(found)}")
    with open(sys.argv[2], "wb") as out:
        out.write(unescape(found[0]))


if __name__ == "__main__":
    main()
