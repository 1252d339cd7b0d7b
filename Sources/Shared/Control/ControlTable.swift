import Foundation

/// Runs one storage call of `ControlTable`: the worker's counts and retries each answer
/// (`StorageCalls`); the client's services retry inside the Azure client already and call directly.
public protocol ControlTableCalls: Sendable {
    func callAsFunction<T>(_ operation: String, _ body: () async throws -> T) async throws -> T
}

/// Calls storage as it is, for the client.
public struct DirectControlTableCalls: ControlTableCalls {
    public init() {}

    public func callAsFunction<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try await body()
    }
}

/// The control table as the client and the worker read and write it: typed rows of a target's partition,
/// every read checked by the contract's row types (docs/replication-contract.md, "Control table").
public struct ControlTable: Sendable {
    public let table: any TableService
    public let name: String
    let calls: any ControlTableCalls

    public init(table: any TableService, name: String, calls: any ControlTableCalls = DirectControlTableCalls()) {
        self.table = table
        self.name = name
        self.calls = calls
    }

    /// The `target` row of the partition `key` (the worker finds targets by key), or nil.
    public func targetRow(_ key: String) async throws -> TargetRow? {
        guard let entity = try await entity(key, ControlNames.targetRow) else { return nil }
        return try TargetRow(entity: entity)
    }

    public func cursor(_ target: TargetName) async throws -> CursorRow? {
        guard let entity = try await entity(target.key, ControlNames.cursorRow) else { return nil }
        return try CursorRow(entity: entity)
    }

    public func segment(_ target: TargetName, seq: UInt64) async throws -> SegmentRow? {
        guard let entity = try await entity(target.key, ControlNames.segmentRow(seq)) else { return nil }
        return try SegmentRow(entity: entity)
    }

    public func generation(_ target: TargetName, _ generation: UInt64) async throws -> GenerationRow? {
        guard let entity = try await entity(target.key, ControlNames.generationRow(generation)) else { return nil }
        return try GenerationRow(entity: entity)
    }

    /// Every `gen-` row of `target`, oldest first.
    public func generations(_ target: TargetName) async throws -> [GenerationRow] {
        try await query(target.key, from: ControlNames.generationRowPrefix, to: ControlNames.generationRowPrefix + "~")
            .map { try GenerationRow(entity: $0) }
    }

    /// Every `seg-` row of `target`, lowest seq first.
    public func segments(_ target: TargetName) async throws -> [SegmentRow] {
        try await query(target.key, from: ControlNames.segmentRowPrefix, to: ControlNames.segmentRowPrefix + "~")
            .map { try SegmentRow(entity: $0) }
    }

    /// The raw `seg-` rows with seqs in `seqs`, in seq order (the caller parses them, so that one bad row
    /// is reported by seq rather than failing the whole read).
    public func segmentEntities(_ target: TargetName, seqs: ClosedRange<UInt64>) async throws -> [TableEntity] {
        let upper =
            seqs.upperBound < ControlNames.maxSeq
            ? ControlNames.segmentRow(seqs.upperBound + 1) : ControlNames.segmentRowPrefix + "~"
        return try await query(target.key, from: ControlNames.segmentRow(seqs.lowerBound), to: upper)
    }

    /// Every row of `key` whose RowKey is in [from, to), following continuations.
    public func query(_ key: String, from: String?, to: String?, limit: Int = .max) async throws -> [TableEntity] {
        var entities: [TableEntity] = []
        var continuation: TableContinuation?
        repeat {
            let page = try await calls("Query Entities") {
                try await table.query(
                    name, partitionKey: key, rowKeyFrom: from, rowKeyTo: to,
                    pageSize: min(TableLimits.maxPageSize, limit - entities.count), continuation: continuation)
            }
            entities += page.entities
            continuation = page.continuation
        } while continuation != nil && entities.count < limit
        return entities
    }

    private func entity(_ key: String, _ rowKey: String) async throws -> TableEntity? {
        do {
            return try await calls("Query Entity") { try await table.get(name, partitionKey: key, rowKey: rowKey) }
        } catch let error as StorageError where error.status == 404 {
            return nil
        }
    }

    /// Applies `change` to the `gen-` row and writes it whole if its ETag still matches; on `412` re-reads
    /// and calls `change` again, so that the client's and the worker's updates of the row never overwrite
    /// each other. `change` answers false to leave the row as it is. Returns the row as stored, or nil
    /// when there is none.
    @discardableResult
    public func updateGeneration(
        _ target: TargetName, _ generation: UInt64, change: (inout GenerationRow) -> Bool
    ) async throws -> GenerationRow? {
        while true {
            guard var row = try await self.generation(target, generation), let etag = row.etag else { return nil }
            guard change(&row) else { return row }
            do {
                row.etag = try await calls("Update Entity") {
                    try await table.update(name, row.entity, mode: .replace, ifMatch: .etag(etag))
                }
                return row
            } catch let error as StorageError where error.status == 412 || error.status == 404 {
                continue
            }
        }
    }
}
