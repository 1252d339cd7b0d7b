import RelayShared
import TestSupport
import Testing

/// Hand-made hostile segments, each with a valid trailer, each refused with the right code, field and offset.
@Suite(.ownThreads)
struct SegmentHostileTests {
    static func base() -> RawSegment {
        var raw = RawSegment(targetID: 9, generation: 2, seq: 5)
        raw.appendRawWrite(offset: 0, DataKind.text.bytes(count: 1024))
        raw.appendClear(offset: 4096, length: 4096)
        raw.appendRawWrite(offset: 8192, DataKind.random.bytes(count: 512))
        return raw
    }

    static let entry0 = SegmentFormat.headerSize
    static let entry1 = SegmentFormat.headerSize + SegmentFormat.extentEntrySize
    static let entry2 = SegmentFormat.headerSize + 2 * SegmentFormat.extentEntrySize

    /// One hostile case: a name, how to damage the valid base, and the expected refusal.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let damage: @Sendable (inout RawSegment) -> Void
        let code: SegmentError.Code
        let field: String
        let offset: Int
        var diskSize: UInt64 = testDiskSize
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "bad magic", damage: { $0.magic[0] = 0x51 }, code: .badMagic, field: "header.magic", offset: 0),
        Case(
            name: "version 2", damage: { $0.version = 2 }, code: .unsupportedVersion, field: "header.version", offset: 8
        ),
        Case(
            name: "unknown flag", damage: { $0.flags = 0x8000 }, code: .unknownFlags, field: "header.flags", offset: 10),
        Case(
            name: "huge extent count", damage: { $0.extentCount = .max }, code: .tooManyExtents,
            field: "header.extentCount", offset: 12),
        Case(
            name: "count 1024 with a short table", damage: { $0.extentCount = 1024 }, code: .truncated,
            field: "extentTable", offset: 64),
        // The table now takes 40 bytes of the frames, which shifts the last frame past the trailer.
        Case(
            name: "one entry more than present", damage: { $0.extentCount = 4 }, code: .truncated,
            field: "extent[2].frame", offset: entry2 + 80 + 1024),
        Case(
            name: "declared size too large", damage: { $0.segmentSize = 1 << 40 }, code: .sizeMismatch,
            field: "header.segmentSize", offset: 40),
        Case(
            name: "plain bytes lie", damage: { $0.plainBytes = 4096 }, code: .plainBytesMismatch,
            field: "header.plainBytes", offset: 48),
        Case(
            name: "bytes between frames and trailer", damage: { $0.frames += [0, 0] }, code: .sizeMismatch,
            field: "frames", offset: entry2 + 40 + 1536),
        Case(
            name: "unknown operation 0", damage: { $0.entries[1].operation = 0 }, code: .unknownOperation,
            field: "extent[1].operation", offset: entry1 + 12),
        Case(
            name: "unknown operation 3", damage: { $0.entries[0].operation = 3 }, code: .unknownOperation,
            field: "extent[0].operation", offset: entry0 + 12),
        Case(
            name: "bad codec id", damage: { $0.entries[0].codec = 9 }, code: .unknownCodec, field: "extent[0].codec",
            offset: entry0 + 13),
        Case(
            name: "clear with a codec", damage: { $0.entries[1].codec = 2 }, code: .unknownCodec,
            field: "extent[1].codec", offset: entry1 + 13),
        Case(
            name: "entry reserved 16", damage: { $0.entries[2].reserved16 = 1 }, code: .reservedNotZero,
            field: "extent[2].reserved", offset: entry2 + 14),
        Case(
            name: "entry reserved 32", damage: { $0.entries[2].reserved32 = 1 }, code: .reservedNotZero,
            field: "extent[2].reserved", offset: entry2 + 20),
        Case(
            name: "misaligned offset", damage: { $0.entries[2].offset = 8193 }, code: .misaligned,
            field: "extent[2].offset", offset: entry2),
        Case(
            name: "misaligned length", damage: { $0.entries[1].length = 4000 }, code: .lengthOutOfRange,
            field: "extent[1].length", offset: entry1 + 8),
        Case(
            name: "zero length", damage: { $0.entries[1].length = 0 }, code: .lengthOutOfRange,
            field: "extent[1].length", offset: entry1 + 8),
        Case(
            name: "length over 4 MiB", damage: { $0.entries[1].length = 0xFFFF_FE00 }, code: .lengthOutOfRange,
            field: "extent[1].length", offset: entry1 + 8),
        Case(
            name: "offset + length overflows", damage: { $0.entries[2].offset = UInt64.max - 511 },
            code: .offsetOverflow, field: "extent[2].offset", offset: entry2, diskSize: .max),
        Case(
            name: "past the disk end", damage: { $0.entries[2].offset = testDiskSize }, code: .beyondDiskEnd,
            field: "extent[2].offset", offset: entry2),
        Case(
            name: "overlapping extents", damage: { $0.entries[1].offset = 512 }, code: .overlap,
            field: "extent[1].offset", offset: entry1),
        Case(
            name: "extents out of order", damage: { $0.entries[2].offset = 0 }, code: .overlap,
            field: "extent[2].offset", offset: entry2),
        Case(
            name: "raw frame shorter than its length", damage: { $0.entries[0].storedLength = 512 },
            code: .storedLengthInvalid, field: "extent[0].storedLength", offset: entry0 + 16),
        Case(
            name: "compressed frame as long as its length", damage: { $0.entries[0].codec = 2 },
            code: .storedLengthInvalid, field: "extent[0].storedLength", offset: entry0 + 16),
        Case(
            name: "stored length over the bound", damage: { $0.entries[0].storedLength = 8 << 20 },
            code: .storedLengthInvalid, field: "extent[0].storedLength", offset: entry0 + 16),
        Case(
            name: "clear with a frame", damage: { $0.entries[1].storedLength = 512 }, code: .storedLengthInvalid,
            field: "extent[1].storedLength", offset: entry1 + 16),
        Case(
            name: "clear with a digest", damage: { $0.entries[1].digest.low = 1 }, code: .reservedNotZero,
            field: "extent[1].digest", offset: entry1 + 24),
        Case(
            name: "frame past the end",
            damage: {
                $0.entries[2].length = 4096
                $0.entries[2].storedLength = 4096
            }, code: .truncated, field: "extent[2].frame", offset: entry2 + 40 + 1024),
    ]

    @Test(arguments: cases)
    func refusesHostileSegment(_ hostile: Case) throws {
        var raw = Self.base()
        _ = try SegmentReader(raw.encoded(), diskSize: testDiskSize)  // the base itself is valid
        hostile.damage(&raw)
        let error = #expect(throws: SegmentError.self) { try SegmentReader(raw.encoded(), diskSize: hostile.diskSize) }
        #expect(error?.code == hostile.code)
        #expect(error?.field == hostile.field)
        #expect(error?.offset == hostile.offset)
        #expect(error?.description.contains("byte offset \(hostile.offset)") == true)
    }

    @Test func refusesASegmentOverTheSizeLimit() {
        var body = [UInt8](repeating: 0, count: SegmentFormat.maxSegmentSize + 512 - 16)
        var raw = RawSegment()
        raw.segmentSize = UInt64(body.count + 16)
        let header = raw.encoded().prefix(64)
        body.replaceSubrange(0..<64, with: header)
        let error = #expect(throws: SegmentError.self) { try SegmentReader(withTrailer(body), diskSize: testDiskSize) }
        #expect(error?.code == .segmentTooLarge)
    }

    @Test func refusesATamperedSegmentByItsDigest() {
        var segment = Self.base().encoded()
        segment[100] ^= 0x10
        let error = #expect(throws: SegmentError.self) { try SegmentReader(segment, diskSize: testDiskSize) }
        #expect(error?.code == .segmentDigestMismatch)
        #expect(error?.offset == segment.count - 16)
    }

    @Test func refusesAFrameThatDecodesToOtherBytes() throws {
        var raw = Self.base()
        raw.frames[3] ^= 1
        let reader = try SegmentReader(raw.encoded(), diskSize: testDiskSize)
        var output = [UInt8](repeating: 0, count: 1024)
        let error = #expect(throws: SegmentError.self) {
            try output.withUnsafeMutableBytes {
                try reader.decode(extentAt: 0, using: try FrameDecompressor(), into: $0)
            }
        }
        #expect(error?.code == .plainDigestMismatch)
        #expect(error?.field == "extent[0].digest")
    }

    /// A zstd frame of 8 KiB plain bytes put in an extent that declares 4 KiB: the frame's own declared
    /// size no longer matches, and decoding is refused before any byte is written past 4 KiB.
    @Test func refusesAFrameThatExpandsBeyondItsExtent() throws {
        let plain = DataKind.zeros.bytes(count: 8192)
        let frame = try compressFrame(plain, with: try FrameCompressor(codec: .zstd(level: 1)))
        var raw = RawSegment()
        raw.entries = [
            RawSegment.Entry(
                offset: 0, length: 4096, operation: 1, codec: 2, storedLength: UInt32(frame.count),
                digest: plain.prefix(4096).withUnsafeBytes { Digest.xxh3_128($0) })
        ]
        raw.frames = frame
        let reader = try SegmentReader(raw.encoded(), diskSize: testDiskSize)
        var output = [UInt8](repeating: 0, count: 4096)
        let error = #expect(throws: SegmentError.self) {
            try output.withUnsafeMutableBytes {
                try reader.decode(extentAt: 0, using: try FrameDecompressor(), into: $0)
            }
        }
        #expect(error?.code == .frameCorrupt)
        #expect(error?.offset == 64 + 40)
    }
}
