import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads)
struct SegmentWriterTests {
    func writer() throws -> SegmentWriter { SegmentWriter(compressor: try FrameCompressor(codec: .zstd(level: 1))) }

    func appendWrite(_ writer: SegmentWriter, offset: UInt64, count: Int) throws(SegmentError) {
        let bytes = [UInt8](repeating: 7, count: count)
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(SegmentError) in try writer.appendWrite(offset: offset, bytes: buffer) }
        }
        try result.get()
    }

    @Test(arguments: [
        (UInt64(100), 512, SegmentError.Code.misaligned),
        (0, 0, .lengthOutOfRange),
        (0, 511, .lengthOutOfRange),
        (0, 1000, .lengthOutOfRange),
        (0, 4 * mebibyte + 512, .lengthOutOfRange),
        (UInt64.max - 511, 512, .offsetOverflow),
    ])
    func refusesAnInvalidWrite(offset: UInt64, count: Int, code: SegmentError.Code) throws {
        let writer = try writer()
        let error = #expect(throws: SegmentError.self) { try appendWrite(writer, offset: offset, count: count) }
        #expect(error?.code == code)
        #expect(error?.offset == nil, "writer errors concern arguments, not segment bytes")
        #expect(writer.extentCount == 0, "a refused extent leaves the writer unchanged")
    }

    @Test func refusesOverlapAndDisorder() throws {
        let writer = try writer()
        try appendWrite(writer, offset: 4096, count: 4096)
        let overlap = #expect(throws: SegmentError.self) { try writer.appendClear(offset: 7680, length: 512) }
        #expect(overlap?.code == .overlap)
        let before = #expect(throws: SegmentError.self) { try appendWrite(writer, offset: 0, count: 512) }
        #expect(before?.code == .overlap)
        try writer.appendClear(offset: 8192, length: 512)  // adjacent is fine
        #expect(writer.extentCount == 2)
    }

    @Test func refusesTheExtentAfterTheLimit() throws {
        let writer = try writer()
        for index in 0..<SegmentFormat.maxExtents {
            try writer.appendClear(offset: UInt64(index) * 512, length: 512)
        }
        #expect(!writer.canAppend(length: 0))
        let error = #expect(throws: SegmentError.self) {
            try writer.appendClear(offset: UInt64(SegmentFormat.maxExtents) * 512, length: 512)
        }
        #expect(error?.code == .segmentFull)
        let segment = writer.finish(header: SegmentHeader(targetID: 0, generation: 1, seq: 1))
        #expect(try SegmentReader(segment, diskSize: testDiskSize).extents.count == SegmentFormat.maxExtents)
    }

    @Test func staysWithinTheMaximumSegmentSize() throws {
        // Incompressible 4 MiB writes are stored raw, so the size limit is reached after a known count.
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: .none))
        let plain = DataKind.random.bytes(count: SegmentFormat.maxExtentLength)
        var offset: UInt64 = 0
        while writer.canAppend(length: plain.count) {
            try plain.withUnsafeBytes { try writer.appendWrite(offset: offset, bytes: $0) }
            offset += UInt64(plain.count)
        }
        let error = #expect(throws: SegmentError.self) {
            try plain.withUnsafeBytes { try writer.appendWrite(offset: offset, bytes: $0) }
        }
        #expect(error?.code == .segmentFull)
        #expect(writer.encodedSize <= SegmentFormat.maxSegmentSize)
        #expect(writer.encodedSize + plain.count + SegmentFormat.extentEntrySize > SegmentFormat.maxSegmentSize)
        let segment = writer.finish(header: SegmentHeader(targetID: 0, generation: 1, seq: 1))
        #expect(try SegmentReader(segment, diskSize: testDiskSize).extents.count == 15)
    }
}
