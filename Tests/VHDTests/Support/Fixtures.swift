import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Every byte of `disk`, read in 4 MiB pieces as the client reads.
func readAll(_ disk: any VirtualDisk) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: Int(disk.virtualSize))
    let piece = 4 << 20
    try bytes.withUnsafeMutableBytes { buffer in
        for start in stride(from: 0, to: buffer.count, by: piece) {
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<min(start + piece, buffer.count)])
            try disk.read(into: part, at: UInt64(start))
        }
    }
    return bytes
}

/// The first offsets of non-zero bytes that no extent covers (empty when the extents cover all data).
/// `extents` must be sorted and disjoint.
func uncoveredNonZeroBytes(_ bytes: [UInt8], _ extents: [ByteRange]) -> [Int] {
    var gaps: [Range<Int>] = []
    var position = 0
    for extent in extents {
        gaps.append(position..<Int(extent.offset))
        position = Int(extent.end)
    }
    gaps.append(position..<bytes.count)
    return gaps.flatMap { gap in bytes[gap].indices.filter { bytes[$0] != 0 }.prefix(10) }.prefix(10).map { $0 }
}

/// Checks the `VirtualDisk` contract for extents: sorted, disjoint, not touching, inside the disk.
func extentsAreNormalized(_ extents: [ByteRange], within size: UInt64) -> Bool {
    zip(extents, extents.dropFirst()).allSatisfy { $0.end < $1.offset }
        && extents.allSatisfy { $0.length > 0 && $0.end <= size }
}

/// `count` bytes of `SplitMix64(seed:)`.
func seededBytes(_ seed: UInt64, _ count: Int) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return generator.bytes(count)
}
