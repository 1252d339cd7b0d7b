import Foundation

/// Snapshot Blob: a read-only copy of a blob's data, properties and page ranges at one moment.
extension LocalBlobService {
    public func snapshot(_ blob: BlobAddress, metadata: [String: String]?, conditions: BlobConditions) async throws
        -> String
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        if let metadata { try LocalBlobValidation.metadata(metadata) }
        let directory = store.blobDirectory
        return try await write { db, now, files in
            var base = try Self.requireRecord(blob, snapshot: nil, in: db)
            try Self.check(conditions, on: base, access: .snapshot, at: now)
            let latest = try Self.snapshots(of: blob, in: db).last.flatMap {
                LocalBlobSnapshotID.ticks(of: $0.snapshot)
            }
            let ticks = Swift.max(AzureDate.ticks(Date(timeIntervalSince1970: now)), (latest ?? 0) + 1)
            let fileName = UUID().uuidString.lowercased()
            files.created.append(fileName)
            _ = try SystemFile.openForReading(directory + "/" + base.file).copy(to: directory + "/" + fileName)

            // The snapshot keeps the base's properties and pages at this moment; the base starts a new
            // change epoch so that diffs against this snapshot see only later changes.
            var snapshot = base
            snapshot.snapshot = LocalBlobSnapshotID.string(ticks: ticks)
            snapshot.file = fileName
            snapshot.lease = LocalBlobLease()
            snapshot.metadata = metadata ?? base.metadata
            base.epoch += 1
            snapshot.epoch = base.epoch
            let snapshotID = try Self.insert(snapshot, in: db)
            try LocalBlobRangeTable.pages.copy(key: [.integer(base.id)], to: [.integer(snapshotID)], in: db)
            try Self.save(base, in: db)
            return snapshot.snapshot
        }
    }
}

/// Snapshot ids: ISO 8601 UTC times with 7 fractional digits (100 ns ticks), as Azure makes them.
enum LocalBlobSnapshotID {
    static func string(ticks: Int64) -> String { AzureDate.iso8601(ticks: ticks) }

    /// The ticks of an id made by `string(ticks:)`; nil for anything else.
    static func ticks(of id: String) -> Int64? {
        guard id.utf8.count == 28 else { return nil }
        return AzureDate.parseISO8601Ticks(id)
    }
}
