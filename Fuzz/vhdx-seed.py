#!/usr/bin/env python3
"""Writes a seed for the `vhdx` fuzz target (docs/fuzzing.md) from a VHDX file and, optionally, its parent.

Usage: Fuzz/vhdx-seed.py [--fix-checksums] OUT DISK.vhdx [PARENT.vhdx]

The seed lists the file sizes and the 4 KiB pages that are not zero (trailing zeros trimmed), as
Fuzz/Targets/FuzzVHDX.swift reads them; the target writes the parent as `parent.vhdx` beside the disk,
so a differencing disk's locator must name that file.

Only the pages of structures are kept: the header section (first MiB), the log, the BAT, the metadata
region and the sector bitmap blocks. Payload blocks are left out (they read as zeros): no check looks
at their bytes, and every record costs the target a write and the fuzzer mutations spent on data.
"""
import struct
import sys
import uuid

PAGE = 4096
MIB = 1 << 20
MAX_SIZE = 16 << 20
BAT_GUID = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
METADATA_GUID = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
FILE_PARAMETERS_GUID = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
LOGICAL_SECTOR_GUID = uuid.UUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
PRESENT = 6


def structure_ranges(image: bytes) -> list:
    """The (offset, length) of every structure of a well-formed VHDX, as [MS-VHDX] places them."""
    headers = [image[offset:offset + PAGE] for offset in (64 << 10, 128 << 10)]
    header = max(headers, key=lambda h: struct.unpack_from("<Q", h, 8)[0])
    log_length, log_offset = struct.unpack_from("<IQ", header, 68)
    ranges = [(0, MIB), (log_offset, log_length)]
    regions = {}
    table = image[192 << 10:256 << 10]
    for index in range(struct.unpack_from("<I", table, 8)[0]):
        guid, offset, length = struct.unpack_from("<16sQI", table, 16 + 32 * index)
        regions[uuid.UUID(bytes_le=guid)] = (offset, length)
        ranges.append((offset, length))
    metadata_offset, _ = regions[METADATA_GUID]
    items = {}
    for index in range(struct.unpack_from("<H", image, metadata_offset + 10)[0]):
        guid, offset, length = struct.unpack_from("<16sII", image, metadata_offset + 32 + 32 * index)
        items[uuid.UUID(bytes_le=guid)] = image[metadata_offset + offset:metadata_offset + offset + length]
    block_size, flags = struct.unpack_from("<II", items[FILE_PARAMETERS_GUID])
    sector_size = struct.unpack_from("<I", items[LOGICAL_SECTOR_GUID])[0]
    chunk_ratio = (1 << 23) * sector_size // block_size
    if flags & 2:
        bat_offset, bat_length = regions[BAT_GUID]
        for index in range(chunk_ratio, bat_length // 8, chunk_ratio + 1):
            entry = struct.unpack_from("<Q", image, bat_offset + 8 * index)[0]
            if entry & 7 == PRESENT:
                ranges.append(((entry >> 20) * MIB, MIB))
    return ranges


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
        ranges = structure_ranges(image)
        for offset in range(0, len(image), PAGE):
            if not any(start <= offset < start + length for start, length in ranges):
                continue
            page = image[offset:offset + PAGE].rstrip(b"\0")
            if page:
                seed += struct.pack("<BIH", index, offset, len(page)) + page
    open(out, "wb").write(seed)


if __name__ == "__main__":
    main()
