import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// The scanner's batch buffers: handed back once their segment is built, they carry later batches, and
/// a reused buffer holds only its new batch's bytes.
@Suite struct ChangeScannerTests {
    @Test func aRecycledBufferCarriesALaterBatchWithOnlyItsBytes() throws {
        let directory = try TemporaryDirectory()
        let mib = 1 << 20
        var random = SplitMix64(seed: 11)
        let bytes = random.bytes(12 * mib)
        let path = directory.file("disk.raw")
        try SystemFile.create(path).write(bytes, at: 0)
        let disk = try DiskImage.open(path)
        let header = Manifest.Header(
            blockSize: 64 << 10, virtualSize: disk.virtualSize, generation: 1, sourceID: UUID(), targetID: 1)
        let scanner = ChangeScanner(
            disk: disk, allocated: try disk.allocatedExtents(), baseline: .full(pages: [], manifest: nil),
            next: try Manifest.create(directory.file("next.manifest"), header: header), startBlock: 0,
            startIndex: 0, segmentPlainBytes: 4 * mib, counters: SyncCounters())

        let first = try #require(try scanner.nextBatch())
        let firstBuffer = first.data
        #expect(first.data.bytes == Array(bytes[..<(4 * mib)]))
        scanner.recycle(first.data)
        #expect(firstBuffer.bytes.isEmpty)
        // The second batch's buffer was taken when the first was handed out: only the third can reuse it.
        let second = try #require(try scanner.nextBatch())
        #expect(second.data !== firstBuffer)
        #expect(second.data.bytes == Array(bytes[(4 * mib)..<(8 * mib)]))
        let third = try #require(try scanner.nextBatch())
        #expect(third.data === firstBuffer)
        #expect(third.isLast)
        #expect(third.data.bytes == Array(bytes[(8 * mib)...]))
        #expect(third.extents.map(\.dataOffset) == [0])
        #expect(try scanner.nextBatch() == nil)
    }
}
