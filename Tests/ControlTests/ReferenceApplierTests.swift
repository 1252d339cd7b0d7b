import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads) struct ReferenceApplierTests {
    static let target = try! TargetName("disks/vm1.vhd")
    static let diskSize: UInt64 = 8 << 20

    /// A segment of `writes` (offset, bytes) and `clears` (offset, length), in disk order.
    static func segment(
        seq: UInt64, generation: UInt64 = 1, target: TargetName = target,
        _ extents: [(UInt64, [UInt8]?, Int)]
    ) throws -> [UInt8] {
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: .zstd(level: 1)))
        for (offset, bytes, length) in extents {
            if let bytes {
                try bytes.withUnsafeBytes { try writer.appendWrite(offset: offset, bytes: $0) }
            } else {
                try writer.appendClear(offset: offset, length: length)
            }
        }
        return writer.finish(header: SegmentHeader(targetID: target.segmentTargetID, generation: generation, seq: seq))
    }

    static func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next() % 7) }
    }

    /// Segments applied in seq order give the bytes of applying their extents in that order: later
    /// writes win, clears zero.
    @Test func appliesInOrderLikeAModel() throws {
        let directory = try TemporaryDirectory()
        let applier = try ReferenceApplier(path: directory.file("target"), target: Self.target, diskSize: Self.diskSize)
        var model = [UInt8](repeating: 0, count: Int(Self.diskSize))
        let a = Self.pattern(1 << 20, seed: 1)
        let b = Self.pattern(4096, seed: 2)
        let segments = [
            try Self.segment(seq: 1, [(0, a, a.count)]),
            try Self.segment(seq: 2, [(512, b, b.count), (1 << 20, nil, 8192)]),
            try Self.segment(seq: 3, generation: 2, [(0, nil, 1024), (4 << 20, b, b.count)]),
        ]
        model.replaceSubrange(0..<a.count, with: a)
        model.replaceSubrange(512..<(512 + b.count), with: b)
        model.replaceSubrange((1 << 20)..<((1 << 20) + 8192), with: repeatElement(0, count: 8192))
        model.replaceSubrange(0..<1024, with: repeatElement(0, count: 1024))
        model.replaceSubrange((4 << 20)..<((4 << 20) + b.count), with: b)
        for segment in segments { try applier.apply(segment) }
        #expect(applier.appliedSeq == 3)
        #expect(try applier.read(ByteRange(offset: 0, length: Self.diskSize)) == model)
    }

    @Test func outOfOrderForeignOrCorruptSegmentsChangeNothing() throws {
        let directory = try TemporaryDirectory()
        let applier = try ReferenceApplier(path: directory.file("target"), target: Self.target, diskSize: Self.diskSize)
        let data = Self.pattern(4096, seed: 3)
        #expect(throws: ControlError.self) { try applier.apply(try Self.segment(seq: 2, [(0, data, data.count)])) }
        let other = try TargetName("disks/other.vhd")
        #expect(throws: ControlError.self) {
            try applier.apply(try Self.segment(seq: 1, target: other, [(0, data, data.count)]))
        }
        var corrupt = try Self.segment(seq: 1, [(0, data, data.count)])
        corrupt[100] ^= 1
        #expect(throws: SegmentError.self) { try applier.apply(corrupt) }
        try applier.apply(try Self.segment(seq: 1, generation: 3, [(0, data, data.count)]))
        #expect(throws: ControlError.self) {
            try applier.apply(try Self.segment(seq: 2, generation: 2, [(0, data, data.count)]))
        }
        #expect(applier.appliedSeq == 1)
        #expect(try applier.read(ByteRange(offset: 0, length: 4096)) == data)
        #expect(try applier.read(ByteRange(offset: 4096, length: 4096)) == [UInt8](repeating: 0, count: 4096))
    }
}
