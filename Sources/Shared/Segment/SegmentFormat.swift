/// The binary segment format, version 1. Every integer is little-endian; offsets are from the start
/// of the segment.
///
/// ```
/// header, 64 bytes
///    0   8  magic          "VHDRSEG" followed by a zero byte
///    8   2  version        1
///   10   2  flags          bit 0: last segment of its generation; other bits must be zero
///   12   4  extent count   0...maxExtents (0 is legal: a generation with no change still ends)
///   16   8  target id      XXH3-64 of the target name "container/blob" (SegmentHeader.targetID(for:)), 0 = none
///   24   8  generation
///   32   8  seq
///   40   8  segment size   bytes in the whole segment, trailer included; must equal the buffer's size
///   48   8  plain bytes    sum of the write extents' lengths
///   56   8  resend         0 on a seq's first send; a resend of the seq puts another value here, so that
///                           its bytes, digest and temp blob differ from the segment it replaces
///                           (docs/replication-contract.md, "Segment rows and poison")
/// extent table, extent count × 40 bytes, sorted by disk offset, non-overlapping (adjacent is fine)
///    0   8  disk offset    512-aligned
///    8   4  length         512-aligned, 512...maxExtentLength
///   12   1  operation      1 write, 2 clear
///   13   1  codec          0 raw, 1 raw deflate, 2 zstd, 3 lz4 (Codec.wireID); 0 for clear
///   14   2  reserved       zero
///   16   4  stored length  frame bytes: write raw = length, write compressed = 1...length-1, clear = 0
///   20   4  reserved       zero
///   24  16  plain digest   XXH3-128 of the plain bytes (high 64 bits, then low); zero for clear
/// frames, one per write extent in table order, contiguous, nothing between or after them
/// trailer, 16 bytes
///    0  16  segment digest XXH3-128 of every byte before the trailer (high 64 bits, then low)
/// ```
///
/// A frame that would not shrink is stored raw, so a stored length never exceeds the plain length and a
/// segment is never larger than its plain data plus its table: the size checks need no codec bounds.
/// The segment digest catches corruption in transit; the plain digests catch a codec that decodes to the
/// wrong bytes. Neither authenticates: the storage account's access control does.
public enum SegmentFormat {
    public static let version: UInt16 = 1
    /// Disk offsets and lengths are whole 512-byte sectors, as page blobs require.
    public static let sectorSize = 512
    /// The largest extent, write or clear: one Put Page call.
    public static let maxExtentLength = 4 << 20
    public static let maxExtents = 1024
    /// The largest segment, trailer included: bounds what a worker downloads and holds per segment.
    public static let maxSegmentSize = 64 << 20

    public static let headerSize = 64
    public static let extentEntrySize = 40
    public static let trailerSize = 16

    static let magic: [UInt8] = Array("VHDRSEG\0".utf8)

    /// Byte offsets of the header's fields.
    enum Header {
        static let magic = 0
        static let version = 8
        static let flags = 10
        static let extentCount = 12
        static let targetID = 16
        static let generation = 24
        static let seq = 32
        static let segmentSize = 40
        static let plainBytes = 48
        static let resend = 56
    }

    /// Byte offsets of an extent entry's fields, from the start of the entry.
    enum Entry {
        static let offset = 0
        static let length = 8
        static let operation = 12
        static let codec = 13
        static let reserved16 = 14
        static let storedLength = 16
        static let reserved32 = 20
        static let digestHigh = 24
        static let digestLow = 32
    }

    /// The segment digest stored in `segment`'s trailer, unverified (the control message carries it);
    /// nil when `segment` is too short to hold a header and trailer.
    public static func trailerDigest(of segment: [UInt8]) -> XXH128? {
        segment.withUnsafeBytes { trailerDigest(of: $0) }
    }

    static func trailerDigest(of segment: UnsafeRawBufferPointer) -> XXH128? {
        guard segment.count >= headerSize + trailerSize else { return nil }
        let trailer = segment.count - trailerSize
        return XXH128(
            high: UInt64(littleEndian: segment.loadUnaligned(fromByteOffset: trailer, as: UInt64.self)),
            low: UInt64(littleEndian: segment.loadUnaligned(fromByteOffset: trailer + 8, as: UInt64.self)))
    }

    /// The size of a segment with `extentCount` entries and `framesSize` bytes of frames.
    static func segmentSize(extentCount: Int, framesSize: Int) -> Int {
        headerSize + extentCount * extentEntrySize + framesSize + trailerSize
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Stores `value` little-endian at `offset`; the caller has sized the buffer for the format.
    func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
