import Foundation

/// One row of the `blobs` table: a base blob (`snapshot` empty) or one of its snapshots.
struct LocalBlobRecord: Sendable {
    var id: Int64
    var address: BlobAddress
    /// Empty for the base blob; the snapshot id for a snapshot.
    var snapshot: String
    var type: BlobType
    var size: UInt64
    /// The data file's name under the store's `blobs/` directory; a new name whenever Put Blob replaces
    /// the blob, so that readers of the old data never see a half-written new one.
    var file: String
    /// Strictly increasing per blob (see `nextETagTicks`), so the ETag changes on every write.
    var etagTicks: Int64
    var lastModified: Int64
    var created: Int64
    var sequenceNumber: Int64?
    var metadata: [String: String]
    var lease: LocalBlobLease
    /// Base blob: the current change epoch (bumped by each snapshot). Snapshot: the epoch it started.
    var epoch: Int64

    static let columns = """
        id, container, name, snapshot, type, size, file, etag_ticks, last_modified, created, sequence_number, \
        metadata, lease_state, lease_id, lease_duration, lease_expiry, lease_break, epoch
        """

    static let schema = """
        CREATE TABLE IF NOT EXISTS blob_containers (
            name TEXT PRIMARY KEY,
            created INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS blob_deleted_containers (
            name TEXT PRIMARY KEY,
            held_until REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS blobs (
            id INTEGER PRIMARY KEY,
            container TEXT NOT NULL REFERENCES blob_containers(name),
            name TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            type TEXT NOT NULL,
            size INTEGER NOT NULL,
            file TEXT NOT NULL,
            etag_ticks INTEGER NOT NULL,
            last_modified INTEGER NOT NULL,
            created INTEGER NOT NULL,
            sequence_number INTEGER,
            metadata TEXT NOT NULL,
            lease_state TEXT NOT NULL,
            lease_id TEXT,
            lease_duration INTEGER,
            lease_expiry REAL,
            lease_break REAL,
            epoch INTEGER NOT NULL,
            UNIQUE (container, name, snapshot)
        );
        -- Written pages of a blob or snapshot, merged: half-open [start, end).
        CREATE TABLE IF NOT EXISTS blob_pages (
            blob INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            PRIMARY KEY (blob, start)
        ) WITHOUT ROWID;
        -- Pages of a base blob written or cleared during an epoch (between two snapshots), merged per
        -- epoch; kept only while a snapshot that could ask for them exists.
        CREATE TABLE IF NOT EXISTS blob_changes (
            blob INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            PRIMARY KEY (blob, epoch, start)
        ) WITHOUT ROWID;
        """

    init(
        id: Int64, address: BlobAddress, snapshot: String, type: BlobType, size: UInt64, file: String,
        etagTicks: Int64, lastModified: Int64, created: Int64, sequenceNumber: Int64?,
        metadata: [String: String], lease: LocalBlobLease, epoch: Int64
    ) {
        self.id = id
        self.address = address
        self.snapshot = snapshot
        self.type = type
        self.size = size
        self.file = file
        self.etagTicks = etagTicks
        self.lastModified = lastModified
        self.created = created
        self.sequenceNumber = sequenceNumber
        self.metadata = metadata
        self.lease = lease
        self.epoch = epoch
    }

    /// Decodes a row selected with `columns`; a row that does not decode means the database was
    /// changed from outside, reported as such.
    init(row: [SQLiteValue], databasePath: String) throws {
        func damaged(_ field: String) -> StorageError {
            StorageError(
                .internalError, status: 500,
                "\(databasePath): blobs row has an invalid \(field); the local store was modified from outside")
        }
        guard row.count == 18,
            let id = row[0].int64, let container = row[1].string, let name = row[2].string,
            let snapshot = row[3].string
        else { throw damaged("key") }
        guard let type = row[4].string.flatMap(BlobType.init(rawValue:)) else { throw damaged("type") }
        guard let size = row[5].int64, size >= 0, let file = row[6].string,
            let etagTicks = row[7].int64, let lastModified = row[8].int64, let created = row[9].int64
        else { throw damaged("size, file or time") }
        guard let metadataText = row[11].string,
            let metadata = try? JSONDecoder().decode([String: String].self, from: Data(metadataText.utf8))
        else { throw damaged("metadata") }
        guard let leaseState = row[12].string.flatMap(LeaseInfo.State.init(rawValue:)) else {
            throw damaged("lease_state")
        }
        guard let epoch = row[17].int64 else { throw damaged("epoch") }
        self.init(
            id: id, address: BlobAddress(container: container, name: name), snapshot: snapshot, type: type,
            size: UInt64(size), file: file, etagTicks: etagTicks, lastModified: lastModified, created: created,
            sequenceNumber: row[10].int64, metadata: metadata,
            lease: LocalBlobLease(
                stored: leaseState, id: row[13].string, duration: row[14].int64.map { Int($0) },
                expiry: row[15].double, breakTime: row[16].double),
            epoch: epoch)
    }

    /// The values of `columns` after `id`, in order, for INSERT and UPDATE.
    var values: [SQLiteValue] {
        let metadataText = (try? JSONEncoder().encode(metadata)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return [
            .text(address.container), .text(address.name), .text(snapshot), .text(type.rawValue),
            .integer(Int64(size)), .text(file), .integer(etagTicks), .integer(lastModified), .integer(created),
            sequenceNumber.map(SQLiteValue.integer) ?? .null, .text(metadataText),
            .text(lease.stored.rawValue), lease.id.map(SQLiteValue.text) ?? .null,
            lease.duration.map { .integer(Int64($0)) } ?? .null,
            lease.expiry.map(SQLiteValue.real) ?? .null, lease.breakTime.map(SQLiteValue.real) ?? .null,
            .integer(epoch),
        ]
    }

    /// Azure-style quoted ETag, e.g. `"0x8DC1A2B3C4D5E6F"`.
    var etag: String { "\"0x\(String(etagTicks, radix: 16, uppercase: true))\"" }

    func properties(at now: Double) -> BlobProperties {
        BlobProperties(
            type: type, size: size, etag: etag,
            lastModified: Date(timeIntervalSince1970: Double(lastModified)),
            creationTime: Date(timeIntervalSince1970: Double(created)),
            sequenceNumber: type == .pageBlob ? sequenceNumber : nil,
            lease: lease.info(at: now), metadata: metadata)
    }

    var writeResult: BlobWriteResult {
        BlobWriteResult(
            etag: etag, lastModified: Date(timeIntervalSince1970: Double(lastModified)),
            sequenceNumber: type == .pageBlob ? sequenceNumber : nil)
    }

    /// Marks a write at `now`: a new ETag (strictly greater than the last) and Last-Modified in whole
    /// seconds, as Azure's headers carry them.
    mutating func touch(at now: Double) {
        etagTicks = Self.nextETagTicks(after: etagTicks, at: now)
        lastModified = Int64(now.rounded(.down))
    }

    /// 100 ns ticks of `now`, or one more than `previous` when the clock has not moved past it.
    static func nextETagTicks(after previous: Int64, at now: Double) -> Int64 {
        max(Int64(now * 10_000_000), previous + 1)
    }
}
