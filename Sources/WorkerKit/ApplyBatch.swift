import Logging
import RelayShared

/// Applies a run of consecutive segments of one target with the effect of applying them one by one in
/// seq order (docs/worker.md, "Apply"): segments are downloaded, verified and decoded ahead within the
/// memory budget; a segment writes once every earlier one is verified and every earlier one whose span
/// overlaps its own is written, so non-overlapping segments are written in parallel and overlapping
/// ones in seq order. A refused segment stops everything after it from writing.
struct ApplyBatch: Sendable {
    let services: StorageServices
    let calls: StorageCalls
    let container: String
    let claim: Claim
    /// Bytes of segments held at once (shared by every target of the instance).
    let memory: WeightedSemaphore
    /// Downloads and Put Page calls in flight (shared likewise).
    let requests: WeightedSemaphore
    let logger: Logger

    enum Outcome: Sendable {
        case applied(plainBytes: UInt64)
        /// The segment failed verification: the poison reason.
        case refused(String)
        /// Not applied for another reason (an earlier segment was refused, the claim was lost, storage failed).
        case failed(any Error)
    }

    /// Applies `rows` (consecutive seqs) after a segment of `previousGeneration`; returns each one's outcome.
    func run(_ rows: [SegmentRow], previousGeneration: UInt64) async -> [Outcome] {
        let verified = rows.map { _ in Latch() }
        let written = rows.map { _ in Latch() }
        return await withTaskGroup(of: (Int, Outcome).self) { group in
            var overBudget: WorkerError?
            for (index, row) in rows.enumerated() {
                let message = row.message
                // A segment is held whole, downloaded and decoded, so it must fit in the budget; one that does
                // not (only a budget below `WorkerConfiguration.minimumMemoryBudget` meets one) is not applied.
                let need = message.segmentBytes + Int(clamping: message.plainBytes)
                guard need <= memory.capacity else {
                    overBudget = WorkerError(
                        .memoryBudgetTooSmall, target: claim.target,
                        "segment \(message.seq) needs \(need) bytes, more than the memory budget of \(memory.capacity)")
                    break
                }
                // Reserved in seq order (the semaphore is FIFO), so an earlier segment always gets its memory first.
                let reserved = await memory.acquire(need)
                let generationBefore = index == 0 ? previousGeneration : rows[index - 1].message.generation
                group.addTask {
                    defer { memory.release(reserved) }
                    let outcome = await apply(
                        message, index: index, rows: rows, generationBefore: generationBefore,
                        verified: verified, written: written)
                    return (index, outcome)
                }
            }
            var outcomes = [Outcome?](repeating: nil, count: rows.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.map { $0 ?? .failed(overBudget!) }
        }
    }

    private func apply(
        _ message: ControlMessage, index: Int, rows: [SegmentRow], generationBefore: UInt64,
        verified: [Latch], written: [Latch]
    ) async -> Outcome {
        let prepared: PreparedSegment
        do {
            prepared = try await prepare(message, generationBefore: generationBefore)
            verified[index].succeed()
        } catch let refusal as PreparedSegment.Refusal {
            verified[index].fail(refusal)
            written[index].fail(refusal)
            return .refused(refusal.description)
        } catch {
            verified[index].fail(error)
            written[index].fail(error)
            return .failed(error)
        }
        do {
            for earlier in 0..<index { try await verified[earlier].wait() }
            for earlier in 0..<index where Self.overlap(rows[earlier].message.span, message.span) {
                try await written[earlier].wait()
            }
            try await write(prepared)
            written[index].succeed()
            return .applied(plainBytes: message.plainBytes)
        } catch {
            written[index].fail(error)
            return .failed(error)
        }
    }

    static func overlap(_ a: ByteRange, _ b: ByteRange) -> Bool { a.offset < b.end && b.offset < a.end }

    /// Downloads the temp blob and checks and decodes it; a missing blob is refused like a corrupt one.
    private func prepare(_ message: ControlMessage, generationBefore: UInt64) async throws -> PreparedSegment {
        let blob = BlobAddress(container: container, name: message.blob)
        let bytes: [UInt8]
        do {
            bytes = try await requests.withPermit {
                try await calls("Get Blob") {
                    try await services.blob.getBlob(blob, range: nil, snapshot: nil, conditions: .none).data
                }
            }
        } catch let error as StorageError where error.status == 404 {
            throw PreparedSegment.Refusal(
                description: "the temp blob \(message.blob) does not exist (\(error.shortDescription))")
        }
        return try PreparedSegment(
            bytes: bytes, message: message, target: claim.target, diskSize: claim.diskSize,
            previousGeneration: generationBefore)
    }

    /// Sends the segment's Put Page calls in parallel (its extents never overlap each other).
    private func write(_ prepared: PreparedSegment) async throws {
        try claim.check()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for put in prepared.puts {
                let permit = await requests.acquire(1)
                group.addTask {
                    defer { requests.release(permit) }
                    try await send(put)
                }
            }
            try await group.waitForAll()
        }
    }

    /// The transactional checksum of a Put Page's body, for services reached over the network only: the
    /// local store is handed this very buffer, so there is no transit to protect. CRC-64, which costs a
    /// fraction of Content-MD5 (docs/worker.md, "Performance").
    private func checksum(_ data: [UInt8]) -> PageChecksum? {
        guard services.isRemote else { return nil }
        let started = ContinuousClock.now
        let crc = CRC64.checksum(data)
        WorkerMetrics.checksummed(seconds: (ContinuousClock.now - started).seconds)
        return .crc64(crc)
    }

    /// One fenced Put Page. Transient failures by which the service did not do the work (503, a request
    /// never sent) are retried as they are. After an outcome that is unknown (no answer, a 500) the first
    /// copy may still land later, after a later write to the same pages, so the epoch is raised first and
    /// the write repeated under the new one: the stale copy then gets `412`. A `412` for an epoch this
    /// claim itself raised is repeated likewise; any other fence refusal means the claim is lost.
    private func send(_ put: PreparedSegment.Put) async throws {
        let blob = claim.target.address
        var fence = claim.fence
        var raises = 0
        let checksum: PageChecksum? =
            switch put {
            case .write(_, let data): checksum(data)
            case .clear: nil
            }
        while true {
            let stale = fence.ifSequenceNumberEqual ?? 0
            do {
                switch put {
                case .write(let offset, let data):
                    try await calls("Put Page", retryingUnknownOutcomes: false) {
                        try await services.blob.putPages(
                            blob, offset: offset, data: data, checksum: checksum, conditions: fence)
                    }
                case .clear(let range):
                    try await calls("Put Page (clear)", retryingUnknownOutcomes: false) {
                        try await services.blob.clearPages(blob, range: range, conditions: fence)
                    }
                }
                return
            } catch let error as StorageError where RetryDecision.needsIdempotence(AttemptFailure(error)) {
                raises += 1
                guard raises < calls.retry.attempts else { throw error }
                logger.notice(
                    "a page write's outcome is unknown; raising the epoch before repeating it",
                    metadata: [
                        "target": "\(claim.target)", "range": "\(put.range)", "epoch": "\(stale)",
                        "error": "\(error.shortDescription)",
                    ])
                fence.ifSequenceNumberEqual = try await claim.raiseEpoch(past: stale)
            } catch let error as StorageError where error.meansClaimLost && claim.epochMoved(past: stale) {
                fence.ifSequenceNumberEqual = try await claim.raiseEpoch(past: stale)
            } catch let error as StorageError where error.meansClaimLost {
                claim.markLost("a fenced write was refused: \(error.shortDescription)")
                throw WorkerError(
                    .claimLost, target: claim.target, "a fenced write was refused: \(error.shortDescription)")
            }
        }
    }
}
