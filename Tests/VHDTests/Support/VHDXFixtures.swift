import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// A small dynamic VHDX written by qemu-img, for tests that damage it: 5 MiB + 3 sectors of seeded data,
/// six 1 MiB blocks, all present; with where its regions are and its current header.
struct VHDXSample {
    static let size = (5 << 20) + 1536

    var path: String
    var expected: [UInt8]
    var regions: VHDXRegionTable
    var header: VHDXHeader

    init(_ directory: TemporaryDirectory, name: String = "disk.vhdx") async throws {
        let image = directory.file("\(name).img")
        expected = seededBytes(5, Self.size)
        try write(expected, to: image)
        path = directory.file(name)
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=1M", image, path])
        let file = try SystemFile.openForReading(path)
        regions = try VHDXRegionTable.read(from: file).table
        header = try VHDXHeader.current(of: file).header
    }
}

/// The error `DiskImage.open` refuses `path` with, recording a test failure when it opens.
func vhdxOpenError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> VHDError? {
    #expect(throws: VHDError.self, sourceLocation: sourceLocation) { try DiskImage.open(path) }
}

func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: T.bitWidth / 8)
    bytes.setLittleEndian(value, at: 0)
    return bytes
}

func guidBytes(_ id: UUID) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 16)
    bytes.setMSGUID(id, at: 0)
    return bytes
}

/// Rewrites `bytes` at `field` of a CRC-32C protected structure (headers: 4 KiB, region tables:
/// 64 KiB) at each of `offsets` and fixes its checksum, so only the intended check fails.
func patchChecked(_ path: String, size: Int, at offsets: [UInt64], field: Int, with bytes: [UInt8]) throws {
    for offset in offsets {
        var structure = try SystemFile.openForReading(path).readExactly(size, at: offset)
        structure.replaceSubrange(field..<(field + bytes.count), with: bytes)
        structure.setLittleEndian(UInt32(0), at: 4)
        structure.setLittleEndian(CRC32C.checksum(structure), at: 4)
        try patch(path, at: offset, with: structure)
    }
}

func patchHeaders(_ path: String, at offsets: [UInt64] = VHDXHeader.offsets, field: Int, with bytes: [UInt8]) throws {
    try patchChecked(path, size: VHDXHeader.size, at: offsets, field: field, with: bytes)
}

func patchRegionTables(_ path: String, at offsets: [UInt64] = VHDXRegionTable.offsets, field: Int, with bytes: [UInt8])
    throws
{
    try patchChecked(path, size: VHDXRegionTable.size, at: offsets, field: field, with: bytes)
}

/// The absolute offsets of a metadata item's table entry and of its data.
func metadataItem(_ sample: VHDXSample, _ id: UUID) throws -> (entry: UInt64, data: UInt64) {
    let base = sample.regions.metadata.range.offset
    let table = try SystemFile.openForReading(sample.path).readExactly(VHDXMetadata.tableSize, at: base)
    let count = Int(table.littleEndian(UInt16.self, at: VHDXMetadata.Field.entryCount))
    for index in 0..<count {
        let entry = VHDXMetadata.Field.entries + 32 * index
        if table.msGUID(at: entry) == id {
            return (
                base + UInt64(entry),
                base + UInt64(table.littleEndian(UInt32.self, at: entry + VHDXMetadata.Field.entryOffset))
            )
        }
    }
    throw ToolFailure(message: "no metadata item \(id)")
}
