import Foundation

/// Lease Blob: Azure's lease state machine (`LocalBlobLease`) applied in one transaction.
extension LocalBlobService {
    public func lease(_ blob: BlobAddress, _ action: LeaseAction, conditions: BlobConditions) async throws
        -> LeaseResult
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        if conditions.leaseID != nil {
            throw StorageError.badRequest(
                .invalidHeaderValue,
                "a lease operation on \(blob) takes its lease id in the action, not in the conditions")
        }
        switch action {
        case .acquire(let duration, let proposedID):
            if case .seconds(let seconds) = duration, !(15...60).contains(seconds) {
                throw StorageError.badRequest(
                    .invalidHeaderValue, "lease duration \(seconds) s for \(blob) is outside 15…60 s (or infinite)")
            }
            if let proposedID { try LocalBlobValidation.leaseID(proposedID, "x-ms-proposed-lease-id") }
        case .renew(let id), .release(let id):
            try LocalBlobValidation.leaseID(id, "x-ms-lease-id")
        case .change(let id, let proposedID):
            try LocalBlobValidation.leaseID(id, "x-ms-lease-id")
            try LocalBlobValidation.leaseID(proposedID, "x-ms-proposed-lease-id")
        case .break(let period):
            if let period, !(0...60).contains(period) {
                throw StorageError.badRequest(
                    .invalidHeaderValue, "lease break period \(period) s for \(blob) is outside 0…60 s")
            }
        }
        return try await write { db, now, _ in
            var record = try Self.requireRecord(blob, snapshot: nil, in: db)
            try Self.check(conditions, on: record, access: .lease, at: now)
            let outcome = try record.lease.apply(action, at: now, blob: blob)
            // A lease operation changes neither the ETag nor Last-Modified.
            try Self.save(record, in: db)
            return LeaseResult(leaseID: outcome.id, leaseTime: outcome.breakSeconds, etag: record.etag)
        }
    }
}
