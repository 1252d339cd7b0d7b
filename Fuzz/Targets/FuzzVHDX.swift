import Foundation
import RelayShared

/// `vhdx`: the bytes describe a VHDX (and optionally its parent) as sparse files, which are opened as
/// `relay-client inspect` and `sync` open one: file identifier, both headers, region tables, log, metadata
/// items, BAT, sector bitmaps, parent locator and the parent search, then the extents and reads of the
/// data they point at.
///
/// A VHDX is at least 4 MiB of mostly zeros with its structures at whole MiB, so the input lists only the
/// bytes that are not zero (`Fuzz/vhdx-seed.py` makes one from VHDX files):
/// - byte 0, flags: bit 0 rewrites the CRC-32C of both headers and both region tables of each file after
///   the bytes are placed, so that mutations reach what lies behind the checksums; bit 1 writes the
///   second file, `parent.vhdx`, beside `disk.vhdx` (differencing seeds name it in their locator);
/// - then each file's size, 4 bytes little-endian, at most `maximumFileSize`;
/// - then records to the end: file (1 byte, bit 0), offset (4 bytes LE), length (2 bytes LE), the bytes.
///   Bytes past the file's size are dropped.
enum FuzzVHDX {
    static let paths = [FuzzScratch.directory + "/disk.vhdx", FuzzScratch.directory + "/parent.vhdx"]
    /// Bounds the work of one input: the log check and reads of sparse zeros scale with the file.
    static let maximumFileSize: UInt32 = 16 << 20

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 9 else { return }
        let flags = bytes[0]
        let fileCount = flags & 2 != 0 ? 2 : 1
        var files: [Int32] = []
        for (index, path) in paths.enumerated() {
            unlink(path)
            guard index < fileCount else { break }
            let claimed = bytes.loadUnaligned(fromByteOffset: 1 + 4 * index, as: UInt32.self).littleEndian
            let size = min(claimed, maximumFileSize)
            let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0, ftruncate(fd, off_t(size)) == 0 else { fatalError("relay-fuzz: cannot write \(path)") }
            files.append(fd)
        }
        defer { files.forEach { close($0) } }
        var position = 9
        while position + 7 <= bytes.count {
            let file = Int(bytes[position] & 1)
            let offset = bytes.loadUnaligned(fromByteOffset: position + 1, as: UInt32.self).littleEndian
            let length = Int(bytes.loadUnaligned(fromByteOffset: position + 5, as: UInt16.self).littleEndian)
            let data = UnsafeRawBufferPointer(rebasing: bytes[(position + 7)..<min(position + 7 + length, bytes.count)])
            position += 7 + data.count
            guard file < files.count, offset < maximumFileSize else { continue }
            let fileSize = UInt32(lseek(files[file], 0, SEEK_END))
            let kept = Int(min(UInt32(data.count), fileSize > offset ? fileSize - offset : 0))
            _ = pwrite(files[file], data.baseAddress, kept, off_t(offset))
        }
        if flags & 1 != 0 { files.forEach(fixChecksums) }

        guard let disk = try? DiskImage.open(paths[0]) else { return }
        _ = try? DiskInfo(disk: disk)
        guard let extents = try? disk.allocatedExtents() else { return }
        FuzzVHD.readSome(disk, extents: extents)
    }

    /// One buffer for every input, as `FuzzVHD.buffer`.
    nonisolated(unsafe) static var structure = [UInt8](repeating: 0, count: VHDXRegionTable.size)

    /// Sets the CRC-32C field of each header and region table to the checksum of its bytes.
    static func fixChecksums(_ fd: Int32) {
        let places =
            VHDXHeader.offsets.map { ($0, VHDXHeader.size) }
            + VHDXRegionTable.offsets.map { ($0, VHDXRegionTable.size) }
        for (offset, size) in places {
            structure.withUnsafeMutableBytes { buffer in
                guard pread(fd, buffer.baseAddress, size, off_t(offset)) == size else { return }
                var checksum = VHDXCopies.checksum(UnsafeRawBufferPointer(rebasing: buffer[..<size])).littleEndian
                _ = pwrite(fd, &checksum, 4, off_t(offset) + 4)
            }
        }
    }
}
