import Foundation

/// The Table service of the local store: tables and entities in the store's SQLite database, shared
/// safely by several processes.
///
/// Every write runs in one `BEGIN IMMEDIATE` transaction that reads the stored version, checks the
/// condition and writes, so of two processes racing an ETag-guarded update exactly one wins. Keys are
/// compared as SQLite compares text (bytewise UTF-8), which is the order of Unicode code points.
public struct LocalTableService: TableService {
    private let store: LocalStore

    /// Creates the table tables in `store` if they are missing.
    public init(store: LocalStore) async throws {
        self.store = store
        try await store.runMappingErrors("create the table tables") { db in try db.execute(Self.schema) }
    }

    private static let schema = """
        CREATE TABLE IF NOT EXISTS tables (key TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS table_entities (
            table_key TEXT NOT NULL,
            partition_key TEXT NOT NULL,
            row_key TEXT NOT NULL,
            properties BLOB NOT NULL,
            ticks INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS table_entities_by_key ON table_entities (table_key, partition_key, row_key);
        CREATE TABLE IF NOT EXISTS table_clock (id INTEGER PRIMARY KEY CHECK (id = 0), ticks INTEGER NOT NULL);
        INSERT OR IGNORE INTO table_clock (id, ticks) VALUES (0, 0);
        """

    public func createTable(_ table: String) async throws {
        let key = try TableRules.tableKey(table)
        let created = try await store.runMappingErrors("Create Table \(table)") { db in
            try db.query("INSERT OR IGNORE INTO tables (key, name) VALUES (?, ?)", [.text(key), .text(table)])
            return db.changes == 1
        }
        guard created else {
            throw StorageError.conflict(.tableAlreadyExists, "Create Table: table \(table) already exists")
        }
    }

    @discardableResult
    public func insert(_ table: String, _ entity: TableEntity) async throws -> String {
        try await write(table, "Insert Entity") { try $0.insert(entity) }
    }

    @discardableResult
    public func upsert(_ table: String, _ entity: TableEntity, mode: TableWriteMode) async throws -> String {
        try await write(table, mode == .replace ? "Insert Or Replace Entity" : "Insert Or Merge Entity") {
            try $0.upsert(entity, mode)
        }
    }

    @discardableResult
    public func update(_ table: String, _ entity: TableEntity, mode: TableWriteMode, ifMatch: ETagCondition)
        async throws -> String
    {
        try await write(table, mode == .replace ? "Update Entity" : "Merge Entity") {
            try $0.update(entity, mode, ifMatch)
        }
    }

    public func delete(_ table: String, partitionKey: String, rowKey: String, ifMatch: ETagCondition) async throws {
        try await write(table, "Delete Entity") {
            try $0.delete(partitionKey, rowKey, ifMatch)
        }
    }

    public func get(_ table: String, partitionKey: String, rowKey: String) async throws -> TableEntity {
        let key = try TableRules.tableKey(table)
        // One read transaction: the table cannot be deleted between its check and the read.
        let entity = try await store.runMappingErrors("Query Entity \(table)") { db in
            try db.reading {
                try Self.requireTable(key, table, db)
                return try TableWriter(db: db, table: table, tableKey: key, now: store.clock.now).stored(
                    partitionKey, rowKey)
            }
        }
        guard let entity else {
            throw StorageError.notFound(
                .resourceNotFound,
                "Query Entity \(table): no entity with PartitionKey \"\(partitionKey)\" and RowKey \"\(rowKey)\"")
        }
        return entity
    }

    public func query(
        _ table: String, partitionKey: String, rowKeyFrom: String?, rowKeyTo: String?, pageSize: Int,
        continuation: TableContinuation?
    ) async throws -> TableQueryPage {
        let key = try TableRules.tableKey(table)
        guard (1...TableLimits.maxPageSize).contains(pageSize) else {
            throw StorageError.badRequest(
                .outOfRangeQueryParameterValue,
                "Query Entities \(table): $top is \(pageSize), outside 1...\(TableLimits.maxPageSize)")
        }
        if let continuation, continuation.nextPartitionKey != partitionKey {
            throw StorageError.badRequest(
                .invalidInput,
                "Query Entities \(table): the continuation belongs to partition \"\(continuation.nextPartitionKey)\", not \"\(partitionKey)\"; pass back the one this query returned"
            )
        }
        // Both lower bounds go to SQLite, which compares them in its own (bytewise) order.
        var sql =
            "SELECT row_key, properties, ticks FROM table_entities WHERE table_key = ? AND partition_key = ? AND row_key >= ? AND row_key >= ?"
        var values: [SQLiteValue] = [
            .text(key), .text(partitionKey), .text(rowKeyFrom ?? ""), .text(continuation?.nextRowKey ?? ""),
        ]
        if let rowKeyTo {
            sql += " AND row_key < ?"
            values.append(.text(rowKeyTo))
        }
        sql += " ORDER BY row_key LIMIT ?"
        values.append(.integer(Int64(pageSize + 1)))
        return try await store.runMappingErrors("Query Entities \(table)") { [sql, values] db in
            let rows = try db.reading {
                try Self.requireTable(key, table, db)
                return try db.query(sql, values)
            }
            let entities = try rows.prefix(pageSize).map { row in
                try TableWriter.entity(row, partitionKey: partitionKey, table: table)
            }
            // The extra row, if any, is where the next page starts.
            let next = rows.count > pageSize ? rows[pageSize][0].string : nil
            return TableQueryPage(
                entities: entities,
                continuation: next.map { TableContinuation(nextPartitionKey: partitionKey, nextRowKey: $0) })
        }
    }

    @discardableResult
    public func transact(_ table: String, _ operations: [TableOperation]) async throws -> [String?] {
        guard (1...TableLimits.maxBatchOperations).contains(operations.count) else {
            throw StorageError.badRequest(
                .invalidInput,
                "Entity Group Transaction on \(table): \(operations.count) operations; a batch holds 1...\(TableLimits.maxBatchOperations)"
            )
        }
        let partition = operations[0].partitionKey
        if let index = operations.firstIndex(where: { $0.partitionKey != partition }) {
            throw StorageError.badRequest(
                .commandsInBatchActOnDifferentPartitions,
                "\(index):operation \(index) has PartitionKey \"\(operations[index].partitionKey)\" but operation 0 has \"\(partition)\"; a batch acts on one partition"
            )
        }
        var seen: Set<String> = []
        if let index = operations.firstIndex(where: { !seen.insert($0.rowKey).inserted }) {
            throw StorageError.badRequest(
                .invalidDuplicateRow,
                "\(index):operation \(index) acts again on RowKey \"\(operations[index].rowKey)\"; a batch may touch each entity once"
            )
        }
        return try await write(table, "Entity Group Transaction") { writer in
            try operations.enumerated().map { index, operation in
                do {
                    return try writer.apply(operation)
                } catch var error as StorageError {
                    // Azure's batch answer starts its message with the failing operation's 0-based index.
                    error.message = "\(index):\(error.message)"
                    throw error
                }
            }
        }
    }

    // MARK: Operators' calls (not in TableService: the replication never needs them)

    /// Query Tables: the tables' names as created, in the order of their case-insensitive keys, from
    /// `marker` (a `next` of an earlier page) on.
    public func listTables(marker: String?, maxResults: Int) async throws -> ListingPage<String> {
        guard (1...TableLimits.maxPageSize).contains(maxResults) else {
            throw StorageError.badRequest(
                .outOfRangeQueryParameterValue,
                "Query Tables: $top is \(maxResults), outside 1...\(TableLimits.maxPageSize)")
        }
        let rows = try await store.runMappingErrors("Query Tables") { db in
            try db.query(
                "SELECT key, name FROM tables WHERE key >= ? ORDER BY key LIMIT ?",
                [.text(marker ?? ""), .integer(Int64(maxResults + 1))])
        }
        let names = rows.compactMap { $0[1].string }
        return ListingPage(
            items: Array(names.prefix(maxResults)), next: rows.count > maxResults ? rows[maxResults][0].string : nil)
    }

    /// Delete Table with its entities.
    public func deleteTable(_ table: String) async throws {
        let key = try TableRules.tableKey(table)
        try await store.runMappingErrors("Delete Table \(table)") { db in
            try db.transaction {
                try Self.requireTable(key, table, db)
                try db.query("DELETE FROM table_entities WHERE table_key = ?", [.text(key)])
                try db.query("DELETE FROM tables WHERE key = ?", [.text(key)])
            }
        }
    }

    // MARK: Helpers

    /// Runs `body` in one write transaction on an existing table: all of it commits, or none.
    private func write<T: Sendable>(
        _ table: String, _ operation: String, _ body: @escaping @Sendable (TableWriter) throws -> T
    ) async throws -> T {
        let key = try TableRules.tableKey(table)
        let clock = store.clock
        return try await store.runMappingErrors("\(operation) \(table)") { db in
            try db.transaction {
                try Self.requireTable(key, table, db)
                return try body(TableWriter(db: db, table: table, tableKey: key, now: clock.now))
            }
        }
    }

    private static func requireTable(_ key: String, _ table: String, _ db: SQLiteDatabase) throws {
        guard try !db.query("SELECT 1 FROM tables WHERE key = ?", [.text(key)]).isEmpty else {
            throw StorageError.notFound(.tableNotFound, "table \(table) does not exist; create it first")
        }
    }
}
