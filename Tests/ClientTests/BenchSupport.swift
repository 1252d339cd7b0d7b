import Foundation
import RelayShared
import TestSupport

/// A disk held in memory whose allocated extents the test chooses; unallocated bytes read as zeros.
/// Stands in for `DiskImage.open` so the benchmark's tests need no image files.
struct MemoryDisk: VirtualDisk {
    let path = "memory.vhd"
    let format = DiskFormat.dynamic
    let bytes: [UInt8]
    let extents: [ByteRange]

    var virtualSize: UInt64 { UInt64(bytes.count) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        let start = Int(offset)
        bytes.withUnsafeBytes { all in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[start..<start + buffer.count]))
        }
    }

    func allocatedExtents() throws -> [ByteRange] { extents }
}

/// Deterministic, compressible bytes shaped like text and metadata: lines built from a small
/// vocabulary chosen by a fixed-seed generator, so every run and every codec sees the same input.
func compressibleBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    let words = [
        "block", "inode", "extent", "journal", "superblock", "bitmap", "usr", "share", "doc",
        "copyright", "license", "the", "of", "and", "0x", "README", "changelog", "debian",
    ].map { Array($0.utf8) }
    var generator = SplitMix64(seed: seed)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 32)
    while bytes.count < count {
        let state = generator.next()
        bytes += words[Int(state >> 59) % words.count]
        bytes.append((state >> 40) & 7 == 0 ? 0x0A : 0x20)
        if (state >> 32) & 15 == 0 { bytes += Array(String(state >> 44, radix: 16).utf8) }
    }
    return Array(bytes.prefix(count))
}
