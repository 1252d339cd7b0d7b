import RelayShared
import Testing

/// A second, independent encoder of the segment format, written from the format's documentation, so
/// tests can forge any field (hostile segments) and check the writer against the documented layout.
struct RawSegment {
    struct Entry {
        var offset: UInt64
        var length: UInt32
        var operation: UInt8
        var codec: UInt8
        var reserved16: UInt16 = 0
        var storedLength: UInt32
        var reserved32: UInt32 = 0
        var digest: XXH128
    }

    var magic: [UInt8] = Array("VHDRSEG\0".utf8)
    var version: UInt16 = 1
    var flags: UInt16 = 0
    /// nil: the number of entries.
    var extentCount: UInt32?
    var targetID: UInt64 = 0
    var generation: UInt64 = 1
    var seq: UInt64 = 1
    /// nil: the encoded size.
    var segmentSize: UInt64?
    /// nil: the sum of the write entries' lengths.
    var plainBytes: UInt64?
    var reserved: UInt64 = 0
    var entries: [Entry] = []
    var frames: [UInt8] = []

    /// A raw write of `plain` at `offset`, appended to the entries and frames.
    mutating func appendRawWrite(offset: UInt64, _ plain: [UInt8]) {
        entries.append(
            Entry(
                offset: offset, length: UInt32(plain.count), operation: 1, codec: 0,
                storedLength: UInt32(plain.count), digest: plain.withUnsafeBytes { Digest.xxh3_128($0) }))
        frames += plain
    }

    mutating func appendClear(offset: UInt64, length: UInt32) {
        entries.append(
            Entry(
                offset: offset, length: length, operation: 2, codec: 0, storedLength: 0, digest: XXH128(high: 0, low: 0)
            ))
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        let size = 64 + entries.count * 40 + frames.count + 16
        out += magic
        put(version)
        put(flags)
        put(extentCount ?? UInt32(entries.count))
        put(targetID)
        put(generation)
        put(seq)
        put(segmentSize ?? UInt64(size))
        put(plainBytes ?? entries.filter { $0.operation == 1 }.reduce(0) { $0 + UInt64($1.length) })
        put(reserved)
        for entry in entries {
            put(entry.offset)
            put(entry.length)
            put(entry.operation)
            put(entry.codec)
            put(entry.reserved16)
            put(entry.storedLength)
            put(entry.reserved32)
            put(entry.digest.high)
            put(entry.digest.low)
        }
        out += frames
        return withTrailer(out)
    }
}

/// `body` followed by its XXH3-128, as the trailer holds it.
func withTrailer(_ body: [UInt8]) -> [UInt8] {
    let digest = body.withUnsafeBytes { Digest.xxh3_128($0) }
    var out = body
    withUnsafeBytes(of: digest.high.littleEndian) { out += $0 }
    withUnsafeBytes(of: digest.low.littleEndian) { out += $0 }
    return out
}

/// Replaces the trailer of `segment` with the digest of the bytes before it.
func recomputingTrailer(_ segment: [UInt8]) -> [UInt8] {
    withTrailer(Array(segment.dropLast(16)))
}

/// Parses `segment` and decodes every extent; returns the decoded bytes per extent.
func readAll(_ segment: [UInt8], diskSize: UInt64, decompressor: FrameDecompressor) throws(SegmentError) -> (
    SegmentReader, [[UInt8]]
) {
    let reader = try SegmentReader(segment, diskSize: diskSize)
    var decoded: [[UInt8]] = []
    for (index, extent) in reader.extents.enumerated() {
        var plain = [UInt8](repeating: 0xEE, count: extent.length)
        let result = plain.withUnsafeMutableBytes { output in
            Result { () throws(SegmentError) in try reader.decode(extentAt: index, using: decompressor, into: output) }
        }
        try result.get()
        decoded.append(plain)
    }
    return (reader, decoded)
}

/// The extents a test puts in a segment, with their expected plain bytes (zeros for clear).
struct PlannedExtent {
    var offset: UInt64
    var plain: [UInt8]
    var operation: ExtentOperation
}

func buildSegment(_ plan: [PlannedExtent], header: SegmentHeader, writer: SegmentWriter) throws -> [UInt8] {
    for extent in plan {
        switch extent.operation {
        case .write: try extent.plain.withUnsafeBytes { try writer.appendWrite(offset: extent.offset, bytes: $0) }
        case .clear: try writer.appendClear(offset: extent.offset, length: extent.plain.count)
        }
    }
    return writer.finish(header: header)
}

/// A small segment with every kind of extent: compressible and incompressible writes, clears, adjacency.
func smallPlan() -> [PlannedExtent] {
    [
        PlannedExtent(offset: 0, plain: DataKind.text.bytes(count: 4096, seed: 1), operation: .write),
        PlannedExtent(offset: 4096, plain: DataKind.random.bytes(count: 1024, seed: 2), operation: .write),
        PlannedExtent(offset: 8192, plain: [UInt8](repeating: 0, count: 8192), operation: .clear),
        PlannedExtent(offset: 65536, plain: DataKind.zeros.bytes(count: 2048), operation: .write),
        PlannedExtent(offset: 67584, plain: DataKind.systemFiles.bytes(count: 1536), operation: .write),
    ]
}

let testDiskSize: UInt64 = 1 << 30

extension SegmentFormat {
    /// The documented size: header, table, frames, trailer.
    static func segmentSizeForTests(extents: Int, frames: Int) -> Int {
        headerSize + extents * extentEntrySize + frames + trailerSize
    }
}
