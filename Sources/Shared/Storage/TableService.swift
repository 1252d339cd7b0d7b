import Foundation

/// The Azure Table service operations vhd-relay uses (docs/storage.md, "Table service"). ETags are opaque
/// strings.
public protocol TableService: Sendable {
    /// Create Table; `409 TableAlreadyExists` if it exists.
    func createTable(_ table: String) async throws

    /// Insert Entity; `409 EntityAlreadyExists` if the keys are taken. Returns the new ETag.
    @discardableResult
    func insert(_ table: String, _ entity: TableEntity) async throws -> String

    /// Insert Or Replace, or Insert Or Merge (no condition).
    @discardableResult
    func upsert(_ table: String, _ entity: TableEntity, mode: TableWriteMode) async throws -> String

    /// Update Entity (replace) or Merge Entity, if the stored ETag matches (`412 UpdateConditionNotSatisfied`).
    @discardableResult
    func update(_ table: String, _ entity: TableEntity, mode: TableWriteMode, ifMatch: ETagCondition) async throws
        -> String

    /// Delete Entity, if the stored ETag matches.
    func delete(_ table: String, partitionKey: String, rowKey: String, ifMatch: ETagCondition) async throws

    /// Query Entity; `404 ResourceNotFound` if absent. The result carries its ETag.
    func get(_ table: String, partitionKey: String, rowKey: String) async throws -> TableEntity

    /// Query Entities of one partition with `rowKeyFrom <= RowKey < rowKeyTo` (nil bounds are open), in
    /// RowKey order, at most `pageSize` (≤ 1000) per page; pass the returned continuation back for the next.
    func query(
        _ table: String, partitionKey: String, rowKeyFrom: String?, rowKeyTo: String?, pageSize: Int,
        continuation: TableContinuation?
    ) async throws -> TableQueryPage

    /// Entity Group Transaction: ≤ 100 operations on distinct rows of one partition, all or nothing.
    /// Returns each operation's new ETag (nil for deletes). A failure names the failing operation's index.
    @discardableResult
    func transact(_ table: String, _ operations: [TableOperation]) async throws -> [String?]
}

/// Replace drops properties absent from the entity; merge keeps them.
public enum TableWriteMode: Hashable, Sendable {
    case replace
    case merge
}

/// `If-Match`: a stored ETag, or `*` for any existing entity.
public enum ETagCondition: Hashable, Sendable {
    case any
    case etag(String)
}

/// A typed property value (the EDM types).
public enum TableValue: Hashable, Sendable {
    case string(String)
    case int32(Int32)
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case dateTime(Date)
    case guid(UUID)
    case binary([UInt8])
}

public struct TableEntity: Hashable, Sendable {
    public var partitionKey: String
    public var rowKey: String
    public var properties: [String: TableValue]
    /// Set on entities read from the service.
    public var etag: String?
    public var timestamp: Date?

    public init(
        partitionKey: String, rowKey: String, properties: [String: TableValue] = [:], etag: String? = nil,
        timestamp: Date? = nil
    ) {
        self.partitionKey = partitionKey
        self.rowKey = rowKey
        self.properties = properties
        self.etag = etag
        self.timestamp = timestamp
    }

    public subscript(_ name: String) -> TableValue? {
        get { properties[name] }
        set { properties[name] = newValue }
    }
}

/// Opaque continuation of a query (Azure's NextPartitionKey / NextRowKey).
public struct TableContinuation: Hashable, Sendable {
    public var nextPartitionKey: String
    public var nextRowKey: String?

    public init(nextPartitionKey: String, nextRowKey: String?) {
        self.nextPartitionKey = nextPartitionKey
        self.nextRowKey = nextRowKey
    }
}

public struct TableQueryPage: Sendable {
    public var entities: [TableEntity]
    /// nil on the last page. A page may be empty and still carry a continuation.
    public var continuation: TableContinuation?

    public init(entities: [TableEntity], continuation: TableContinuation?) {
        self.entities = entities
        self.continuation = continuation
    }
}

public enum TableOperation: Hashable, Sendable {
    case insert(TableEntity)
    case upsert(TableEntity, TableWriteMode)
    case update(TableEntity, TableWriteMode, ifMatch: ETagCondition)
    case delete(partitionKey: String, rowKey: String, ifMatch: ETagCondition)

    public var partitionKey: String {
        switch self {
        case .insert(let entity), .upsert(let entity, _), .update(let entity, _, _): entity.partitionKey
        case .delete(let partitionKey, _, _): partitionKey
        }
    }

    public var rowKey: String {
        switch self {
        case .insert(let entity), .upsert(let entity, _), .update(let entity, _, _): entity.rowKey
        case .delete(_, let rowKey, _): rowKey
        }
    }
}

public enum TableLimits {
    public static let maxBatchOperations = 100
    public static let maxPageSize = 1000
    public static let maxEntityBytes = 1 << 20
}
