import Foundation
import Testing

@testable import RelayShared

/// Snapshot Blob, reads of snapshots, deletion with snapshots and Get Page Ranges against a previous
/// snapshot, against every Blob backend.
struct BlobSnapshotConformanceTests {
    @Test(arguments: BlobBackends.all)
    func snapshotsAreReadableAndDoNotChange(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.service.createPageBlob(
            bed.blob, size: 64 << 10, sequenceNumber: 4, metadata: ["gen": "1"], conditions: .none)
        let first = randomBytes(8192)
        try await bed.service.putPages(bed.blob, offset: 0, data: first, checksum: nil, conditions: .none)
        let snapshot = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)
        #expect(snapshot.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z/) != nil)

        // Change the base in every way; the snapshot keeps data, ranges, size, metadata and sequence number.
        try await bed.write(9, at: 0, count: 4096)
        try await bed.service.clearPages(bed.blob, range: r(4096, 4096), conditions: .none)
        try await bed.write(7, at: 32768, count: 512)
        try await bed.service.setMetadata(bed.blob, ["gen": "2"], conditions: .none)
        try await bed.service.setSequenceNumber(bed.blob, .update(8), conditions: .none)
        try await bed.service.resizePageBlob(bed.blob, size: 128 << 10, conditions: .none)

        #expect(try await bed.read(0, 8192, snapshot: snapshot) == first)
        #expect(try await bed.read(32768, 512, snapshot: snapshot) == [UInt8](repeating: 0, count: 512))
        #expect(try await bed.ranges(snapshot: snapshot).pageRanges == [r(0, 8192)])
        let properties = try await bed.service.blobProperties(bed.blob, snapshot: snapshot, conditions: .none)
        #expect(properties.size == 64 << 10)
        #expect(properties.metadata == ["gen": "1"])
        #expect(properties.sequenceNumber == 4)
        #expect(properties.lease.state == .available)
        #expect(try await bed.ranges().pageRanges == [r(0, 4096), r(32768, 512)])
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.blobProperties(
                bed.blob, snapshot: "2020-01-01T00:00:00.0000000Z", conditions: .none)
        }
    }

    @Test(arguments: BlobBackends.all)
    func snapshotIDsAreUniqueAndMetadataCanBeReplaced(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.service.putBlockBlob(bed.blob, data: [1, 2, 3], metadata: ["a": "1"], conditions: .none)
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)) }
        #expect(Set(ids).count == 5)
        #expect(ids == ids.sorted())
        let renamed = try await bed.service.snapshot(bed.blob, metadata: ["b": "2"], conditions: .none)
        #expect(
            try await bed.service.blobProperties(bed.blob, snapshot: renamed, conditions: .none).metadata == ["b": "2"])
        #expect(
            try await bed.service.blobProperties(bed.blob, snapshot: ids[0], conditions: .none).metadata == ["a": "1"])
        #expect(
            try await bed.service.getBlob(bed.blob, range: nil, snapshot: ids[4], conditions: .none).data == [1, 2, 3])
        // Snapshot Blob honours If-Match and, if given, the lease id.
        await expectStorageError(.conditionNotMet, 412) {
            _ = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: BlobConditions(ifMatch: "\"0x1\""))
        }
        await expectStorageError(.leaseNotPresentWithBlobOperation, 412) {
            _ = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: BlobConditions(leaseID: leaseID()))
        }
    }

    @Test(arguments: BlobBackends.all)
    func deletingABlobWithSnapshots(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob()
        let first = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)
        let second = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)
        await expectStorageError(.snapshotsPresent, 409) {
            try await bed.service.deleteBlob(bed.blob, snapshot: nil, deleteSnapshots: nil, conditions: .none)
        }
        // One snapshot alone.
        try await bed.service.deleteBlob(bed.blob, snapshot: first, deleteSnapshots: nil, conditions: .none)
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.blobProperties(bed.blob, snapshot: first, conditions: .none)
        }
        _ = try await bed.service.blobProperties(bed.blob, snapshot: second, conditions: .none)
        // Snapshots only: the base stays.
        try await bed.service.deleteBlob(bed.blob, snapshot: nil, deleteSnapshots: .only, conditions: .none)
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.blobProperties(bed.blob, snapshot: second, conditions: .none)
        }
        _ = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none)
        // Everything.
        let third = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)
        try await bed.service.deleteBlob(bed.blob, snapshot: nil, deleteSnapshots: .include, conditions: .none)
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.blobProperties(bed.blob, snapshot: third, conditions: .none)
        }
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none)
        }
    }

    @Test(arguments: BlobBackends.all)
    func diffAgainstASnapshotReportsWrittenAndClearedPages(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(size: 1 << 20)
        try await bed.write(1, at: 0, count: 16384)
        try await bed.write(1, at: 65536, count: 4096)
        let first = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)
        #expect(try await bed.ranges(previous: first) == PageRangeList(pageRanges: [], clearRanges: []))

        // Rewrite some pages with the same bytes, write zeros, clear pages that held data, and clear
        // pages that were never written.
        try await bed.write(1, at: 0, count: 4096)
        try await bed.write(0, at: 131072, count: 8192)
        try await bed.service.clearPages(bed.blob, range: r(8192, 4096), conditions: .none)
        try await bed.service.clearPages(bed.blob, range: r(65536, 4096), conditions: .none)
        let changes = try await bed.ranges(previous: first)
        #expect(changes.pageRanges == [r(0, 4096), r(131072, 8192)])
        #expect(changes.clearRanges.contains(r(8192, 4096)))
        #expect(changes.clearRanges.contains(r(65536, 4096)))

        // A snapshot against an older one, and the base against the newer one.
        let second = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)
        try await bed.write(2, at: 8192, count: 512)
        #expect(try await bed.ranges(snapshot: second, previous: first) == changes)
        #expect(try await bed.ranges(previous: second) == PageRangeList(pageRanges: [r(8192, 512)], clearRanges: []))
        // Within a range.
        #expect(try await bed.ranges(r(0, 8192), previous: first).pageRanges == [r(0, 4096)])
        await expectStorageError(.previousSnapshotNotFound, 409) {
            _ = try await bed.ranges(previous: "2020-01-01T00:00:00.0000000Z")
        }
        // Deleting the older snapshot leaves diffs against the newer one intact.
        try await bed.service.deleteBlob(bed.blob, snapshot: first, deleteSnapshots: nil, conditions: .none)
        #expect(try await bed.ranges(previous: second) == PageRangeList(pageRanges: [r(8192, 512)], clearRanges: []))
    }

    @Test(arguments: BlobBackends.all)
    func diffAfterShrinkAndGrowReportsTheDroppedPagesAsCleared(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(size: 64 << 10)
        try await bed.write(1, at: 32 << 10, count: 8192)
        let snapshot = try await bed.service.snapshot(bed.blob, metadata: nil, conditions: .none)
        try await bed.service.resizePageBlob(bed.blob, size: 16 << 10, conditions: .none)
        try await bed.service.resizePageBlob(bed.blob, size: 64 << 10, conditions: .none)
        let changes = try await bed.ranges(previous: snapshot)
        #expect(changes.pageRanges.isEmpty)
        #expect(changes.clearRanges.contains { $0.offset <= 32 << 10 && $0.end >= (32 << 10) + 8192 })
    }
}
