import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// kill -9 of a process in the middle of page blob writes loses nothing it acknowledged, and leaves a
/// store that other processes keep using. The writer is `relay-store-probe write-pages`.
struct BlobKillTests {
    static let blob = BlobAddress(container: "disks", name: "killed.vhd")
    static let pageBytes = 4096
    static let blobSize: UInt64 = 1 << 30

    /// Page `index`'s content as the probe writes it: its number in the first 8 bytes, then a byte
    /// pattern of it.
    static func page(_ index: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: index &* 31 &+ 7), count: pageBytes)
        withUnsafeBytes(of: UInt64(index).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        return bytes
    }

    @Test func killingAWriterLosesNothingAcknowledged() async throws {
        let scratch = try TemporaryDirectory()
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let directory = scratch.path
        let parent = try await LocalBlobService(store: LocalStore(path: directory))
        try await parent.createContainer("disks")
        try await parent.createPageBlob(
            Self.blob, size: Self.blobSize, sequenceNumber: 0, metadata: [:], conditions: .none)

        let child = try ChildProcess(
            storeProbe,
            [
                "write-pages", "--store", directory, "--blob", "\(Self.blob)", "--page-bytes", String(Self.pageBytes),
                "--deadline", "60",
            ],
            outputPath: directory + "/child.out")
        // Let it acknowledge a few hundred writes, then kill it mid-stream.
        try await child.waitForLines(300, matching: { $0.hasPrefix("ack ") }, limit: .seconds(60))
        child.kill9()
        let status = await child.waitForExit(limit: .seconds(10))
        #expect(status == SIGKILL, "the probe ended before the kill: \(child.errorOutput())")
        let acknowledged = try Self.acknowledgements(child)
        #expect(acknowledged.count >= 300)

        // Every acknowledged page is there, with its bytes and its page range.
        let ranges = PageRangeSet(
            try await parent.pageRanges(Self.blob, range: nil, snapshot: nil, previousSnapshot: nil, conditions: .none)
                .pageRanges)
        for index in acknowledged {
            let offset = UInt64(index * Self.pageBytes)
            let data = try await parent.getBlob(
                Self.blob, range: ByteRange(offset: offset, length: UInt64(Self.pageBytes)), snapshot: nil,
                conditions: .none
            ).data
            #expect(data == Self.page(index), "page \(index) lost its bytes")
            #expect(
                ranges.intersection(PageRangeSet([ByteRange(offset: offset, length: UInt64(Self.pageBytes))])).ranges
                    == [ByteRange(offset: offset, length: UInt64(Self.pageBytes))], "page \(index) lost its range")
        }
        // The store still takes writes.
        try await parent.putPages(Self.blob, offset: 0, data: Self.page(0), checksum: nil, conditions: .none)
    }

    /// The indexes the probe acknowledged: complete `ack N` lines only (a kill may cut the last one).
    static func acknowledgements(_ probe: ChildProcess) throws -> [Int] {
        try probe.lines().compactMap { line in line.hasPrefix("ack ") ? Int(line.dropFirst(4)) : nil }
    }
}
