import Foundation

/// The control data of one target as the client commands read and write it: the page blob, the
/// `target`, `gen-` and `cursor` rows (docs/replication-contract.md, "Control table").
public struct TargetControl: Sendable {
    public let services: StorageServices
    public let target: TargetName
    public let table: String
    public let queue: String
    public let segmentsContainer: String

    public init(
        services: StorageServices, target: TargetName, table: String = ControlNames.defaultTable,
        queue: String = ControlNames.defaultQueue, segmentsContainer: String = ControlNames.defaultContainer
    ) {
        self.services = services
        self.target = target
        self.table = table
        self.queue = queue
        self.segmentsContainer = segmentsContainer
    }

    /// Creates the target's container, the segments container, the queue and the table when missing.
    public func ensureResources() async throws {
        for container in [target.container, segmentsContainer] {
            do { try await services.blob.createContainer(container) } catch let error as StorageError
                where error.code == .containerAlreadyExists
            {}
        }
        do { try await services.queue.createQueue(queue) } catch let error as StorageError
            where error.code == .queueAlreadyExists
        {}
        do { try await services.table.createTable(table) } catch let error as StorageError
            where error.code == .tableAlreadyExists
        {}
    }

    /// Lists the target in the `targets` partition, where every worker instance looks for targets
    /// (idempotent: done at every sync, so a target is listed even if an earlier run stopped before).
    public func list() async throws {
        let entity = KnownTargetRow(target: target).entity
        _ = try await retryingTransient { try await services.table.upsert(table, entity, mode: .replace) }
    }

    // MARK: Rows

    /// The control table's rows, as the worker reads and writes them too.
    public var rows: ControlTable { ControlTable(table: services.table, name: table) }

    public func targetRow() async throws -> TargetRow? { try await rows.targetRow(target.key) }

    public func generationRow(_ generation: UInt64) async throws -> GenerationRow? {
        try await rows.generation(target, generation)
    }

    public func cursorRow() async throws -> CursorRow? { try await rows.cursor(target) }

    /// Every `gen-` row, oldest first.
    public func generationRows() async throws -> [GenerationRow] { try await rows.generations(target) }

    /// Every `seg-` row, lowest seq first.
    public func segmentRows() async throws -> [SegmentRow] { try await rows.segments(target) }

    /// Applies `change` to the `gen-` row (`ControlTable.updateGeneration`: re-read on a lost ETag race with
    /// the worker, so neither side's fields are overwritten with stale values).
    @discardableResult
    public func updateGeneration(_ generation: UInt64, _ change: (inout GenerationRow) -> Void) async throws
        -> GenerationRow
    {
        let updated = try await rows.updateGeneration(target, generation) { row in
            change(&row)
            return true
        }
        guard let updated else {
            throw SyncError(.badState, "\(target): the row of generation \(generation) is missing from table \(table)")
        }
        return updated
    }

    // MARK: Page blob

    /// The target's identity from its page blob's metadata; nil when the blob does not exist.
    public func blobIdentity() async throws -> (identity: TargetIdentity, size: UInt64)? {
        let properties: BlobProperties
        do {
            properties = try await services.blob.blobProperties(target.address, snapshot: nil, conditions: .none)
        } catch let error as StorageError where error.code == .blobNotFound || error.code == .containerNotFound {
            return nil
        }
        guard properties.type == .pageBlob else {
            throw ControlError(
                .identityMismatch, field: "\(target)", "the blob exists but is not a page blob; choose another target")
        }
        return (try TargetIdentity(metadata: properties.metadata, blob: target.description), properties.size)
    }

    /// Creates the page blob (a data area of zeros) for `identity`, unless a blob of that identity exists
    /// already (made by an earlier attempt whose answer was lost, or by a racing client).
    public func createBlob(identity: TargetIdentity) async throws {
        let size = VHDFooter.targetSize(forVirtualSize: identity.virtualSize)
        do {
            try await services.blob.createPageBlob(
                target.address, size: size + UInt64(VHDFooter.size), sequenceNumber: 0,
                metadata: identity.metadata, conditions: BlobConditions(ifNoneMatch: "*"))
        } catch let error as StorageError where error.status == 409 || error.status == 412 {
            guard let existing = try await blobIdentity() else { throw error }
            try existing.identity.check(matches: identity, target: target)
        }
    }

    /// Writes the fixed VHD footer at the end of the page blob, as `relay-client convert` builds it.
    public func writeFooter(identity: TargetIdentity) async throws {
        let size = VHDFooter.targetSize(forVirtualSize: identity.virtualSize)
        let footer = VHDFooter.fixedTarget(virtualSize: identity.virtualSize, uniqueID: identity.sourceID)
        try await services.blob.putPages(
            target.address, offset: size, data: footer.serialized(), checksum: nil, conditions: .none)
    }

    /// Writes `row` over the stored `target` row if its ETag still matches; when the answer says it
    /// does not, the row is read again, and a stored row equal to `row` means the write landed and only
    /// its answer was lost (a retried request). Returns the new ETag.
    public func replaceTargetRow(_ row: TargetRow, ifMatch etag: String?) async throws -> String {
        do {
            return try await services.table.update(
                table, row.entity, mode: .replace, ifMatch: etag.map(ETagCondition.etag) ?? .any)
        } catch let error as StorageError where error.status == 412 {
            guard let stored = try await targetRow(), stored.entity.properties == row.entity.properties,
                let etag = stored.etag
            else {
                throw SyncError(
                    .lockLost,
                    "\(target): the target row changed while this client held the lock (another client, "
                        + "or abandon); sync again")
            }
            return etag
        }
    }

    /// The page ranges of the target's data area (the footer excluded).
    public func dataPageRanges(virtualSize: UInt64) async throws -> [ByteRange] {
        let size = VHDFooter.targetSize(forVirtualSize: virtualSize)
        return try await services.blob.pageRanges(
            target.address, range: ByteRange(offset: 0, length: size), snapshot: nil,
            previousSnapshot: nil, conditions: .none
        ).pageRanges
    }
}

extension TargetControl {
    /// Waits until the worker has applied every seq up to `seq` (the cursor row), saying so every 30 s.
    public func waitForCursor(
        atLeast seq: UInt64, note: @Sendable (String) -> Void, pollInterval: Duration = .seconds(2)
    ) async throws {
        var lastNote: ContinuousClock.Instant?
        while (try await cursorRow()?.appliedSeq ?? 0) < seq {
            if lastNote.map({ ContinuousClock.now - $0 >= .seconds(30) }) ?? true {
                note(
                    "\(target): a full sync without the last manifest waits for the worker to apply every seq up to \(seq) "
                        + "(`relay-client status` shows how far it is)")
                lastNote = .now
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// Polls the generation's row until the worker marks it applied (`relay-client sync --wait`);
    /// throws `SyncError.timedOut` after `timeout`, and `.badState` if it was abandoned meanwhile.
    public func waitUntilApplied(_ generation: UInt64, timeout: Duration?, pollInterval: Duration = .seconds(2))
        async throws -> GenerationRow
    {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            guard let row = try await generationRow(generation) else {
                throw SyncError(.badState, "\(target): the row of generation \(generation) is missing")
            }
            switch row.state {
            case .applied: return row
            case .abandoned:
                throw SyncError(.badState, "\(target): generation \(generation) was abandoned while waiting for it")
            case .sending, .sent: break
            }
            if let deadline, ContinuousClock.now + pollInterval > deadline {
                throw SyncError(
                    .timedOut,
                    "\(target): generation \(generation) is enqueued but not applied yet; "
                        + "`relay-client status --target \(target)` shows the worker's progress")
            }
            try await Task.sleep(for: pollInterval)
        }
    }
}
