import Foundation

/// A blob service with Azure's transient failures and added latency over any backend. A timed-out
/// write has taken effect, which is what sequence-number fencing and ETag conditions must survive.
public struct FaultyBlobService<Base: BlobService>: BlobService {
    public let base: Base
    public let plan: FaultPlan

    public init(_ base: Base, plan: FaultPlan) {
        self.base = base
        self.plan = plan
    }

    public func createContainer(_ container: String) async throws {
        try await plan.inject("Create Container") { try await base.createContainer(container) }
    }

    @discardableResult
    public func putBlockBlob(_ blob: BlobAddress, data: [UInt8], metadata: [String: String], conditions: BlobConditions)
        async throws -> BlobWriteResult
    {
        try await plan.inject("Put Blob") {
            try await base.putBlockBlob(blob, data: data, metadata: metadata, conditions: conditions)
        }
    }

    public func getBlob(_ blob: BlobAddress, range: ByteRange?, snapshot: String?, conditions: BlobConditions)
        async throws -> BlobContent
    {
        try await plan.inject("Get Blob") {
            try await base.getBlob(blob, range: range, snapshot: snapshot, conditions: conditions)
        }
    }

    public func blobProperties(_ blob: BlobAddress, snapshot: String?, conditions: BlobConditions) async throws
        -> BlobProperties
    {
        try await plan.inject("Get Blob Properties") {
            try await base.blobProperties(blob, snapshot: snapshot, conditions: conditions)
        }
    }

    public func deleteBlob(
        _ blob: BlobAddress, snapshot: String?, deleteSnapshots: DeleteSnapshots?, conditions: BlobConditions
    ) async throws {
        try await plan.inject("Delete Blob") {
            try await base.deleteBlob(
                blob, snapshot: snapshot, deleteSnapshots: deleteSnapshots, conditions: conditions)
        }
    }

    public func listBlobs(container: String, prefix: String, marker: String?, maxResults: Int) async throws
        -> BlobListing
    {
        try await plan.inject("List Blobs") {
            try await base.listBlobs(container: container, prefix: prefix, marker: marker, maxResults: maxResults)
        }
    }

    @discardableResult
    public func setMetadata(_ blob: BlobAddress, _ metadata: [String: String], conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        try await plan.inject("Set Blob Metadata") {
            try await base.setMetadata(blob, metadata, conditions: conditions)
        }
    }

    @discardableResult
    public func createPageBlob(
        _ blob: BlobAddress, size: UInt64, sequenceNumber: Int64, metadata: [String: String], conditions: BlobConditions
    ) async throws -> BlobWriteResult {
        try await plan.inject("Put Blob (page)") {
            try await base.createPageBlob(
                blob, size: size, sequenceNumber: sequenceNumber, metadata: metadata, conditions: conditions)
        }
    }

    @discardableResult
    public func putPages(
        _ blob: BlobAddress, offset: UInt64, data: [UInt8], checksum: PageChecksum?, conditions: BlobConditions
    ) async throws -> BlobWriteResult {
        if plan.nextWriteDelayed() {
            plan.hold(
                FaultPlan.HeldWrite(blob: blob, offset: offset, data: data) {
                    try await base.putPages(
                        blob, offset: offset, data: data, checksum: checksum, conditions: conditions)
                })
            throw StorageError(
                .networkError, status: 0,
                "Put Page: injected fault: no answer (the request is held up and may land later)")
        }
        let result = try await plan.inject("Put Page") {
            try await base.putPages(blob, offset: offset, data: data, checksum: checksum, conditions: conditions)
        }
        await plan.landHeldWrites(
            after: blob, wrote: ByteRange(offset: offset, length: UInt64(data.count)), bytes: data)
        return result
    }

    @discardableResult
    public func clearPages(_ blob: BlobAddress, range: ByteRange, conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        let result = try await plan.inject("Put Page (clear)") {
            try await base.clearPages(blob, range: range, conditions: conditions)
        }
        await plan.landHeldWrites(after: blob, wrote: range, bytes: nil)
        return result
    }

    public func pageRanges(
        _ blob: BlobAddress, range: ByteRange?, snapshot: String?, previousSnapshot: String?, conditions: BlobConditions
    ) async throws -> PageRangeList {
        try await plan.inject("Get Page Ranges") {
            try await base.pageRanges(
                blob, range: range, snapshot: snapshot, previousSnapshot: previousSnapshot, conditions: conditions)
        }
    }

    @discardableResult
    public func resizePageBlob(_ blob: BlobAddress, size: UInt64, conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        try await plan.inject("Set Blob Properties (resize)") {
            try await base.resizePageBlob(blob, size: size, conditions: conditions)
        }
    }

    @discardableResult
    public func setSequenceNumber(_ blob: BlobAddress, _ action: SequenceNumberAction, conditions: BlobConditions)
        async throws -> BlobWriteResult
    {
        try await plan.inject("Set Blob Properties (sequence number)") {
            try await base.setSequenceNumber(blob, action, conditions: conditions)
        }
    }

    public func lease(_ blob: BlobAddress, _ action: LeaseAction, conditions: BlobConditions) async throws
        -> LeaseResult
    {
        try await plan.inject("Lease Blob") { try await base.lease(blob, action, conditions: conditions) }
    }

    public func snapshot(_ blob: BlobAddress, metadata: [String: String]?, conditions: BlobConditions) async throws
        -> String
    {
        try await plan.inject("Snapshot Blob") {
            try await base.snapshot(blob, metadata: metadata, conditions: conditions)
        }
    }
}
