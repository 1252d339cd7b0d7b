#!/usr/bin/env python3
"""Writes a seed for the `vhdx` fuzz target (docs/fuzzing.md) from a VHDX file and, optionally, its parent.

Usage: Fuzz/vhdx-seed.py [--fix-checksums] OUT DISK.vhdx [PARENT.vhdx]

The seed lists the file sizes and the 4 KiB pages that are not zero (trailing zeros trimmed), as
Fuzz/Targets/FuzzVHDX.swift reads them; the target writes the parent as `parent.vhdx` beside the disk,
so a differencing disk's locator must name that file.
"""
import struct
import sys

PAGE = 4096
MAX_SIZE = 16 << 20


def main() -> None:
    arguments = sys.argv[1:]
    fix = arguments[:1] == ["--fix-checksums"]
    if fix:
        arguments = arguments[1:]
    out, files = arguments[0], arguments[1:]
    if not 1 <= len(files) <= 2:
        sys.exit(__doc__)
    images = [open(path, "rb").read() for path in files]
    for path, image in zip(files, images):
        if len(image) > MAX_SIZE:
            sys.exit(f"{path}: {len(image)} bytes, more than the target's {MAX_SIZE}")
    seed = bytearray([(1 if fix else 0) | (2 if len(images) == 2 else 0)])
    sizes = [len(image) for image in images] + [0] * (2 - len(images))
    seed += struct.pack("<II", *sizes)
    for index, image in enumerate(images):
        for offset in range(0, len(image), PAGE):
            page = image[offset:offset + PAGE].rstrip(b"\0")
            if page:
                seed += struct.pack("<BIH", index, offset, len(page)) + page
    open(out, "wb").write(seed)


if __name__ == "__main__":
    main()
