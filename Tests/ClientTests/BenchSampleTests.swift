import RelayBench
import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads)
struct BenchSampleTests {
    /// A 1 MiB disk with three allocated extents; each byte encodes its own disk offset, so a
    /// misplaced read shows.
    private func patternedDisk() -> MemoryDisk {
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 / 512 &+ $0) }
        return MemoryDisk(
            bytes: bytes,
            extents: [
                ByteRange(offset: 0, length: 64 << 10),
                ByteRange(offset: 256 << 10, length: 100 << 10),
                ByteRange(offset: 900 << 10, length: 124 << 10),
            ])
    }

    /// The allocated bytes of `disk` laid end to end, as the sample must hold them.
    private func allocatedBytes(_ disk: MemoryDisk) -> [UInt8] {
        disk.extents.flatMap { disk.bytes[Int($0.offset)..<Int($0.end)] }
    }

    @Test func loadsAllAllocatedBytesInOrderCutIntoFrames() throws {
        let disk = patternedDisk()
        let sample = try DiskSample.load(from: disk, frameSize: 40 << 10, maxBytes: 1 << 20)
        let expected = allocatedBytes(disk)
        #expect(!sample.isPartial)
        #expect(sample.allocatedBytes == UInt64(expected.count))
        #expect(Array(sample.bytes) == expected)
        // 288 KiB in frames of 40 KiB: seven whole frames and one of 8 KiB.
        #expect(sample.frames.count == 8)
        #expect(sample.frames.dropLast().allSatisfy { $0.count == 40 << 10 })
        #expect(sample.frames.last?.count == 8 << 10)
        #expect(sample.frames.first?.lowerBound == 0 && sample.frames.last?.upperBound == expected.count)
    }

    @Test func samplesWholeFramesSpreadOverTheAllocatedBytesWhenTheyExceedTheLimit() throws {
        let disk = patternedDisk()
        let expected = allocatedBytes(disk)
        let frameSize = 32 << 10
        let sample = try DiskSample.load(from: disk, frameSize: frameSize, maxBytes: 100 << 10)
        #expect(sample.isPartial)
        #expect(sample.frames.count == 3)
        #expect(sample.bytes.count == 3 * frameSize)
        // Frame k starts at allocated-byte offset k * total / 3, spanning extents where it must.
        for (index, frame) in sample.frames.enumerated() {
            let start = index * expected.count / 3
            #expect(Array(sample.bytes[frame]) == Array(expected[start..<start + frameSize]))
        }
    }

    @Test func refusesADiskWithoutAllocatedBytes() {
        let disk = MemoryDisk(bytes: [UInt8](repeating: 0, count: 4096), extents: [])
        #expect(throws: BenchError(.noData, "memory.vhd: the disk has no allocated extents")) {
            try DiskSample.load(from: disk, frameSize: 1024, maxBytes: 4096)
        }
    }

    @Test func refusesALimitSmallerThanOneFrame() {
        #expect(throws: BenchError.self) {
            try DiskSample.load(from: patternedDisk(), frameSize: 64 << 10, maxBytes: 32 << 10)
        }
    }
}
