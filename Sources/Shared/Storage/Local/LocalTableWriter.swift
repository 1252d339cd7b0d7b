import Foundation

/// The entity operations of the local table, run inside a transaction the caller holds, so that a
/// single write and every operation of a batch share one code path.
struct TableWriter {
    let db: SQLiteDatabase
    let table: String
    let tableKey: String
    /// The store's time when the transaction began: the least version the next write takes.
    let now: Date

    /// Applies one operation of a batch; answers the new ETag, or nil for a delete.
    func apply(_ operation: TableOperation) throws -> String? {
        switch operation {
        case .insert(let entity): return try insert(entity)
        case .upsert(let entity, let mode): return try upsert(entity, mode)
        case .update(let entity, let mode, let condition): return try update(entity, mode, condition)
        case .delete(let partitionKey, let rowKey, let condition):
            try delete(partitionKey, rowKey, condition)
            return nil
        }
    }

    func insert(_ entity: TableEntity) throws -> String {
        try checkKeys(entity.partitionKey, entity.rowKey)
        if try stored(entity.partitionKey, entity.rowKey) != nil {
            throw StorageError.conflict(
                .entityAlreadyExists,
                "Insert Entity \(table): \(describe(entity.partitionKey, entity.rowKey)) already exists")
        }
        return try write(entity, properties: entity.properties)
    }

    func upsert(_ entity: TableEntity, _ mode: TableWriteMode) throws -> String {
        try checkKeys(entity.partitionKey, entity.rowKey)
        let existing = try stored(entity.partitionKey, entity.rowKey)
        return try write(entity, properties: merged(entity, over: existing, mode))
    }

    func update(_ entity: TableEntity, _ mode: TableWriteMode, _ condition: ETagCondition) throws -> String {
        try checkKeys(entity.partitionKey, entity.rowKey)
        let existing = try existingMatching(entity.partitionKey, entity.rowKey, condition, "Update Entity")
        return try write(entity, properties: merged(entity, over: existing, mode))
    }

    func delete(_ partitionKey: String, _ rowKey: String, _ condition: ETagCondition) throws {
        try checkKeys(partitionKey, rowKey)
        _ = try existingMatching(partitionKey, rowKey, condition, "Delete Entity")
        try db.query(
            "DELETE FROM table_entities WHERE table_key = ? AND partition_key = ? AND row_key = ?",
            [.text(tableKey), .text(partitionKey), .text(rowKey)])
    }

    /// The stored entity with its ETag and Timestamp, or nil.
    func stored(_ partitionKey: String, _ rowKey: String) throws -> TableEntity? {
        let rows = try db.query(
            "SELECT row_key, properties, ticks FROM table_entities WHERE table_key = ? AND partition_key = ? AND row_key = ?",
            [.text(tableKey), .text(partitionKey), .text(rowKey)])
        return try rows.first.map { try Self.entity($0, partitionKey: partitionKey, table: table) }
    }

    /// Decodes a `row_key, properties, ticks` row.
    static func entity(_ row: [SQLiteValue], partitionKey: String, table: String) throws -> TableEntity {
        guard row.count == 3, let rowKey = row[0].string, let bytes = row[1].bytes, let ticks = row[2].int64 else {
            throw StorageError(
                .internalError, status: 500,
                "table \(table), partition \"\(partitionKey)\": an entity row has unexpected column types: \(row)")
        }
        let properties = try TablePropertyCodec.decode(
            bytes, where: "table \(table), entity (PartitionKey \"\(partitionKey)\", RowKey \"\(rowKey)\")")
        return TableEntity(
            partitionKey: partitionKey, rowKey: rowKey, properties: properties,
            etag: TableVersion.etag(ticks), timestamp: TableVersion.timestamp(ticks))
    }

    private func existingMatching(
        _ partitionKey: String, _ rowKey: String, _ condition: ETagCondition, _ operation: String
    ) throws -> TableEntity {
        guard let existing = try stored(partitionKey, rowKey) else {
            throw StorageError.notFound(
                .resourceNotFound, "\(operation) \(table): \(describe(partitionKey, rowKey)) does not exist")
        }
        if case .etag(let etag) = condition, etag != existing.etag {
            throw StorageError.preconditionFailed(
                .updateConditionNotSatisfied,
                "\(operation) \(table): \(describe(partitionKey, rowKey)) has ETag \(existing.etag ?? "?"), not \(etag); it changed since it was read, so read it again"
            )
        }
        return existing
    }

    private func merged(_ entity: TableEntity, over existing: TableEntity?, _ mode: TableWriteMode) -> [String:
        TableValue]
    {
        guard mode == .merge, let existing else { return entity.properties }
        return existing.properties.merging(entity.properties) { _, new in new }
    }

    /// Checks the entity as it will be stored, takes the next version and writes it.
    private func write(_ entity: TableEntity, properties: [String: TableValue]) throws -> String {
        try TableRules.check(
            TableEntity(partitionKey: entity.partitionKey, rowKey: entity.rowKey, properties: properties))
        let clock = try db.query(
            "UPDATE table_clock SET ticks = max(ticks + 1, ?) WHERE id = 0 RETURNING ticks",
            [.integer(AzureDate.ticks(now))])
        guard let ticks = clock.first?.first?.int64 else {
            throw StorageError(.internalError, status: 500, "\(db.path): table_clock has no row; the store is damaged")
        }
        try db.query(
            """
            INSERT INTO table_entities (table_key, partition_key, row_key, properties, ticks) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (table_key, partition_key, row_key) DO UPDATE SET properties = excluded.properties, ticks = excluded.ticks
            """,
            [
                .text(tableKey), .text(entity.partitionKey), .text(entity.rowKey),
                .blob(TablePropertyCodec.encode(properties)), .integer(ticks),
            ])
        return TableVersion.etag(ticks)
    }

    /// Bad keys are refused before any lookup, so they answer 400 rather than 404.
    private func checkKeys(_ partitionKey: String, _ rowKey: String) throws {
        try TableRules.checkKey(partitionKey, "PartitionKey")
        try TableRules.checkKey(rowKey, "RowKey")
    }

    private func describe(_ partitionKey: String, _ rowKey: String) -> String {
        "entity (PartitionKey \"\(partitionKey)\", RowKey \"\(rowKey)\")"
    }
}
