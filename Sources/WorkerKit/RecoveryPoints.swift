import Foundation
import Logging
import RelayShared

/// Recovery points (docs/worker.md, "Recovery points"): when a generation's last seq is applied and the
/// cursor saved, the target is snapshotted, the snapshot recorded in the generation's row (state
/// `applied`), and snapshots beyond the newest `keepSnapshots` deleted.
struct RecoveryPoints: Sendable {
    let services: StorageServices
    let configuration: WorkerConfiguration
    let control: ControlTable
    let calls: StorageCalls
    let logger: Logger

    /// Takes the recovery point of `last`'s generation if `last` ends it and it has none yet. Called with
    /// the cursor at `last`, before anything later is written (also after a restart, so a crash between
    /// the cursor update and the snapshot loses nothing).
    func take(after last: SegmentRow, claim: Claim) async throws {
        let message = last.message
        guard message.isLastOfGeneration else { return }
        let target = claim.target
        guard let generation = try await control.generation(target, message.generation) else {
            logger.warning(
                "a generation ended but has no gen- row; no recovery point recorded",
                metadata: ["target": "\(target)", "generation": "\(message.generation)"])
            return
        }
        guard generation.state == .sending || generation.state == .sent else { return }
        try claim.check()
        let snapshot = try await calls("Snapshot Blob") {
            try await services.blob.snapshot(
                target.address, metadata: ["relaygeneration": String(message.generation)],
                conditions: BlobConditions(leaseID: claim.leaseID))
        }
        let appliedAt = Date()
        try await control.updateGeneration(target, message.generation) { row in
            row.state = .applied
            row.snapshot = snapshot
            row.appliedAt = appliedAt
            if row.lastSeq == nil { row.lastSeq = message.seq }
            return true
        }
        WorkerMetrics.recoveryPoint()
        logger.notice(
            "recovery point taken",
            metadata: [
                "target": "\(target)", "generation": "\(message.generation)", "seq": "\(message.seq)",
                "snapshot": "\(snapshot)",
            ])
        try await prune(target, claim: claim)
    }

    /// Deletes the snapshots of all but the newest `keepSnapshots` generations that have one.
    private func prune(_ target: TargetName, claim: Claim) async throws {
        let entities = try await control.query(
            target.key, from: ControlNames.generationRowPrefix, to: ControlNames.generationRowPrefix + "~")
        let withSnapshots = entities.compactMap { try? GenerationRow(entity: $0) }.filter { $0.snapshot != nil }
            .sorted { $0.generation > $1.generation }
        for old in withSnapshots.dropFirst(max(0, configuration.keepSnapshots)) {
            guard let snapshot = old.snapshot else { continue }
            do {
                try await calls("Delete Blob (snapshot)") {
                    try await services.blob.deleteBlob(
                        target.address, snapshot: snapshot, deleteSnapshots: nil,
                        conditions: .none)
                }
            } catch let error as StorageError where error.status == 404 {
                // Deleted already (by an earlier attempt, or by hand).
            }
            try await control.updateGeneration(target, old.generation) { row in
                guard row.snapshot == snapshot else { return false }
                row.snapshot = nil
                return true
            }
            logger.info(
                "recovery point deleted",
                metadata: ["target": "\(target)", "generation": "\(old.generation)", "snapshot": "\(snapshot)"])
        }
    }
}
