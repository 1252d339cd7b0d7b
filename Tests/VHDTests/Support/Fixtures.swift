import Foundation
import Testing
@testable import RelayShared

/// A deterministic byte generator (SplitMix64), so fixtures differ in content but not between runs.
struct SeededBytes {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(count + 8)
        while result.count < count {
            withUnsafeBytes(of: next()) { result.append(contentsOf: $0) }
        }
        return Array(result.prefix(count))
    }
}

/// An ext4 file system image of `size` bytes made by `mkfs.ext4 -d` over a few MiB of varied files:
/// random data, compressible text, files with long zero runs, many small files.
func makeExt4Image(at path: String, size: UInt64, in directory: TemporaryDirectory, seed: UInt64) throws {
    let tree = directory.file("tree-\(seed)")
    try FileManager.default.createDirectory(atPath: tree + "/small", withIntermediateDirectories: true)
    var random = SeededBytes(seed: seed)
    try write(random.bytes(1_500_000), to: tree + "/random.bin")
    let line = Array("vhd-relay replicates a virtual hard disk into a page blob, seed \(seed)\n".utf8)
    try write(Array((0..<8000).map { _ in line }.joined()), to: tree + "/text.txt")
    var sparse = random.bytes(100_000)
    sparse += [UInt8](repeating: 0, count: 700_000)
    sparse += random.bytes(50_000)
    try write(sparse, to: tree + "/zero-runs.bin")
    for index in 0..<40 {
        try write(random.bytes(Int(random.next() % 9000)), to: tree + "/small/file-\(index)")
    }
    try SystemFile.create(path).truncate(to: size)
    try run("mkfs.ext4", ["-q", "-F", "-d", tree, path])
}

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

/// `count` bytes of `SeededBytes(seed:)`.
func seededBytes(_ seed: UInt64, _ count: Int) -> [UInt8] {
    var generator = SeededBytes(seed: seed)
    return generator.bytes(count)
}
