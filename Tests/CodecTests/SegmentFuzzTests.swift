import RelayShared
import TestSupport
import Testing

/// Damaged segments are refused with a typed error and never crash the reader; with the trailer digest
/// recomputed after the damage, the structural checks behind the digest must catch it instead.
@Suite(.ownThreads)
struct SegmentFuzzTests {
    static let codecs: [Codec] = [.none, .lz4, .zlib(level: 6), .zstd(level: 1)]

    func validSegment(_ codec: Codec) throws -> [UInt8] {
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: codec))
        return try buildSegment(
            smallPlan(), header: SegmentHeader(targetID: 42, generation: 3, seq: 17), writer: writer)
    }

    @Test(arguments: codecs)
    func everyTruncationIsRefused(codec: Codec) throws {
        let segment = try validSegment(codec)
        let decompressor = try FrameDecompressor()
        for cut in 0..<segment.count {
            #expect(throws: SegmentError.self, "cut at \(cut)") {
                try readAll(Array(segment.prefix(cut)), diskSize: testDiskSize, decompressor: decompressor)
            }
        }
        // Also with the declared size and trailer made consistent with the shorter buffer.
        for cut in stride(from: SegmentFormat.headerSize, to: segment.count - SegmentFormat.trailerSize, by: 1) {
            var body = Array(segment.prefix(cut))
            withUnsafeBytes(of: UInt64(cut + SegmentFormat.trailerSize).littleEndian) {
                body.replaceSubrange(40..<48, with: $0)
            }
            #expect(throws: SegmentError.self, "consistent cut at \(cut)") {
                try readAll(withTrailer(body), diskSize: testDiskSize, decompressor: decompressor)
            }
        }
    }

    @Test(arguments: codecs)
    func randomBitFlipsAreRefused(codec: Codec) throws {
        let segment = try validSegment(codec)
        let decompressor = try FrameDecompressor()
        var generator = SplitMix64(seed: 1000 + UInt64(codec.wireID))
        for round in 0..<3000 {
            var damaged = segment
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] ^=
                    1 << UInt8.random(in: 0...7, using: &generator)
            }
            if damaged == segment { continue }  // two flips of one bit cancel
            #expect(throws: SegmentError.self, "round \(round)") {
                try readAll(damaged, diskSize: testDiskSize, decompressor: decompressor)
            }
        }
    }

    /// Single-bit flips with a valid trailer, at every bit of the segment's header and table and at
    /// seeded positions in the frames. A flip may only be accepted where the format has no redundancy
    /// (identity fields, the last-of-generation flag, an extent's offset) or where it does not change
    /// the decoded bytes (unused bits of a frame); the decoded bytes must then still be the planned ones.
    @Test(arguments: codecs)
    func bitFlipsBehindAValidTrailerHitTheStructuralChecks(codec: Codec) throws {
        let segment = try validSegment(codec)
        let plan = smallPlan()
        let decompressor = try FrameDecompressor()
        let tableEnd = SegmentFormat.headerSize + plan.count * SegmentFormat.extentEntrySize
        let framesEnd = segment.count - SegmentFormat.trailerSize
        var generator = SplitMix64(seed: 77)
        let framePositions = (0..<400).map { _ in Int.random(in: tableEnd..<framesEnd, using: &generator) }
        var codes: Set<SegmentError.Code> = []
        for position in Array(0..<tableEnd) + framePositions {
            for bit in 0..<8 {
                var damaged = segment
                damaged[position] ^= 1 << bit
                do {
                    let (reader, decoded) = try readAll(
                        recomputingTrailer(damaged), diskSize: testDiskSize, decompressor: decompressor)
                    #expect(
                        Self.mayBeAccepted(position: position, bit: bit, tableEnd: tableEnd, plan: plan),
                        "flip of bit \(bit) at byte \(position) was accepted")
                    if position < SegmentFormat.headerSize || position >= tableEnd {
                        #expect(decoded == plan.map(\.plain))
                    }
                    #expect(reader.extents.count == plan.count)
                } catch {
                    codes.insert(error.code)
                    #expect(error.offset != nil && error.description.contains("byte offset"))
                }
            }
        }
        let structural: Set<SegmentError.Code> = [
            .badMagic, .unsupportedVersion, .unknownFlags, .reservedNotZero, .sizeMismatch, .tooManyExtents,
            .truncated, .unknownOperation, .unknownCodec, .plainBytesMismatch, .misaligned, .lengthOutOfRange,
            .storedLengthInvalid, .plainDigestMismatch, .overlap, .beyondDiskEnd,
        ]
        #expect(structural.isSubset(of: codes), "not exercised: \(structural.subtracting(codes))")
        if codec != .none { #expect(codes.contains(.frameCorrupt)) }
        #expect(!codes.contains(.segmentDigestMismatch), "the trailer was recomputed")
    }

    /// Where the format has no redundancy: target id, generation, seq, resend, the flag bit it defines, the
    /// extent offsets and clear lengths (checked only for alignment, order and bounds); and the frames,
    /// whose decoded bytes are verified instead.
    static func mayBeAccepted(position: Int, bit: Int, tableEnd: Int, plan: [PlannedExtent]) -> Bool {
        if position >= tableEnd { return true }
        if (16..<40).contains(position) || (56..<64).contains(position) || (position == 10 && bit == 0) { return true }
        guard position >= SegmentFormat.headerSize else { return false }
        let index = (position - SegmentFormat.headerSize) / SegmentFormat.extentEntrySize
        let field = (position - SegmentFormat.headerSize) % SegmentFormat.extentEntrySize
        return field < 8 || (plan[index].operation == .clear && field < 12)
    }
}
