import Foundation
import Logging

/// `TableService` over the Azure Table REST API (docs/azure-rest.md, "Table service"), JSON with
/// `minimalmetadata` reads.
public struct AzureTableService: TableService {
    let client: AzureClient
    static let jsonHeaders = [
        ("Accept", "application/json;odata=minimalmetadata"), ("DataServiceVersion", "3.0;NetFx"),
        ("MaxDataServiceVersion", "3.0;NetFx"),
    ]

    /// - Parameter logger: receives the retries; the default label is `vhd-relay.azure.table`.
    public init(
        connectionString: ConnectionString, transport: any HTTPTransport, retryPolicy: RetryPolicy = .init(),
        logger: Logger = Logger(label: "vhd-relay.azure.table"), observer: StorageAttemptObserver? = nil
    ) throws {
        guard let endpoint = connectionString.tableEndpoint else {
            throw ConnectionStringError("no table endpoint: give AccountName or TableEndpoint")
        }
        client = AzureClient(
            endpoint: endpoint, credential: connectionString.credential, service: .table,
            transport: transport, retryPolicy: retryPolicy, logger: logger, observer: observer)
    }

    public func createTable(_ table: String) async throws {
        _ = try await client.send(
            AzureRequest(
                "POST", "/Tables", headers: Self.jsonHeaders + [("Prefer", "return-no-content")],
                body: Array("{\"TableName\":\(JSONValue.quote(table))}".utf8), contentType: "application/json",
                safety: .idempotent, successAfterUnknownOutcome: [.tableAlreadyExists], subject: "table \(table)"))
    }

    @discardableResult
    public func insert(_ table: String, _ entity: TableEntity) async throws -> String {
        // Not repeated on unknown outcomes: a repeat after a silent success is 409 EntityAlreadyExists.
        let response = try await client.send(
            AzureRequest(
                "POST", "/" + AzurePath.encode(table), headers: Self.jsonHeaders + [("Prefer", "return-no-content")],
                body: try AzureTableJSON.encode(entity), contentType: "application/json", safety: .unsafe,
                subject: Self.subject(table, entity)))
        return try Self.etag(response, table, entity)
    }

    @discardableResult
    public func upsert(_ table: String, _ entity: TableEntity, mode: TableWriteMode) async throws -> String {
        let response = try await client.send(
            AzureRequest(
                mode == .replace ? "PUT" : "MERGE",
                AzurePath.entity(table: table, partitionKey: entity.partitionKey, rowKey: entity.rowKey),
                headers: Self.jsonHeaders, body: try AzureTableJSON.encode(entity), contentType: "application/json",
                safety: .idempotent, subject: Self.subject(table, entity)))
        return try Self.etag(response, table, entity)
    }

    @discardableResult
    public func update(_ table: String, _ entity: TableEntity, mode: TableWriteMode, ifMatch: ETagCondition)
        async throws -> String
    {
        let response = try await client.send(
            AzureRequest(
                mode == .replace ? "PUT" : "MERGE",
                AzurePath.entity(table: table, partitionKey: entity.partitionKey, rowKey: entity.rowKey),
                headers: Self.jsonHeaders + [("If-Match", Self.value(ifMatch))],
                body: try AzureTableJSON.encode(entity), contentType: "application/json",
                safety: ifMatch == .any ? .idempotent : .unsafe, subject: Self.subject(table, entity)))
        return try Self.etag(response, table, entity)
    }

    public func delete(_ table: String, partitionKey: String, rowKey: String, ifMatch: ETagCondition) async throws {
        _ = try await client.send(
            AzureRequest(
                "DELETE", AzurePath.entity(table: table, partitionKey: partitionKey, rowKey: rowKey),
                headers: Self.jsonHeaders + [("If-Match", Self.value(ifMatch))], safety: .idempotent,
                successAfterUnknownOutcome: [.resourceNotFound, "EntityNotFound"],
                subject: "entity (\(partitionKey), \(rowKey)) of table \(table)"))
    }

    public func get(_ table: String, partitionKey: String, rowKey: String) async throws -> TableEntity {
        let subject = "entity (\(partitionKey), \(rowKey)) of table \(table)"
        let response = try await client.send(
            AzureRequest(
                "GET", AzurePath.entity(table: table, partitionKey: partitionKey, rowKey: rowKey),
                headers: Self.jsonHeaders,
                maxResponseBytes: 4 << 20, safety: .idempotent, subject: subject))
        return try AzureTableJSON.decode(
            JSONValue.parseResponse(response.body, what: subject), table: table, etag: response.header("etag"))
    }

    public func query(
        _ table: String, partitionKey: String, rowKeyFrom: String?, rowKeyTo: String?, pageSize: Int,
        continuation: TableContinuation?
    ) async throws -> TableQueryPage {
        var filter = "PartitionKey eq \(Self.literal(partitionKey))"
        if let rowKeyFrom { filter += " and RowKey ge \(Self.literal(rowKeyFrom))" }
        if let rowKeyTo { filter += " and RowKey lt \(Self.literal(rowKeyTo))" }
        var query = [("$filter", filter), ("$top", String(pageSize))]
        if let continuation {
            query.append(("NextPartitionKey", continuation.nextPartitionKey))
            if let next = continuation.nextRowKey { query.append(("NextRowKey", next)) }
        }
        let response = try await client.send(
            AzureRequest(
                "GET", "/\(AzurePath.encode(table))()", query: query, headers: Self.jsonHeaders,
                maxResponseBytes: 64 << 20,
                safety: .idempotent, subject: "table \(table)"))
        let json = try JSONValue.parseResponse(response.body, what: "a query of table \(table)")
        guard case .array(let values)? = json["value"] else {
            throw StorageError(.invalidJSON, status: 0, "a query of table \(table): the answer has no \"value\" array")
        }
        let entities = try values.map { try AzureTableJSON.decode($0, table: table, etag: nil) }
        let next = response.header("x-ms-continuation-nextpartitionkey").map {
            TableContinuation(nextPartitionKey: $0, nextRowKey: response.header("x-ms-continuation-nextrowkey"))
        }
        return TableQueryPage(entities: entities, continuation: next)
    }

    @discardableResult
    public func transact(_ table: String, _ operations: [TableOperation]) async throws -> [String?] {
        let batch = AzureTableBatch(endpoint: client.builder.endpoint, table: table, operations: operations)
        let response = try await client.send(
            AzureRequest(
                "POST", "/$batch", headers: Self.jsonHeaders, body: try batch.body(), contentType: batch.contentType,
                maxResponseBytes: 8 << 20, safety: .unsafe, subject: "batch on table \(table)"))
        return try batch.results(response)
    }

    static func subject(_ table: String, _ entity: TableEntity) -> String {
        "entity (\(entity.partitionKey), \(entity.rowKey)) of table \(table)"
    }

    static func value(_ condition: ETagCondition) -> String {
        switch condition {
        case .any: "*"
        case .etag(let etag): etag
        }
    }

    /// An OData string literal: quoted, inner quotes doubled.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func etag(_ response: HTTPResponse, _ table: String, _ entity: TableEntity) throws -> String {
        guard let etag = response.header("etag") else {
            throw StorageError(
                .invalidHeaderValue, status: response.status,
                "write of \(subject(table, entity)): the answer has no ETag")
        }
        return etag
    }
}
