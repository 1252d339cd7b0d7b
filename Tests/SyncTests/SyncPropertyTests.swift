import Foundation
import RelayShared
import TestSupport
import Testing

/// Random raw disks, random changes, many generations, random block sizes, codecs and segment sizes:
/// after every generation the oracle fed the enqueued segments equals the disk.
@Suite struct SyncPropertyTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomChangesOverManyGenerations(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let harness = try await SyncHarness()
        let source = harness.directory.file("disk.img")
        // Sizes that are not whole blocks or MiB (raw images are whole sectors).
        let size = (2 << 20) + Int(random.next() % (6 << 20)) / 512 * 512
        var disk = [UInt8](repeating: 0, count: size)
        let blockSize = [4096, 16384, 65536][Int(random.next() % 3)]
        let codec = [Codec.zstd(level: 1), .zlib(level: 1), .lz4, .none][Int(random.next() % 4)]
        var options = SyncOptions(
            blockSize: blockSize, codec: codec, threads: 2, connections: 2,
            segmentPlainBytes: 4 << 20, maxInFlightBytes: 32 << 20)
        var lastSeq: UInt64 = 0
        for generation in 1...8 as ClosedRange<UInt64> {
            // A few runs of random bytes, of one repeated byte (compressible), and of zeros.
            for _ in 0..<Int(random.next() % 6) {
                let length = 1 + Int(random.next() % UInt64(min(size, 600_000)))
                let offset = Int(random.next() % UInt64(size - length + 1))
                let bytes: [UInt8]
                switch random.next() % 3 {
                case 0: bytes = random.bytes(length)
                case 1: bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: random.next() | 1), count: length)
                default: bytes = [UInt8](repeating: 0, count: length)
                }
                disk.replaceSubrange(offset..<(offset + length), with: bytes)
            }
            try write(disk, to: source)
            options.full = random.next() % 8 == 0
            let summary = try await harness.sync(source, options)
            #expect(summary.generation == generation && summary.firstSeq == lastSeq + 1)
            #expect(summary.full == (generation == 1 || options.full))
            lastSeq = summary.lastSeq
            try await harness.applyEnqueued(virtualSize: UInt64(size))
            try harness.expectOracleMatches(source)
        }
        #expect(harness.messages.count == Int(lastSeq))
    }
}
