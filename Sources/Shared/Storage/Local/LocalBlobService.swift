import Foundation

/// The Blob service of the local store: blobs as files under `blobs/` (page blobs sparse), their
/// properties, page ranges, leases and snapshots in the store's SQLite database, with Azure's
/// semantics and error codes (docs/storage.md, "The local store").
///
/// Several processes may share one store. Every write runs in one SQLite `BEGIN IMMEDIATE`
/// transaction that holds the store's write lock from the condition checks through the data write
/// (`pwrite`, hole punch, truncate, copy) to the commit. So a Put Page that passed its lease and
/// sequence-number checks has written its data before any other process can take over the lease or
/// raise the sequence number: a fenced-off writer can never land data after the takeover, which is
/// what Azure guarantees and what the worker's epoch fencing relies on. The price is that data writes
/// of one store are serialized, which costs little: a 4 MiB `pwrite` into the page cache takes about
/// a millisecond, and page blob writes are bounded by memory bandwidth anyway.
///
/// Crashes: data is written before the commit. A process killed in between leaves data whose page
/// range, ETag and change log were not recorded; the request was never acknowledged, so, as with a
/// timed-out Azure request, its outcome is unknown and the caller repeats it. Nothing acknowledged is
/// lost: the commit (WAL, kept across a process crash) happens before the answer, and written data is
/// in the page cache, which outlives the process.
public struct LocalBlobService: BlobService {
    let store: LocalStore
    private let gate = WriteGate()
    /// How long a deleted container's name cannot be created again. Azure: "at least 30 seconds", during
    /// which Create Container answers `409 ContainerBeingDeleted` (Delete Container's remarks).
    let deletedNameHold: TimeInterval

    public static let azureDeletedNameHold: TimeInterval = 30

    /// Opens the Blob service of `store`, creating its tables if needed.
    public init(store: LocalStore, deletedNameHold: TimeInterval = azureDeletedNameHold) async throws {
        self.store = store
        self.deletedNameHold = deletedNameHold
        try await store.runMappingErrors("create the blob tables") { db in try db.execute(LocalBlobRecord.schema) }
    }

    // MARK: Containers

    public func createContainer(_ container: String) async throws {
        try LocalBlobValidation.containerName(container)
        try await write { db, now, _ in
            guard try db.query("SELECT 1 FROM blob_containers WHERE name = ?", [.text(container)]).isEmpty else {
                throw StorageError.conflict(.containerAlreadyExists, "container \(container) already exists")
            }
            try db.query("DELETE FROM blob_deleted_containers WHERE held_until <= ?", [.real(now)])
            guard try db.query("SELECT 1 FROM blob_deleted_containers WHERE name = ?", [.text(container)]).isEmpty
            else {
                throw StorageError.conflict(
                    .containerBeingDeleted, "The specified container is being deleted. Try operation later.")
            }
            try db.query(
                "INSERT INTO blob_containers (name, created) VALUES (?, ?)", [.text(container), .integer(Int64(now))])
        }
    }

    public func listBlobs(container: String, prefix: String, marker: String?, maxResults: Int) async throws
        -> BlobListing
    {
        try LocalBlobValidation.containerName(container)
        guard (1...5000).contains(maxResults) else {
            throw StorageError.badRequest(.outOfRangeQueryParameterValue, "maxresults \(maxResults) is outside 1…5000")
        }
        return try await read { db, now in
            try Self.requireContainer(container, in: db)
            // Names from the marker (the first name of this page) on that start with the prefix; one
            // more row than asked tells whether there is a next page and where it starts.
            let start = marker ?? prefix
            let rows = try db.query(
                """
                SELECT \(LocalBlobRecord.columns) FROM blobs
                WHERE container = ? AND snapshot = '' AND name >= ? AND substr(name, 1, length(?)) = ?
                ORDER BY name LIMIT ?
                """,
                [.text(container), .text(start), .text(prefix), .text(prefix), .integer(Int64(maxResults + 1))])
            let records = try rows.map { try LocalBlobRecord(row: $0, databasePath: db.path) }
            let page = records.prefix(maxResults)
            return BlobListing(
                items: page.map { BlobListing.Item(name: $0.address.name, properties: $0.properties(at: now)) },
                nextMarker: records.count > maxResults ? records[maxResults].address.name : nil)
        }
    }

    /// List Containers: names from `marker` (a `next` of an earlier page) on that start with `prefix`,
    /// with their creation time (a container's only change here, so its Last-Modified).
    public func listContainers(prefix: String, marker: String?, maxResults: Int) async throws -> ListingPage<
        (name: String, created: Date)
    > {
        guard (1...5000).contains(maxResults) else {
            throw StorageError.badRequest(.outOfRangeQueryParameterValue, "maxresults \(maxResults) is outside 1…5000")
        }
        return try await read { db, _ in
            let rows = try db.query(
                """
                SELECT name, created FROM blob_containers WHERE name >= ? AND substr(name, 1, length(?)) = ?
                ORDER BY name LIMIT ?
                """,
                [.text(max(marker ?? "", prefix)), .text(prefix), .text(prefix), .integer(Int64(maxResults + 1))])
            let items = try rows.map { row -> (name: String, created: Date) in
                guard let name = row[0].string, let created = row[1].int64 else {
                    throw StorageError(
                        .internalError, status: 500, "\(db.path): a blob_containers row has unexpected column types")
                }
                return (name, Date(timeIntervalSince1970: Double(created)))
            }
            return ListingPage(
                items: Array(items.prefix(maxResults)), next: items.count > maxResults ? items[maxResults].name : nil)
        }
    }

    /// Delete Container with every blob and snapshot in it, leased or not (Azure's rule: only a lease on
    /// the container itself protects it, and the local store keeps none). The name is then held for
    /// `deletedNameHold`; every other operation finds the container gone (404) meanwhile, as in Azure. `check` sees the container's
    /// creation time inside the transaction, for If-Modified-Since and If-Unmodified-Since.
    public func deleteContainer(_ container: String, check: @escaping @Sendable (Date) throws -> Void = { _ in })
        async throws
    {
        try LocalBlobValidation.containerName(container)
        try await write { [deletedNameHold] db, now, files in
            let rows = try db.query("SELECT created FROM blob_containers WHERE name = ?", [.text(container)])
            guard let created = rows.first?.first?.int64 else {
                throw StorageError.notFound(.containerNotFound, "container \(container) does not exist")
            }
            try check(Date(timeIntervalSince1970: Double(created)))
            for row in try db.query("SELECT file FROM blobs WHERE container = ?", [.text(container)]) {
                if let file = row[0].string { files.obsolete.append(file) }
            }
            // Pages and change logs go with their blobs (ON DELETE CASCADE).
            try db.query("DELETE FROM blobs WHERE container = ?", [.text(container)])
            try db.query("DELETE FROM blob_containers WHERE name = ?", [.text(container)])
            try db.query(
                "INSERT OR REPLACE INTO blob_deleted_containers (name, held_until) VALUES (?, ?)",
                [.text(container), .real(now + deletedNameHold)])
        }
    }

    // MARK: Block blobs and common blob operations

    @discardableResult
    public func putBlockBlob(_ blob: BlobAddress, data: [UInt8], metadata: [String: String], conditions: BlobConditions)
        async throws -> BlobWriteResult
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.metadata(metadata)
        try LocalBlobValidation.conditions(conditions)
        guard data.count <= LocalBlobValidation.maxBlockBlobSize else {
            throw StorageError(
                .requestBodyTooLarge, status: 413,
                "block blob \(blob) of \(data.count) bytes is over Put Blob's 5000 MiB limit")
        }
        return try await write { db, now, files in
            try replaceBlob(
                blob, type: .blockBlob, size: UInt64(data.count), sequenceNumber: nil, metadata: metadata,
                conditions: conditions, now: now, files: files, in: db
            ) { file in
                try file.write(data, at: 0)
            }
        }
    }

    public func getBlob(_ blob: BlobAddress, range: ByteRange?, snapshot: String?, conditions: BlobConditions)
        async throws -> BlobContent
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        let directory = store.blobDirectory
        return try await read { db, now in
            let record = try Self.requireRecord(blob, snapshot: snapshot, in: db)
            try Self.check(conditions, on: record, access: .read, at: now)
            var bytes = ByteRange(offset: 0, length: record.size)
            if let range {
                guard range.length > 0, range.offset < record.size else {
                    throw StorageError(
                        .invalidRange, status: 416,
                        "range \(range) starts at or past the end of \(blob) (\(record.size) bytes)")
                }
                bytes = ByteRange(offset: range.offset, length: min(range.length, record.size - range.offset))
            }
            guard bytes.length <= LocalBlobValidation.maxReadBytes else {
                throw StorageError.badRequest(
                    .outOfRangeInput,
                    "a read of \(bytes.length) bytes of \(blob) is over the 1 GiB a single Get Blob returns; read it in ranges"
                )
            }
            let file = try SystemFile.openForReading(directory + "/" + record.file)
            return BlobContent(
                data: try file.readExactly(Int(bytes.length), at: bytes.offset), properties: record.properties(at: now))
        }
    }

    public func blobProperties(_ blob: BlobAddress, snapshot: String?, conditions: BlobConditions) async throws
        -> BlobProperties
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        return try await read { db, now in
            let record = try Self.requireRecord(blob, snapshot: snapshot, in: db)
            try Self.check(conditions, on: record, access: .read, at: now)
            return record.properties(at: now)
        }
    }

    public func deleteBlob(
        _ blob: BlobAddress, snapshot: String?, deleteSnapshots: DeleteSnapshots?, conditions: BlobConditions
    ) async throws {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        if snapshot != nil, deleteSnapshots != nil {
            throw StorageError.badRequest(
                .invalidQueryParameterValue,
                "deleting one snapshot of \(blob) takes no delete-snapshots option; drop it")
        }
        try await write { db, now, files in
            let record = try Self.requireRecord(blob, snapshot: snapshot, in: db)
            try Self.check(conditions, on: record, access: .write, at: now)
            if snapshot != nil {
                try Self.delete(record, files: files, in: db)
                try Self.compactChanges(of: try Self.requireRecord(blob, snapshot: nil, in: db), in: db)
                return
            }
            let snapshots = try Self.snapshots(of: blob, in: db)
            if !snapshots.isEmpty, deleteSnapshots == nil {
                throw StorageError.conflict(
                    .snapshotsPresent,
                    "\(blob) has \(snapshots.count) snapshots; delete them with it (include) or alone (only)")
            }
            for snapshot in snapshots { try Self.delete(snapshot, files: files, in: db) }
            if deleteSnapshots == .only {
                try Self.compactChanges(of: record, in: db)
            } else {
                try Self.delete(record, files: files, in: db)
            }
        }
    }

    @discardableResult
    public func setMetadata(_ blob: BlobAddress, _ metadata: [String: String], conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.metadata(metadata)
        try LocalBlobValidation.conditions(conditions)
        return try await write { db, now, _ in
            var record = try Self.requireRecord(blob, snapshot: nil, in: db)
            try Self.check(conditions, on: record, access: .write, at: now)
            record.metadata = metadata
            record.touch(at: now)
            try Self.save(record, in: db)
            return record.writeResult
        }
    }

    /// Put Blob of either type: checks the conditions against the blob being replaced (if any), makes
    /// a new data file with `fill`, and points the blob at it. The lease and creation time survive a
    /// replacement, as in Azure.
    func replaceBlob(
        _ blob: BlobAddress, type: BlobType, size: UInt64, sequenceNumber: Int64?, metadata: [String: String],
        conditions: BlobConditions, now: Double, files: LocalBlobFileChanges, in db: SQLiteDatabase,
        fill: (SystemFile) throws -> Void
    ) throws -> BlobWriteResult {
        try Self.requireContainer(blob.container, in: db)
        let existing = try Self.record(blob, snapshot: nil, in: db)
        if existing != nil, conditions.ifNoneMatch == "*" {
            // Create-only Put Blob: Azure answers 409 rather than the 412 of other failed conditions.
            throw StorageError.conflict(
                .blobAlreadyExists, "blob \(blob) already exists and If-None-Match: * asked to create it only")
        }
        try Self.check(conditions, on: existing, blob: blob, access: .write, at: now)
        let fileName = UUID().uuidString.lowercased()
        files.created.append(fileName)
        try fill(try SystemFile.createNew(store.blobDirectory + "/" + fileName))
        let seconds = Int64(now.rounded(.down))
        var record =
            existing
            ?? LocalBlobRecord(
                id: 0, address: blob, snapshot: "", type: type, size: 0, file: fileName, etagTicks: 0,
                lastModified: seconds, created: seconds, sequenceNumber: nil, metadata: [:], lease: LocalBlobLease(),
                epoch: 0)
        record.type = type
        record.size = size
        record.file = fileName
        record.sequenceNumber = sequenceNumber
        record.metadata = metadata
        record.touch(at: now)
        guard let existing else {
            try Self.insert(record, in: db)
            return record.writeResult
        }
        files.obsolete.append(existing.file)
        try LocalBlobRangeTable.pages.removeAll(key: [.integer(record.id)], in: db)
        // Azure refuses a diff across a Put Blob that replaced the blob; the local store answers one
        // that is never wrong: every page of the old and new extent changed.
        try Self.recordChange(ByteRange(offset: 0, length: max(existing.size, size)), of: record, in: db)
        try Self.save(record, in: db)
        return record.writeResult
    }

    // MARK: Transactions

    /// Runs a write in one IMMEDIATE transaction on a store thread, with the time it runs at and a
    /// record of the files it creates (removed if it fails) and makes obsolete (removed after commit).
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase, Double, LocalBlobFileChanges) throws -> T)
        async throws -> T
    {
        let gate = gate
        let directory = store.blobDirectory
        let clock = store.clock
        return try await store.runMappingErrors("blob write") { db in
            let files = LocalBlobFileChanges()
            let result: T
            do {
                // The in-process gate queues this process's writers on a lock instead of SQLite's
                // sleeping busy handler; other processes still wait on SQLite's lock.
                result = try gate.locked { try db.transaction { try body(db, clock.now.timeIntervalSince1970, files) } }
            } catch {
                for name in files.created { try? SystemFile.remove(directory + "/" + name) }
                throw error
            }
            // A file that cannot be removed is an orphan taking space, not a wrong answer: the write stands.
            for name in files.obsolete { try? SystemFile.remove(directory + "/" + name) }
            return result
        }
    }

    /// Runs a read in one read transaction (a consistent view of the rows) on a store thread.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase, Double) throws -> T) async throws -> T {
        let clock = store.clock
        return try await store.runMappingErrors("blob read") { db in
            var attempts = 0
            while true {
                do {
                    return try db.reading { try body(db, clock.now.timeIntervalSince1970) }
                } catch let error as FileError where error.errno == ENOENT && attempts < 3 {
                    // A Put Blob from another process replaced the blob between our reading its row and
                    // opening its file: read again, now seeing the new row.
                    attempts += 1
                }
            }
        }
    }

    // MARK: Rows

    static func requireContainer(_ container: String, in db: SQLiteDatabase) throws {
        guard try !db.query("SELECT 1 FROM blob_containers WHERE name = ?", [.text(container)]).isEmpty else {
            throw StorageError.notFound(.containerNotFound, "container \(container) does not exist; create it first")
        }
    }

    static func record(_ blob: BlobAddress, snapshot: String?, in db: SQLiteDatabase) throws -> LocalBlobRecord? {
        let rows = try db.query(
            "SELECT \(LocalBlobRecord.columns) FROM blobs WHERE container = ? AND name = ? AND snapshot = ?",
            [.text(blob.container), .text(blob.name), .text(snapshot ?? "")])
        return try rows.first.map { try LocalBlobRecord(row: $0, databasePath: db.path) }
    }

    /// The blob or snapshot; `404 ContainerNotFound` or `404 BlobNotFound` if it does not exist.
    static func requireRecord(_ blob: BlobAddress, snapshot: String?, in db: SQLiteDatabase) throws -> LocalBlobRecord {
        try requireContainer(blob.container, in: db)
        guard let record = try record(blob, snapshot: snapshot, in: db), snapshot.map({ !$0.isEmpty }) ?? true else {
            let what = snapshot.map { "snapshot \($0) of blob \(blob)" } ?? "blob \(blob)"
            throw StorageError.notFound(.blobNotFound, "\(what) does not exist")
        }
        return record
    }

    static func snapshots(of blob: BlobAddress, in db: SQLiteDatabase) throws -> [LocalBlobRecord] {
        try db.query(
            "SELECT \(LocalBlobRecord.columns) FROM blobs WHERE container = ? AND name = ? AND snapshot != '' ORDER BY snapshot",
            [.text(blob.container), .text(blob.name)]
        ).map { try LocalBlobRecord(row: $0, databasePath: db.path) }
    }

    /// Inserts a new row; returns its id.
    @discardableResult
    static func insert(_ record: LocalBlobRecord, in db: SQLiteDatabase) throws -> Int64 {
        let columns = LocalBlobRecord.columns.split(separator: ",").dropFirst().map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let rows = try db.query(
            "INSERT INTO blobs (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", "))) RETURNING id",
            record.values)
        guard let id = rows.first?.first?.int64 else {
            throw StorageError(
                .internalError, status: 500, "\(db.path): inserting \(record.address) returned no row id")
        }
        return id
    }

    static func save(_ record: LocalBlobRecord, in db: SQLiteDatabase) throws {
        let columns = LocalBlobRecord.columns.split(separator: ",").dropFirst().map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        try db.query(
            "UPDATE blobs SET \(columns.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?",
            record.values + [.integer(record.id)])
    }

    private static func delete(_ record: LocalBlobRecord, files: LocalBlobFileChanges, in db: SQLiteDatabase) throws {
        try db.query("DELETE FROM blobs WHERE id = ?", [.integer(record.id)])
        files.obsolete.append(record.file)
    }

    // MARK: Conditions

    enum Access {
        /// Get Blob, properties, page ranges: a lease id is optional; If-None-Match fails with 304.
        case read
        /// Writes and deletes: an active lease needs its id; conditions fail with 412.
        case write
        /// Snapshot Blob: the lease id is optional as for reads; conditions fail with 412 as for writes.
        case snapshot
        /// Lease Blob: the lease id is the operation's own argument; conditions fail with 412.
        case lease
    }

    static func check(_ conditions: BlobConditions, on record: LocalBlobRecord, access: Access, at now: Double) throws {
        try check(conditions, on: record, blob: record.address, access: access, at: now)
    }

    /// Lease, then If-Match / If-None-Match (docs/azure-rest.md, "Conditions and leases"). `record` is nil
    /// when a Put Blob creates the blob.
    static func check(
        _ conditions: BlobConditions, on record: LocalBlobRecord?, blob: BlobAddress, access: Access, at now: Double
    ) throws {
        let lease = record?.lease ?? LocalBlobLease()
        switch access {
        case .write: try lease.checkWrite(leaseID: conditions.leaseID, at: now, blob: blob)
        case .read, .snapshot: try lease.checkRead(leaseID: conditions.leaseID, at: now, blob: blob)
        case .lease: break
        }
        if let ifMatch = conditions.ifMatch, record == nil || (ifMatch != "*" && ifMatch != record?.etag) {
            throw StorageError.preconditionFailed(
                .conditionNotMet,
                "If-Match \(ifMatch) does not match \(blob) (ETag \(record?.etag ?? "none: it does not exist"))")
        }
        if let ifNoneMatch = conditions.ifNoneMatch, let record, ifNoneMatch == "*" || ifNoneMatch == record.etag {
            throw StorageError(
                .conditionNotMet, status: access == .read ? 304 : 412,
                "If-None-Match \(ifNoneMatch) matches \(blob) (ETag \(record.etag))")
        }
    }

    // MARK: Change log

    /// Notes that `range` of a base blob was written or cleared, for diffs against its snapshots; kept
    /// only while a snapshot exists, since without one no diff can ask for it.
    static func recordChange(_ range: ByteRange, of record: LocalBlobRecord, in db: SQLiteDatabase) throws {
        guard range.length > 0,
            try !db.query(
                "SELECT 1 FROM blobs WHERE container = ? AND name = ? AND snapshot != '' LIMIT 1",
                [.text(record.address.container), .text(record.address.name)]
            ).isEmpty
        else { return }
        try LocalBlobRangeTable.changes.insert(range, key: [.integer(record.id), .integer(record.epoch)], in: db)
    }

    /// Drops the changes older than the oldest snapshot left: diffs start at a snapshot, so they never
    /// ask for them.
    static func compactChanges(of base: LocalBlobRecord, in db: SQLiteDatabase) throws {
        let oldest = try db.query(
            "SELECT min(epoch) FROM blobs WHERE container = ? AND name = ? AND snapshot != ''",
            [.text(base.address.container), .text(base.address.name)]
        ).first?.first?.int64
        try db.query(
            "DELETE FROM blob_changes WHERE blob = ? AND epoch < ?", [.integer(base.id), .integer(oldest ?? Int64.max)])
    }
}

/// The files one write creates and makes obsolete. Used by one store thread inside one write only.
final class LocalBlobFileChanges {
    var created: [String] = []
    var obsolete: [String] = []
}

/// Serializes this process's blob writes before they take SQLite's write lock.
private final class WriteGate: Sendable {
    private let lock = NSLock()

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
