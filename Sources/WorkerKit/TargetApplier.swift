import Foundation
import Logging
import RelayShared

/// The apply loop of one claimed target (docs/worker.md, "Apply"): from the cursor, reads the next
/// consecutive `seg-` rows, applies them as a batch, and advances the cursor (ETag-guarded) over the
/// contiguous applied prefix. A batch ends at a generation's last segment, so that the recovery point
/// is taken with exactly that generation applied.
struct TargetApplier: Sendable {
    let services: StorageServices
    let configuration: WorkerConfiguration
    let control: ControlTable
    let calls: StorageCalls
    let claim: Claim
    let memory: WeightedSemaphore
    let requests: WeightedSemaphore
    let recoveryPoints: RecoveryPoints
    let logger: Logger

    enum Stop: Equatable, Sendable {
        /// Nothing after the cursor.
        case caughtUp(cursor: UInt64)
        /// Rows exist after a missing seq: the next one has not arrived yet.
        case waiting(seq: UInt64)
        /// The next seq failed verification; the target waits for its resend.
        case poisoned(seq: UInt64)
        /// The caller asked to stop between batches.
        case stopped(cursor: UInt64)
        /// A generation was applied and its recovery point taken: a moment to clean up, even on a
        /// target that never catches up.
        case generationApplied(cursor: UInt64)
    }

    var target: TargetName { claim.target }

    /// Applies until there is nothing more to apply or `shouldStop` says so between batches. `resuming`
    /// (the first run of a claim) first takes a recovery point that a crash may have left due.
    func run(resuming: Bool, shouldStop: @Sendable () -> Bool) async throws -> Stop {
        guard var cursor = try await control.cursor(target), cursor.epoch == claim.epoch else {
            claim.markLost("the cursor row carries another epoch")
            try claim.check()
            throw WorkerError(.claimLost, target: target, "the cursor row carries another epoch")
        }
        var previous: SegmentRow?
        if cursor.appliedSeq > 0 { previous = try await control.segment(target, seq: cursor.appliedSeq) }
        if resuming, let previous { try await recoveryPoints.take(after: previous, claim: claim) }
        while true {
            try claim.check()
            if shouldStop() { return .stopped(cursor: cursor.appliedSeq) }
            let (rows, stop) = try await nextRun(after: cursor.appliedSeq)
            guard !rows.isEmpty else {
                WorkerMetrics.lag(target, segments: 0, bytes: 0, seconds: 0)
                return stop ?? .caughtUp(cursor: cursor.appliedSeq)
            }
            let batch = ApplyBatch(
                services: services, calls: calls, container: configuration.container, claim: claim,
                memory: memory, requests: requests, logger: logger)
            let outcomes = await batch.run(rows, previousGeneration: previous?.message.generation ?? 0)
            var applied = 0
            var plainBytes: UInt64 = 0
            for outcome in outcomes {
                guard case .applied(let bytes) = outcome else { break }
                applied += 1
                plainBytes += bytes
            }
            if applied > 0 {
                cursor = try await advance(cursor, to: rows[applied - 1].message.seq, plainBytes: plainBytes)
                previous = rows[applied - 1]
                WorkerMetrics.applied(target, segments: applied, bytes: plainBytes)
                logger.debug(
                    "applied segments",
                    metadata: [
                        "target": "\(target)", "seq.first": "\(rows[0].message.seq)",
                        "seq.last": "\(cursor.appliedSeq)",
                        "bytes": "\(plainBytes)",
                    ])
                if let previous, previous.message.isLastOfGeneration {
                    try await recoveryPoints.take(after: previous, claim: claim)
                    return .generationApplied(cursor: cursor.appliedSeq)
                }
            }
            if applied < rows.count {
                switch outcomes[applied] {
                case .refused(let reason):
                    try await poison(rows[applied], reason: reason)
                    return .poisoned(seq: rows[applied].message.seq)
                case .failed(let error):
                    throw error
                case .applied:
                    preconditionFailure("the applied prefix ends before an applied segment")
                }
            }
        }
    }

    /// The consecutive rows after `cursor`, up to the window or the end of a generation, and why the run
    /// stops early when it is empty.
    private func nextRun(after cursor: UInt64) async throws -> ([SegmentRow], Stop?) {
        let first = cursor + 1
        let window = UInt64(configuration.applyWindow)
        let entities = try await control.segmentEntities(target, seqs: first...(first + window - 1))
        var rows: [SegmentRow] = []
        var stop: Stop?
        for entity in entities {
            let expected = first + UInt64(rows.count)
            guard ControlNames.seq(ofRow: entity.rowKey) == expected else {
                if rows.isEmpty { stop = .waiting(seq: expected) }
                break
            }
            let row: SegmentRow
            do {
                row = try SegmentRow(entity: entity)
            } catch {
                logger.error(
                    "a segment row is invalid; the target stops at it",
                    metadata: [
                        "target": "\(target)", "seq": "\(expected)", "error": "\(error)",
                    ])
                if rows.isEmpty { stop = .poisoned(seq: expected) }
                break
            }
            if let reason = row.poisonReason {
                if rows.isEmpty {
                    stop = .poisoned(seq: expected)
                    logger.error(
                        "the target waits for a poisoned segment to be sent again",
                        metadata: [
                            "target": "\(target)", "seq": "\(expected)", "reason": "\(reason)",
                        ])
                }
                break
            }
            rows.append(row)
            if row.message.isLastOfGeneration { break }
        }
        reportLag(entities, cursor: cursor)
        return (rows, stop)
    }

    private func reportLag(_ entities: [TableEntity], cursor: UInt64) {
        let pending = entities.compactMap { try? SegmentRow(entity: $0) }
        let oldest = entities.first?.timestamp.map { max(0, Date().timeIntervalSince($0)) } ?? 0
        WorkerMetrics.lag(
            target, segments: UInt64(pending.count), bytes: pending.reduce(0) { $0 + $1.message.plainBytes },
            seconds: oldest)
    }

    /// Moves the cursor to `seq`, guarded by its ETag; a row rewritten under another epoch means another
    /// instance took the target.
    private func advance(_ cursor: CursorRow, to seq: UInt64, plainBytes: UInt64) async throws -> CursorRow {
        var current = cursor
        while true {
            var next = current
            next.appliedSeq = seq
            next.appliedBytes = current.appliedBytes &+ plainBytes
            next.updatedAt = Date()
            do {
                let etag = try await calls("Update Entity") {
                    try await services.table.update(
                        configuration.table, next.entity, mode: .replace, ifMatch: .etag(current.etag ?? "*"))
                }
                next.etag = etag
                WorkerMetrics.cursor(target, seq: seq)
                return next
            } catch let error as StorageError where error.status == 412 {
                guard let reread = try await control.cursor(target), reread.epoch == claim.epoch else {
                    claim.markLost("the cursor row was fenced by a newer epoch")
                    throw WorkerError(.claimLost, target: target, "the cursor row was fenced by a newer epoch")
                }
                // Our own update whose answer was lost: the row already says so.
                if reread.appliedSeq >= seq { return reread }
                current = reread
            }
        }
    }

    /// Records why the segment was refused, in its row and on the poison queue, and says so loudly.
    private func poison(_ row: SegmentRow, reason: String) async throws {
        var poisoned = row
        poisoned.poisonReason = reason
        do {
            try await calls("Update Entity") {
                try await services.table.update(
                    configuration.table, poisoned.entity, mode: .replace, ifMatch: .etag(row.etag ?? "*"))
            }
        } catch let error as StorageError where error.status == 412 {
            return  // a resend replaced the row meanwhile: the next round applies it
        }
        let record = PoisonRecord(
            reason: "segment \(row.message.seq) of \(target): \(reason)", message: row.message.encoded())
        try await calls("Put Message") {
            try await services.queue.putMessage(
                ControlNames.poisonQueue(for: configuration.queue), text: record.encoded(),
                visibilityTimeout: 0, timeToLive: -1)
        }
        WorkerMetrics.poisoned("segment")
        logger.critical(
            "segment refused: the target stops until relay-client sends it again",
            metadata: [
                "target": "\(target)", "seq": "\(row.message.seq)", "generation": "\(row.message.generation)",
                "reason": "\(reason)",
            ])
    }
}
