import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads)
struct SegmentRoundTripTests {
    @Test(arguments: [Codec.none, .lz4, .zlib(level: 6), .zstd(level: 1), .zstd(level: -5)])
    func roundTripsMixedExtents(codec: Codec) throws {
        let plan =
            smallPlan() + [
                PlannedExtent(
                    offset: 1 << 20, plain: DataKind.systemFiles.bytes(count: 4 * mebibyte), operation: .write),
                PlannedExtent(offset: 5 << 20, plain: [UInt8](repeating: 0, count: 4 * mebibyte), operation: .clear),
                PlannedExtent(
                    offset: 9 << 20, plain: DataKind.random.bytes(count: 4 * mebibyte, seed: 3), operation: .write),
            ]
        let header = SegmentHeader(
            targetID: SegmentHeader.targetID(for: "disks/vm1.vhd"), generation: 7, seq: 1234, flags: .lastOfGeneration)
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: codec))
        let segment = try buildSegment(plan, header: header, writer: writer)
        #expect(writer.extentCount == 0 && writer.encodedSize == 80, "finish empties the writer")

        let (reader, decoded) = try readAll(segment, diskSize: testDiskSize, decompressor: try FrameDecompressor())
        #expect(reader.header == header)
        #expect(reader.digest == SegmentFormat.trailerDigest(of: segment))
        #expect(reader.digest == segment.dropLast(16).withUnsafeBytes { Digest.xxh3_128($0) })
        #expect(reader.extents.map(\.offset) == plan.map(\.offset))
        #expect(reader.extents.map(\.length) == plan.map(\.plain.count))
        #expect(reader.extents.map(\.operation) == plan.map(\.operation))
        #expect(decoded == plan.map(\.plain))
        #expect(reader.plainBytes == plan.filter { $0.operation == .write }.reduce(0) { $0 + UInt64($1.plain.count) })
        let storedTotal = reader.extents.reduce(0) { $0 + $1.storedLength }
        #expect(segment.count == SegmentFormat.segmentSizeForTests(extents: plan.count, frames: storedTotal))

        // Incompressible bytes are stored raw; compressible ones shrink unless the codec is none.
        let random = try #require(reader.extents.last)
        #expect(random.codec == .none && random.storedLength == random.length)
        let text = reader.extents[0]
        if codec == .none {
            #expect(text.codec == .none)
        } else {
            #expect(text.codec.wireID == codec.wireID && text.storedLength < text.length)
        }
        for extent in reader.extents where extent.operation == .clear {
            #expect(extent.storedLength == 0)
        }
    }

    @Test func matchesTheDocumentedLayout() throws {
        // The writer's bytes equal those of the independent encoder for the same raw content.
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: .none))
        let first = DataKind.text.bytes(count: 1024)
        let second = DataKind.random.bytes(count: 512)
        try first.withUnsafeBytes { try writer.appendWrite(offset: 512, bytes: $0) }
        try writer.appendClear(offset: 4096, length: 4096)
        try second.withUnsafeBytes { try writer.appendWrite(offset: 8192, bytes: $0) }
        let header = SegmentHeader(targetID: 0xABCD, generation: 3, seq: 99, flags: .lastOfGeneration, resend: 2)
        let segment = writer.finish(header: header)

        var raw = RawSegment(flags: 1, targetID: 0xABCD, generation: 3, seq: 99)
        raw.resend = 2
        raw.appendRawWrite(offset: 512, first)
        raw.appendClear(offset: 4096, length: 4096)
        raw.appendRawWrite(offset: 8192, second)
        #expect(segment == raw.encoded())
        // A resend of the seq is read back as one: same extents, another header and so another digest.
        let reader = try SegmentReader(segment, diskSize: testDiskSize)
        #expect(reader.header == header)
    }

    @Test func anEmptySegmentCanEndAGeneration() throws {
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: .zstd(level: 1)))
        let header = SegmentHeader(targetID: 1, generation: 2, seq: 3, flags: .lastOfGeneration)
        let segment = writer.finish(header: header)
        #expect(segment.count == SegmentFormat.headerSize + SegmentFormat.trailerSize)
        let reader = try SegmentReader(segment, diskSize: 0)
        #expect(reader.header == header && reader.extents.isEmpty && reader.plainBytes == 0)
    }

    @Test func aWriterBuildsManySegmentsInARow() throws {
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: .lz4))
        let decompressor = try FrameDecompressor()
        var generator = SplitMix64(seed: 11)
        for seq in UInt64(1)...40 {
            var plan: [PlannedExtent] = []
            var offset = UInt64.random(in: 0..<64, using: &generator) * 512
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                let length = Int.random(in: 1...64, using: &generator) * 512
                let kind = DataKind.allCases.randomElement(using: &generator)!
                let operation: ExtentOperation = Bool.random(using: &generator) ? .write : .clear
                let plain =
                    operation == .write ? kind.bytes(count: length, seed: seq) : [UInt8](repeating: 0, count: length)
                plan.append(PlannedExtent(offset: offset, plain: plain, operation: operation))
                offset += UInt64(length) + UInt64.random(in: 0...3, using: &generator) * 512
            }
            let header = SegmentHeader(targetID: 5, generation: 1, seq: seq)
            let segment = try buildSegment(plan, header: header, writer: writer)
            let (reader, decoded) = try readAll(segment, diskSize: testDiskSize, decompressor: decompressor)
            #expect(reader.header.seq == seq)
            #expect(decoded == plan.map(\.plain), "seq \(seq)")
        }
    }

    @Test func targetIDIsTheXXH3OfTheName() {
        let name = "disks/vm1.vhd"
        let expected = Array(name.utf8).withUnsafeBytes { Digest.xxh3_64($0) }
        #expect(SegmentHeader.targetID(for: name) == expected)
        #expect(SegmentHeader.targetID(for: "disks/vm2.vhd") != expected)
    }

    @Test func decodeRefusesAWrongBufferOrIndex() throws {
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: .zstd(level: 1)))
        let segment = try buildSegment(
            smallPlan(), header: SegmentHeader(targetID: 0, generation: 1, seq: 1), writer: writer)
        let reader = try SegmentReader(segment, diskSize: testDiskSize)
        let decompressor = try FrameDecompressor()
        var small = [UInt8](repeating: 0, count: 4095)
        let wrongSize = #expect(throws: SegmentError.self) {
            try small.withUnsafeMutableBytes { try reader.decode(extentAt: 0, using: decompressor, into: $0) }
        }
        #expect(wrongSize?.code == .invalidArgument)
        let wrongIndex = #expect(throws: SegmentError.self) {
            try small.withUnsafeMutableBytes { try reader.decode(extentAt: 99, using: decompressor, into: $0) }
        }
        #expect(wrongIndex?.code == .invalidArgument)
    }
}
