import Foundation

/// Snapshot Blob: a read-only copy of a blob's data, properties and page ranges at one moment.
extension LocalBlobService {
    public func snapshot(_ blob: BlobAddress, metadata: [String: String]?, conditions: BlobConditions) async throws -> String {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        if let metadata { try LocalBlobValidation.metadata(metadata) }
        let directory = store.blobDirectory
        return try await write { db, now, files in
            var base = try Self.requireRecord(blob, snapshot: nil, in: db)
            try Self.check(conditions, on: base, access: .snapshot, at: now)
            let latest = try Self.snapshots(of: blob, in: db).last.flatMap { LocalBlobSnapshotID.ticks(of: $0.snapshot) }
            let ticks = Swift.max(Int64(now * 10_000_000), (latest ?? 0) + 1)
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
    static func string(ticks: Int64) -> String {
        var seconds = time_t(ticks / 10_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
        }
        let date = "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
        let time = "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
        return "\(date)T\(time).\(pad(Int(ticks % 10_000_000), 7))Z"
    }

    /// The ticks of an id made by `string(ticks:)`; nil for anything else.
    static func ticks(of id: String) -> Int64? {
        let fields = id.split(whereSeparator: { "-T:.Z".contains($0) }).map { Int($0) }
        guard id.count == 28, fields.count == 7, fields.allSatisfy({ $0 != nil }) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(fields[0]! - 1900)
        parts.tm_mon = Int32(fields[1]! - 1)
        parts.tm_mday = Int32(fields[2]!)
        parts.tm_hour = Int32(fields[3]!)
        parts.tm_min = Int32(fields[4]!)
        parts.tm_sec = Int32(fields[5]!)
        return Int64(timegm(&parts)) * 10_000_000 + Int64(fields[6]!)
    }
}
