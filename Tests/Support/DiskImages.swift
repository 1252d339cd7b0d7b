import Foundation
import RelayShared

/// An ext4 file system image of `size` bytes made by `mkfs.ext4 -d` over a few MiB of varied files:
/// random data, compressible text, files with long zero runs, many small files.
public func makeExt4Image(at path: String, size: UInt64, in directory: TemporaryDirectory, seed: UInt64) async throws {
    let tree = directory.file("tree-\(seed)")
    try FileManager.default.createDirectory(atPath: tree + "/small", withIntermediateDirectories: true)
    var random = SplitMix64(seed: seed)
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
    try await runOK("mkfs.ext4", ["-q", "-F", "-d", tree, path])
}
