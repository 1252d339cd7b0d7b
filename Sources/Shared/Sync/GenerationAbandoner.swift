import Foundation

/// Closes a generation that can never finish (its client is gone): `relay-client abandon`
/// (docs/replication-contract.md, "Generations"). Under the client lock, once the control queue is
/// drained, it ends the generation at the last seq actually present (the cursor plus the contiguous
/// `seg-` rows above it), deletes the rows of seqs above that, and marks the target for a full sync,
/// so the next generation starts right after it and no seq is left as a hole.
public struct GenerationAbandoner: Sendable {
    public struct Report: Codable, Sendable, Hashable {
        public var target: String
        public var generation: UInt64
        public var firstSeq: UInt64
        /// The generation's end: seqs up to here stay and will be applied.
        public var lastSeq: UInt64
        /// Rows of seqs above the end that were deleted.
        public var droppedSegments: Int

        enum CodingKeys: String, CodingKey {
            case target, generation
            case firstSeq = "first_seq"
            case lastSeq = "last_seq"
            case droppedSegments = "dropped_segments"
        }
    }

    public let control: TargetControl
    /// How long to wait for the workers to take in what the queue still holds.
    public var drainTimeout: Duration
    public var pollInterval: Duration

    public init(control: TargetControl, drainTimeout: Duration = .seconds(120), pollInterval: Duration = .seconds(2)) {
        self.control = control
        self.drainTimeout = drainTimeout
        self.pollInterval = pollInterval
    }

    public func abandon(holder: ClientLockHolder) async throws -> Report {
        let lock = try await acquireLock(holder: holder)
        do {
            let report = try await abandonLocked()
            await lock.release()
            return report
        } catch {
            await lock.release()
            throw error
        }
    }

    /// The client lock, waiting for a dead client's lease to lapse (at most one lease period): a lock
    /// still held after that is renewed by a live client, and abandon is refused.
    private func acquireLock(holder: ClientLockHolder) async throws -> ClientLock {
        let deadline = ContinuousClock.now + .seconds(ClientLock.leaseSeconds + 5)
        let leaseID = UUID().uuidString.lowercased()
        while true {
            do {
                return try await ClientLock.acquire(
                    service: control.services.blob, container: control.segmentsContainer,
                    target: control.target, leaseID: leaseID, holder: holder)
            } catch let error as SyncError where error.code == .locked && ContinuousClock.now + pollInterval < deadline
            {
                try await Task.sleep(for: pollInterval)
            }
        }
    }

    private func abandonLocked() async throws -> Report {
        let target = control.target
        guard let targetRow = try await control.targetRow() else {
            throw SyncError(.nothingToDo, "\(target): no such target in table \(control.table)")
        }
        guard targetRow.lastGeneration > 0, let generation = try await control.generationRow(targetRow.lastGeneration),
            generation.state == .sending
        else {
            throw SyncError(.nothingToDo, "\(target): no unfinished generation to abandon")
        }
        try await waitForDrainedQueue()
        let cursor = try await control.cursorRow()
        var lastSeq = max(cursor?.appliedSeq ?? 0, generation.firstSeq - 1)
        let rows = try await control.segmentRows()
        let present = Dictionary(rows.map { ($0.message.seq, $0) }, uniquingKeysWith: { first, _ in first })
        // A poisoned segment is present but can never be applied: the generation ends before it.
        while let row = present[lastSeq + 1], row.poisonReason == nil { lastSeq += 1 }
        let dropped = rows.filter { $0.message.seq > lastSeq }
        for chunk in stride(from: 0, to: dropped.count, by: 100) {
            let operations = dropped[chunk..<min(dropped.count, chunk + 100)].map {
                TableOperation.delete(
                    partitionKey: target.key, rowKey: ControlNames.segmentRow($0.message.seq),
                    ifMatch: $0.etag.map(ETagCondition.etag) ?? .any)
            }
            try await control.services.table.transact(control.table, operations)
        }
        var closed = generation
        closed.state = .abandoned
        closed.lastSeq = lastSeq
        var row = targetRow
        row.nextSeq = lastSeq + 1
        row.fullSyncRequired = true
        do {
            try await control.services.table.transact(
                control.table,
                [
                    .update(closed.entity, .merge, ifMatch: generation.etag.map(ETagCondition.etag) ?? .any),
                    .update(row.entity, .replace, ifMatch: targetRow.etag.map(ETagCondition.etag) ?? .any),
                ])
        } catch let error as StorageError where error.status == 412 {
            throw SyncError(
                .lockLost, "\(target): the control rows changed while abandoning (\(error)); run abandon again")
        }
        return Report(
            target: target.description, generation: generation.generation, firstSeq: generation.firstSeq,
            lastSeq: lastSeq, droppedSegments: dropped.count)
    }

    /// Waits until the control queue is empty: a message still in it could name a seq above the end
    /// chosen now, which the next generation will reuse.
    private func waitForDrainedQueue() async throws {
        let deadline = ContinuousClock.now + drainTimeout
        while true {
            let count = try await control.services.queue.approximateMessageCount(control.queue)
            if count == 0 { return }
            guard ContinuousClock.now + pollInterval <= deadline else {
                throw SyncError(
                    .generationInProgress,
                    "the control queue \(control.queue) still holds about \(count) messages; "
                        + "run abandon again once the workers have taken them in")
            }
            try await Task.sleep(for: pollInterval)
        }
    }
}
