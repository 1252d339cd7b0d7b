import Foundation
import Logging
import RelayShared
import Synchronization

/// A held claim on one target (docs/worker.md, "Claim"): the page blob's lease and the epoch this
/// instance raised the blob's sequence number to when it took the lease. Every write carries both, so
/// that an instance that stalled and lost the lease gets `412` instead of writing. The epoch is raised
/// again, under the same lease, before a write whose outcome is unknown is repeated (docs/worker.md,
/// "Apply"), so that its delayed first copy cannot land.
final class Claim: Sendable {
    let target: TargetName
    let leaseID: String
    /// The disk's data area: the page blob minus its 512-byte footer. Writes stay inside it.
    let diskSize: UInt64
    let targetRow: TargetRow
    private let lostReason = Mutex<String?>(nil)
    private let epochState: Mutex<EpochState>
    /// Raises the blob's sequence number and the cursor row's epoch above the given epoch; returns the new one.
    private let raise: @Sendable (Int64) async throws -> Int64

    private struct EpochState {
        var epoch: Int64
        /// The raise in progress: the writes that need it wait for it rather than raising once more.
        var raising: Task<Int64, any Error>?
    }

    init(
        target: TargetName, leaseID: String, epoch: Int64, diskSize: UInt64, targetRow: TargetRow,
        raise: @escaping @Sendable (Int64) async throws -> Int64
    ) {
        self.target = target
        self.leaseID = leaseID
        self.diskSize = diskSize
        self.targetRow = targetRow
        self.raise = raise
        epochState = Mutex(EpochState(epoch: epoch))
    }

    var epoch: Int64 { epochState.withLock { $0.epoch } }

    /// The conditions of every write to the target.
    var fence: BlobConditions { BlobConditions(leaseID: leaseID, ifSequenceNumberEqual: epoch) }

    /// Whether this claim itself moved the epoch past `stale` or is moving it: a write fenced with `stale`
    /// that got `412` was refused by this claim's own raise, not by another instance.
    func epochMoved(past stale: Int64) -> Bool {
        epochState.withLock { $0.epoch > stale || $0.raising != nil }
    }

    /// The epoch after `stale`: raised now if it still is `stale`, else the raise in progress or done. A
    /// raise that fails ends the claim.
    func raiseEpoch(past stale: Int64) async throws -> Int64 {
        let pending: Task<Int64, any Error>? = epochState.withLock { state in
            if let raising = state.raising { return raising }
            guard state.epoch == stale else { return nil }
            let task = Task {
                do {
                    let raised = try await self.raise(stale)
                    self.epochState.withLock { $0 = EpochState(epoch: max($0.epoch, raised)) }
                    return raised
                } catch {
                    self.epochState.withLock { $0.raising = nil }
                    throw error
                }
            }
            state.raising = task
            return task
        }
        guard let pending else { return epoch }
        do {
            return try await pending.value
        } catch {
            markLost("the epoch could not be raised: \(error)")
            try check()
            throw error
        }
    }

    var isLost: Bool { lostReason.withLock { $0 != nil } }

    func markLost(_ reason: String) { lostReason.withLock { if $0 == nil { $0 = reason } } }

    /// Throws `claimLost` once the claim is gone.
    func check() throws {
        if let reason = lostReason.withLock({ $0 }) { throw WorkerError(.claimLost, target: target, reason) }
    }
}

/// Takes, keeps and gives back claims.
struct Claimer: Sendable {
    let services: StorageServices
    let configuration: WorkerConfiguration
    let control: ControlTable
    let calls: StorageCalls
    let logger: Logger

    /// Takes the target's lease if nobody holds it, raises the epoch, and fences the cursor row with it.
    /// Returns nil when another instance holds the lease.
    func acquire(_ target: TargetName, targetRow: TargetRow) async throws -> Claim? {
        let blob = target.address
        let proposed = UUID().uuidString.lowercased()
        let lease: LeaseResult
        do {
            // Acquiring again with the same proposed id is idempotent, so a lost answer is safe to retry.
            lease = try await calls("Lease Blob (acquire)") {
                try await services.blob.lease(
                    blob, .acquire(.seconds(configuration.leaseSeconds), proposedID: proposed), conditions: .none)
            }
        } catch let error as StorageError where error.status == 409 {
            return nil
        } catch let error as StorageError where error.status == 404 {
            throw WorkerError(
                .targetInvalid, target: target, "the target page blob does not exist (\(error.shortDescription))")
        }
        let leaseID = lease.leaseID ?? proposed
        do {
            let claim = try await fence(target, leaseID: leaseID, targetRow: targetRow)
            logger.info("claimed target", metadata: ["target": "\(target)", "epoch": "\(claim.epoch)"])
            return claim
        } catch {
            _ = try? await services.blob.lease(blob, .release(id: leaseID), conditions: .none)
            throw error
        }
    }

    /// Checks the blob against the `target` row, raises its sequence number to a new epoch, and writes
    /// the epoch into the cursor row, so that a stale holder's cursor update fails on the ETag.
    private func fence(_ target: TargetName, leaseID: String, targetRow: TargetRow) async throws -> Claim {
        let blob = target.address
        let properties = try await calls("Get Blob Properties") {
            try await services.blob.blobProperties(blob, snapshot: nil, conditions: BlobConditions(leaseID: leaseID))
        }
        let identity: TargetIdentity
        do {
            identity = try TargetIdentity(metadata: properties.metadata, blob: target.description)
            try identity.check(matches: targetRow.identity, target: target)
        } catch {
            throw WorkerError(.targetInvalid, target: target, "\(error)")
        }
        let diskSize = VHDFooter.targetSize(forVirtualSize: identity.virtualSize)
        guard properties.type == .pageBlob, properties.size == diskSize + 512 else {
            throw WorkerError(
                .targetInvalid, target: target,
                "the target is a \(properties.type.rawValue) of \(properties.size) bytes; expected a page blob of \(diskSize + 512)"
            )
        }
        // The epoch only ever goes up: the cursor row remembers the last claim's epoch even if the blob's
        // sequence number went back (a copy from a snapshot restores the snapshot's), so that an old
        // holder's epoch is never handed out again.
        let previous = max(properties.sequenceNumber ?? 0, try await control.cursor(target)?.epoch ?? 0)
        guard previous < Int64.max else {
            throw WorkerError(.targetInvalid, target: target, "the blob's sequence number is exhausted")
        }
        let raised = try await calls("Set Blob Properties (sequence number)") {
            try await services.blob.setSequenceNumber(
                blob, .max(previous + 1), conditions: BlobConditions(leaseID: leaseID))
        }
        let epoch = raised.sequenceNumber ?? previous + 1
        if previous > 0 {
            WorkerMetrics.leaseTakeover()
            logger.notice(
                "took over a target another claim held before", metadata: ["target": "\(target)", "epoch": "\(epoch)"])
        }
        try await fenceCursor(target, epoch: epoch)
        return Claim(
            target: target, leaseID: leaseID, epoch: epoch, diskSize: diskSize, targetRow: targetRow,
            raise: { stale in try await raiseEpoch(target, leaseID: leaseID, past: stale) })
    }

    /// Raises a held claim's epoch past `stale`, on the blob (under the lease) and in the cursor row, so
    /// that a copy of a write fenced with `stale` still on its way is refused (docs/worker.md, "Apply").
    private func raiseEpoch(_ target: TargetName, leaseID: String, past stale: Int64) async throws -> Int64 {
        guard stale < Int64.max else {
            throw WorkerError(.targetInvalid, target: target, "the blob's sequence number is exhausted")
        }
        let raised = try await calls("Set Blob Properties (sequence number)") {
            try await services.blob.setSequenceNumber(
                target.address, .max(stale + 1), conditions: BlobConditions(leaseID: leaseID))
        }
        let epoch = raised.sequenceNumber ?? stale + 1
        try await fenceCursor(target, epoch: epoch)
        logger.notice(
            "raised the epoch before repeating a write of unknown outcome",
            metadata: ["target": "\(target)", "epoch": "\(epoch)"])
        return epoch
    }

    private func fenceCursor(_ target: TargetName, epoch: Int64) async throws {
        while true {
            if var cursor = try await control.cursor(target), let etag = cursor.etag {
                // Equal: this claim's own update, whose answer was lost. Higher: a later claim's.
                if cursor.epoch == epoch { return }
                guard cursor.epoch < epoch else {
                    throw WorkerError(
                        .claimLost, target: target,
                        "a later claim fenced the cursor with epoch \(cursor.epoch) > \(epoch)")
                }
                cursor.epoch = epoch
                cursor.updatedAt = Date()
                do {
                    try await calls("Update Entity") {
                        try await services.table.update(
                            configuration.table, cursor.entity, mode: .replace, ifMatch: .etag(etag))
                    }
                    return
                } catch let error as StorageError where error.status == 412 {
                    continue
                }
            }
            do {
                try await calls("Insert Entity") {
                    try await services.table.insert(
                        configuration.table, CursorRow(target: target, epoch: epoch, updatedAt: Date()).entity)
                }
                return
            } catch let error as StorageError where error.code == .entityAlreadyExists {
                continue
            }
        }
    }

    /// Renews the lease every third of its duration until cancelled. The claim is marked lost when the
    /// service refuses the renewal, or when no renewal succeeded for two thirds of the duration (the
    /// lease may lapse before this instance hears about it).
    func keep(_ claim: Claim) async {
        let period = Duration.seconds(configuration.leaseSeconds) / 3
        var lastRenewal = ContinuousClock.now
        while !Task.isCancelled, !claim.isLost {
            do {
                try await Task.sleep(for: lastRenewal + period - ContinuousClock.now)
            } catch { return }
            do {
                _ = try await services.blob.lease(claim.target.address, .renew(id: claim.leaseID), conditions: .none)
                lastRenewal = .now
            } catch let error as StorageError where error.meansClaimLost || error.status == 404 {
                claim.markLost("the lease could not be renewed: \(error.shortDescription)")
            } catch {
                logger.warning(
                    "lease renewal failed; retrying", metadata: ["target": "\(claim.target)", "error": "\(error)"])
                if ContinuousClock.now - lastRenewal > period * 2 {
                    claim.markLost("no lease renewal succeeded for \(Int((period * 2).seconds)) s")
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        if claim.isLost {
            WorkerMetrics.claimsLost()
            logger.warning("lost the claim on a target", metadata: ["target": "\(claim.target)"])
        }
    }

    /// Gives the lease back so that another instance can take the target at once.
    func release(_ claim: Claim) async {
        do {
            _ = try await calls("Lease Blob (release)") {
                try await services.blob.lease(claim.target.address, .release(id: claim.leaseID), conditions: .none)
            }
            logger.info("released target", metadata: ["target": "\(claim.target)"])
        } catch {
            logger.debug(
                "releasing the lease failed; it lapses on its own",
                metadata: ["target": "\(claim.target)", "error": "\(error)"])
        }
    }
}
