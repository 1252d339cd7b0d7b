/// A set of byte ranges stored in SQLite, one row per merged range, keyed by some columns
/// (`blob_pages` by blob, `blob_changes` by blob and epoch). Updates touch only the rows around the
/// changed range, found through the primary key, so a write costs the same on a blob with a million
/// ranges as on an empty one.
struct LocalBlobRangeTable: Sendable {
    private let table: String
    private let keyColumns: [String]

    static let pages = LocalBlobRangeTable(table: "blob_pages", keyColumns: ["blob"])
    static let changes = LocalBlobRangeTable(table: "blob_changes", keyColumns: ["blob", "epoch"])

    private init(table: String, keyColumns: [String]) {
        self.table = table
        self.keyColumns = keyColumns
    }

    private var keyFilter: String { keyColumns.map { "\($0) = ?" }.joined(separator: " AND ") }

    /// Adds `range` to the set under `key`.
    func insert(_ range: ByteRange, key: [SQLiteValue], in db: SQLiteDatabase) throws {
        try update(around: range, key: key, in: db) { $0.insert(range) }
    }

    /// Removes `range` from the set under `key`.
    func remove(_ range: ByteRange, key: [SQLiteValue], in db: SQLiteDatabase) throws {
        try update(around: range, key: key, in: db) { $0.remove(range) }
    }

    /// The set under `key`, clipped to `bounds` if given.
    func ranges(key: [SQLiteValue], within bounds: ByteRange?, in db: SQLiteDatabase) throws -> PageRangeSet {
        guard let bounds else {
            let rows = try db.query("SELECT start, end FROM \(table) WHERE \(keyFilter) ORDER BY start", key)
            return PageRangeSet(try rows.map(Self.range))
        }
        return try neighbourhood(of: bounds, key: key, in: db).clipped(to: bounds)
    }

    /// The pages of base blob `blob` changed during `epochs`, from the `changes` table.
    static func changes(of blob: Int64, epochs: Range<Int64>, in db: SQLiteDatabase) throws -> PageRangeSet {
        let rows = try db.query(
            "SELECT start, end FROM blob_changes WHERE blob = ? AND epoch >= ? AND epoch < ?",
            [.integer(blob), .integer(epochs.lowerBound), .integer(epochs.upperBound)])
        return PageRangeSet(try rows.map(range))
    }

    /// Copies every range under `key` to `newKey` (a snapshot's pages).
    func copy(key: [SQLiteValue], to newKey: [SQLiteValue], in db: SQLiteDatabase) throws {
        let columns = keyColumns.joined(separator: ", ")
        let placeholders = keyColumns.map { _ in "?" }.joined(separator: ", ")
        try db.query(
            "INSERT INTO \(table) (\(columns), start, end) SELECT \(placeholders), start, end FROM \(table) WHERE \(keyFilter)",
            newKey + key)
    }

    func removeAll(key: [SQLiteValue], in db: SQLiteDatabase) throws {
        try db.query("DELETE FROM \(table) WHERE \(keyFilter)", key)
    }

    /// Loads the ranges that overlap or touch `range`, changes them with `change`, and writes them back.
    private func update(
        around range: ByteRange, key: [SQLiteValue], in db: SQLiteDatabase,
        _ change: (inout PageRangeSet) -> Void
    ) throws {
        let before = try neighbourhood(of: range, key: key, in: db)
        var after = before
        change(&after)
        guard after != before else { return }
        for old in before.ranges {
            try db.query("DELETE FROM \(table) WHERE \(keyFilter) AND start = ?", key + [.integer(Int64(old.offset))])
        }
        for new in after.ranges {
            try db.query(
                "INSERT INTO \(table) (\(keyColumns.joined(separator: ", ")), start, end) VALUES (\(keyColumns.map { _ in "?" }.joined(separator: ", ")), ?, ?)",
                key + [.integer(Int64(new.offset)), .integer(Int64(new.end))])
        }
    }

    /// The stored ranges that overlap or touch `range`: those starting inside `[offset, end]`, plus the
    /// one before `offset` if it reaches it. Ranges do not overlap, so no other row can.
    private func neighbourhood(of range: ByteRange, key: [SQLiteValue], in db: SQLiteDatabase) throws -> PageRangeSet {
        let before = try db.query(
            "SELECT start, end FROM \(table) WHERE \(keyFilter) AND start < ? ORDER BY start DESC LIMIT 1",
            key + [.integer(Int64(range.offset))])
        let inside = try db.query(
            "SELECT start, end FROM \(table) WHERE \(keyFilter) AND start >= ? AND start <= ? ORDER BY start",
            key + [.integer(Int64(range.offset)), .integer(Int64(range.end))])
        let previous = try before.map(Self.range).filter { $0.end >= range.offset }
        return PageRangeSet(previous + (try inside.map(Self.range)))
    }

    private static func range(_ row: [SQLiteValue]) throws -> ByteRange {
        guard row.count == 2, let start = row[0].int64, let end = row[1].int64, start >= 0, end > start else {
            throw StorageError(
                .internalError, status: 500, "a page range row is invalid; the local store was modified from outside")
        }
        return ByteRange(offset: UInt64(start), length: UInt64(end - start))
    }
}
