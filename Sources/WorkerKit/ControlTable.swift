import Foundation
import RelayShared

/// The control table as the worker reads and writes it: typed rows of one target's partition, every
/// read checked by the contract's row types (docs/replication-contract.md, "Control table").
struct ControlTable: Sendable {
    let table: any TableService
    let name: String
    let calls: StorageCalls

    func targetRow(_ key: String) async throws -> TargetRow? {
        guard let entity = try await entity(key, ControlNames.targetRow) else { return nil }
        return try TargetRow(entity: entity)
    }

    func cursor(_ target: TargetName) async throws -> CursorRow? {
        guard let entity = try await entity(target.key, ControlNames.cursorRow) else { return nil }
        return try CursorRow(entity: entity)
    }

    func segment(_ target: TargetName, seq: UInt64) async throws -> SegmentRow? {
        guard let entity = try await entity(target.key, ControlNames.segmentRow(seq)) else { return nil }
        return try SegmentRow(entity: entity)
    }

    func generation(_ target: TargetName, _ generation: UInt64) async throws -> GenerationRow? {
        guard let entity = try await entity(target.key, ControlNames.generationRow(generation)) else { return nil }
        return try GenerationRow(entity: entity)
    }

    /// The raw `seg-` rows with seqs in `seqs`, in seq order (the caller parses them, so that one bad row
    /// is reported by seq rather than failing the whole read).
    func segmentEntities(_ target: TargetName, seqs: ClosedRange<UInt64>) async throws -> [TableEntity] {
        let upper =
            seqs.upperBound < ControlNames.maxSeq
            ? ControlNames.segmentRow(seqs.upperBound + 1) : ControlNames.segmentRowPrefix + "~"
        return try await query(target.key, from: ControlNames.segmentRow(seqs.lowerBound), to: upper)
    }

    /// Every row of `key` whose RowKey is in [from, to), following continuations.
    func query(_ key: String, from: String?, to: String?, limit: Int = .max) async throws -> [TableEntity] {
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

    /// Writes `row` (merge) if its ETag still matches; on `412` re-reads and calls `change` again, so that
    /// the client's and the worker's updates of a `gen-` row never overwrite each other.
    func updateGeneration(_ target: TargetName, _ generation: UInt64, change: (inout GenerationRow) -> Bool)
        async throws
    {
        while true {
            guard var row = try await self.generation(target, generation), let etag = row.etag else { return }
            guard change(&row) else { return }
            do {
                try await calls("Update Entity") {
                    try await table.update(name, row.entity, mode: .replace, ifMatch: .etag(etag))
                }
                return
            } catch let error as StorageError where error.status == 412 || error.status == 404 {
                continue
            }
        }
    }
}
