import Foundation
import Synchronization

/// The client lock of a target: a 60 s lease on `ControlNames.clientLockBlob` in the segments
/// container, renewed every 20 s, whose metadata names the holder (`ClientLockHolder`), so that a second
/// sync of the target is refused with the holder's host and start time (docs/replication-contract.md,
/// "Seqs"). The lease id is the client state's, so a client restarted after a crash takes it back at once.
public final class ClientLock: Sendable {
    public static let leaseSeconds = 60
    static let renewInterval = Duration.seconds(20)

    public let blob: BlobAddress
    public let leaseID: String
    private let service: any BlobService
    private let lost = Mutex<String?>(nil)
    private let renewal = Mutex<Task<Void, Never>?>(nil)

    private init(service: any BlobService, blob: BlobAddress, leaseID: String) {
        self.service = service
        self.blob = blob
        self.leaseID = leaseID
    }

    /// Takes the lock, creating the lock blob if needed, and starts renewing it.
    public static func acquire(
        service: any BlobService, container: String, target: TargetName, leaseID: String,
        holder: ClientLockHolder
    ) async throws -> ClientLock {
        let blob = BlobAddress(container: container, name: ControlNames.clientLockBlob(target: target))
        let lock = ClientLock(service: service, blob: blob, leaseID: leaseID)
        do {
            try await lock.takeLease()
        } catch let error as StorageError where error.code == .blobNotFound {
            do {
                try await service.putBlockBlob(
                    blob, data: [], metadata: [:], conditions: BlobConditions(ifNoneMatch: "*"))
            } catch let error as StorageError where error.status == 409 || error.status == 412 {
                // Another client created it first: fine, the lease decides.
            }
            try await lock.takeLease()
        }
        try await service.setMetadata(blob, holder.metadata, conditions: BlobConditions(leaseID: leaseID))
        lock.startRenewing()
        return lock
    }

    private func takeLease() async throws {
        do {
            _ = try await service.lease(
                blob, .acquire(.seconds(Self.leaseSeconds), proposedID: leaseID), conditions: .none)
        } catch let error as StorageError
            where error.code == .leaseAlreadyPresent || error.code == .leaseIsBreakingAndCannotBeAcquired
        {
            let properties = try? await service.blobProperties(blob, snapshot: nil, conditions: .none)
            let holder = properties.flatMap { ClientLockHolder(metadata: $0.metadata) }
            let who =
                holder.map {
                    "host \($0.host) (pid \($0.processID)), started \(ISO8601DateFormatter().string(from: $0.startedAt))"
                }
                ?? "another client"
            throw SyncError(
                .locked,
                "target is locked by \(who): another sync of it is running; wait for it to end "
                    + "(a lock whose client died frees itself within \(Self.leaseSeconds) s)")
        }
    }

    private func startRenewing() {
        let task = Task { [self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: Self.renewInterval)
                    _ = try await service.lease(blob, .renew(id: leaseID), conditions: .none)
                } catch is CancellationError {
                    return
                } catch {
                    lost.withLock { $0 = "the client lock could not be renewed: \(error)" }
                    return
                }
            }
        }
        renewal.withLock { $0 = task }
    }

    /// Why the lock was lost, if it was: the sync must stop before enqueuing anything more.
    public var lostReason: String? { lost.withLock { $0 } }

    /// Stops renewing and releases the lease (best effort: an unreleased lease expires by itself).
    public func release() async {
        renewal.withLock { $0?.cancel() }
        _ = try? await service.lease(blob, .release(id: leaseID), conditions: .none)
    }
}
