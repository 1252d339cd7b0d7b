import Foundation

/// A table service with Azure's transient failures and added latency over any backend. Its data
/// semantics are the base's: ETags and batches are never faked.
public struct FaultyTableService<Base: TableService>: TableService {
    public let base: Base
    public let plan: FaultPlan

    public init(_ base: Base, plan: FaultPlan) {
        self.base = base
        self.plan = plan
    }

    public func createTable(_ table: String) async throws {
        try await plan.inject("Create Table") { try await base.createTable(table) }
    }

    @discardableResult
    public func insert(_ table: String, _ entity: TableEntity) async throws -> String {
        try await plan.inject("Insert Entity") { try await base.insert(table, entity) }
    }

    @discardableResult
    public func upsert(_ table: String, _ entity: TableEntity, mode: TableWriteMode) async throws -> String {
        try await plan.inject("Insert Or \(mode == .replace ? "Replace" : "Merge") Entity") {
            try await base.upsert(table, entity, mode: mode)
        }
    }

    @discardableResult
    public func update(_ table: String, _ entity: TableEntity, mode: TableWriteMode, ifMatch: ETagCondition)
        async throws -> String
    {
        try await plan.inject(mode == .replace ? "Update Entity" : "Merge Entity") {
            try await base.update(table, entity, mode: mode, ifMatch: ifMatch)
        }
    }

    public func delete(_ table: String, partitionKey: String, rowKey: String, ifMatch: ETagCondition) async throws {
        try await plan.inject("Delete Entity") {
            try await base.delete(table, partitionKey: partitionKey, rowKey: rowKey, ifMatch: ifMatch)
        }
    }

    public func get(_ table: String, partitionKey: String, rowKey: String) async throws -> TableEntity {
        try await plan.inject("Query Entity") { try await base.get(table, partitionKey: partitionKey, rowKey: rowKey) }
    }

    public func query(
        _ table: String, partitionKey: String, rowKeyFrom: String?, rowKeyTo: String?, pageSize: Int,
        continuation: TableContinuation?
    ) async throws -> TableQueryPage {
        try await plan.inject("Query Entities") {
            try await base.query(
                table, partitionKey: partitionKey, rowKeyFrom: rowKeyFrom, rowKeyTo: rowKeyTo, pageSize: pageSize,
                continuation: continuation)
        }
    }

    @discardableResult
    public func transact(_ table: String, _ operations: [TableOperation]) async throws -> [String?] {
        try await plan.inject("Entity Group Transaction") { try await base.transact(table, operations) }
    }
}
