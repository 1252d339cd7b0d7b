import Foundation
import RelayShared

/// The Table service REST API (docs/azure-rest.md, "Table service") over an account's `TableService`:
/// create, query and delete tables (the last two operators' calls, over the local store), entity
/// insert/update/merge/upsert/delete/get, partition queries with `$filter`, `$top`, `$select` and
/// continuation, and `$batch` entity group transactions.
struct TableEndpoint: StorageEndpoint {
    let kind = StorageKind.table

    /// Azure's request limit for every Table body, batches included.
    static let maxBodyBytes = 4 << 20

    func route(_ request: StorageRequest) throws -> Route {
        let method = try Self.method(request.method, override: request.header("x-http-method"))
        guard let first = request.segments.first, request.segments.count == 1 else {
            throw StorageError.unsupported("the Table request \(method) on this path")
        }
        if first == "$batch" {
            guard method == "POST" else { throw StorageError.unsupported("\(method) $batch") }
            return Route(
                name: "Entity Group Transaction", permission: "a", resourceType: "o", bodyLimit: Self.maxBodyBytes
            ) { request, account in
                try await TableBatch.run(request, account: account)
            }
        }
        if first.hasPrefix("Tables('"), first.hasSuffix("')"), first.count > "Tables('')".count {
            let name = String(first.dropFirst("Tables('".count).dropLast(2))
            guard method == "DELETE" else {
                throw StorageError(
                    .unsupportedHttpVerb, status: 405, "\(method) on Tables('…'); delete it or query Tables")
            }
            return Route(
                name: "Delete Table", permission: "d", resourceType: "c", bodyLimit: 0, allowsServiceSAS: false
            ) { _, account in
                try await account.local.table.deleteTable(name)
                return StorageResponse(status: 204)
            }
        }
        let address = try TableAddress(segment: first)
        if address.table == "Tables", address.keys == nil, method == "GET" {
            return Route(
                name: "Query Tables", permission: "l", resourceType: "s", bodyLimit: 0, allowsServiceSAS: false
            ) { request, account in
                try await Self.queryTables(request, account: account)
            }
        }
        if address.table == "Tables" {
            guard address.keys == nil, method == "POST" else {
                throw StorageError(.unsupportedHttpVerb, status: 405, "\(method) is not an operation on Tables")
            }
            return Route(
                name: "Create Table", permission: "c", resourceType: "c", bodyLimit: Self.maxBodyBytes,
                allowsServiceSAS: false
            ) { request, account in
                let metadata = try TableEntityJSON.Metadata.of(request)
                guard let name = try JSONValue.parseRequest(request.body)["TableName"]?.stringValue else {
                    throw TableEntityJSON.invalid("the body must be {\"TableName\": \"…\"}")
                }
                try await account.table.createTable(name)
                return Self.created(
                    request, metadata: metadata,
                    members: metadata == .none
                        ? [("TableName", .string(name))]
                        : [
                            ("odata.metadata", .string("\(Self.baseURL(request))/$metadata#Tables/@Element")),
                            ("TableName", .string(name)),
                        ])
            }
        }
        let table = address.table
        if let keys = address.keys {
            switch method {
            case "GET":
                return Route(name: "Query Entity", permission: "r", resourceType: "o", bodyLimit: 0) {
                    request, account in
                    try TableSASScope(request)?.check(
                        table: table, partitionKey: keys.partitionKey, rowKey: keys.rowKey)
                    let metadata = try TableEntityJSON.Metadata.of(request)
                    let entity = try await account.table.get(
                        table, partitionKey: keys.partitionKey, rowKey: keys.rowKey)
                    var members = TableEntityJSON.members(
                        of: entity, metadata: metadata, select: Self.select(request), baseURL: Self.baseURL(request),
                        table: table)
                    if metadata != .none {
                        members.insert(
                            ("odata.metadata", .string("\(Self.baseURL(request))/$metadata#\(table)/@Element")), at: 0)
                    }
                    var response = Self.json(.object(members), metadata: metadata, status: 200)
                    response.add("etag", entity.etag)
                    return response
                }
            case "PUT", "MERGE":
                let mode: TableWriteMode = method == "PUT" ? .replace : .merge
                return Route(
                    name: method == "PUT" ? "Update Entity" : "Merge Entity", permission: "u", resourceType: "o",
                    bodyLimit: Self.maxBodyBytes
                ) { request, account in
                    try TableSASScope(request)?.check(
                        table: table, partitionKey: keys.partitionKey, rowKey: keys.rowKey)
                    let entity = try TableEntityJSON.entity(from: request.body, keys: keys)
                    let etag: String
                    if let ifMatch = request.header("if-match") {
                        etag = try await account.table.update(
                            table, entity, mode: mode, ifMatch: try Self.condition(ifMatch))
                    } else {
                        etag = try await account.table.upsert(table, entity, mode: mode)
                    }
                    var response = StorageResponse(status: 204)
                    response.add("etag", etag)
                    response.add("dataserviceversion", "1.0;")
                    return response
                }
            case "DELETE":
                return Route(name: "Delete Entity", permission: "d", resourceType: "o", bodyLimit: 0) {
                    request, account in
                    try TableSASScope(request)?.check(
                        table: table, partitionKey: keys.partitionKey, rowKey: keys.rowKey)
                    let ifMatch = try request.requiredHeader("if-match")
                    try await account.table.delete(
                        table, partitionKey: keys.partitionKey, rowKey: keys.rowKey,
                        ifMatch: try Self.condition(ifMatch))
                    return StorageResponse(status: 204)
                }
            default:
                throw StorageError(.unsupportedHttpVerb, status: 405, "\(method) is not an entity operation")
            }
        }
        switch method {
        case "POST":
            return Route(name: "Insert Entity", permission: "a", resourceType: "o", bodyLimit: Self.maxBodyBytes) {
                request, account in
                let metadata = try TableEntityJSON.Metadata.of(request)
                var entity = try TableEntityJSON.entity(from: request.body)
                try TableSASScope(request)?.check(
                    table: table, partitionKey: entity.partitionKey, rowKey: entity.rowKey)
                let etag = try await account.table.insert(table, entity)
                entity.etag = etag
                entity.timestamp = Date()
                var members = TableEntityJSON.members(
                    of: entity, metadata: metadata, select: nil, baseURL: Self.baseURL(request), table: table)
                if metadata != .none {
                    members.insert(
                        ("odata.metadata", .string("\(Self.baseURL(request))/$metadata#\(table)/@Element")), at: 0)
                }
                var response = Self.created(request, metadata: metadata, members: members)
                response.add("etag", etag)
                return response
            }
        case "GET":
            return Route(name: "Query Entities", permission: "r", resourceType: "o", bodyLimit: 0) { request, account in
                try await Self.query(request, table: table, account: account)
            }
        default:
            throw StorageError(.unsupportedHttpVerb, status: 405, "\(method) is not a table operation")
        }
    }

    // MARK: Helpers

    /// The operation's verb: PATCH is MERGE, and clients behind proxies that drop MERGE tunnel it through
    /// POST with `X-HTTP-Method: MERGE`. Azure tunnels nothing else: any other override is refused, so it
    /// can never turn a signed POST into, say, a DELETE.
    static func method(_ method: String, override: String?) throws -> String {
        if let override {
            guard method == "POST", override.uppercased() == "MERGE" else {
                throw StorageError(
                    .unsupportedHttpVerb, status: 405,
                    "X-HTTP-Method tunnels only MERGE through POST, not \(override.prefix(32)) through \(method)")
            }
            return "MERGE"
        }
        return method == "PATCH" ? "MERGE" : method
    }

    static func baseURL(_ request: StorageRequest) -> String {
        "http://\(request.header("host") ?? "127.0.0.1")/\(request.account)"
    }

    static func condition(_ ifMatch: String) throws -> ETagCondition {
        if ifMatch == "*" { return .any }
        guard !ifMatch.isEmpty else {
            throw StorageError(
                .updateConditionNotSatisfied, status: 412,
                "The update condition specified in the request was not satisfied.")
        }
        return .etag(ifMatch)
    }

    static func select(_ request: StorageRequest) -> Set<String>? {
        guard let text = request.query["$select"], !text.isEmpty, text != "*" else { return nil }
        return Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    static func json(_ value: JSONValue, metadata: TableEntityJSON.Metadata, status: Int) -> StorageResponse {
        var response = StorageResponse(status: status, body: Array(value.serialized().utf8))
        response.add("content-type", metadata.contentType)
        response.add("dataserviceversion", "3.0;")
        return response
    }

    /// `201` with the resource, or `204` when the client asked `Prefer: return-no-content`.
    static func created(_ request: StorageRequest, metadata: TableEntityJSON.Metadata, members: [(String, JSONValue)])
        -> StorageResponse
    {
        if request.header("prefer")?.contains("return-no-content") == true {
            var response = StorageResponse(status: 204)
            response.add("preference-applied", "return-no-content")
            response.add("dataserviceversion", "3.0;")
            return response
        }
        var response = json(.object(members), metadata: metadata, status: 201)
        if request.header("prefer")?.contains("return-content") == true {
            response.add("preference-applied", "return-content")
        }
        return response
    }

    /// Continuation tokens are the keys in Base64, opaque to clients (as Azurite's are).
    static func token(_ key: String) -> String { Data(key.utf8).base64EncodedString() }

    static func untoken(_ token: String, _ name: String) throws -> String {
        guard let data = Data(base64Encoded: token), let key = String(data: data, encoding: .utf8) else {
            throw StorageError(
                .invalidInput, status: 400, "\(name) '\(token)' is not a continuation this server issued")
        }
        return key
    }

    /// Query Tables: `$top` (1–1000), `$filter` over `TableName`, and the continuation
    /// `NextTableName`. A filter is applied to each page, so a page may hold fewer names than `$top`
    /// and still carry a continuation, as Azure's may.
    static func queryTables(_ request: StorageRequest, account: Account) async throws -> StorageResponse {
        let metadata = try TableEntityJSON.Metadata.of(request)
        let top = try request.intQuery("$top", default: TableLimits.maxPageSize, range: 1...TableLimits.maxPageSize)
        let filter = try request.query["$filter"].flatMap { $0.isEmpty ? nil : $0 }.map(TableFilter.parse)
        let marker = try request.query["nexttablename"].map { try untoken($0, "NextTableName") }
        let page = try await account.local.table.listTables(marker: marker, maxResults: top)
        let tables = page.items.filter { name in
            filter?.matches(TableEntity(partitionKey: "", rowKey: "", properties: ["TableName": .string(name)])) ?? true
        }
        let base = baseURL(request)
        let values = tables.map { name -> JSONValue in
            var members: [(String, JSONValue)] = []
            if metadata == .full {
                let link = "Tables('\(name)')"
                members += [
                    ("odata.type", .string("\(account.name).Tables")), ("odata.id", .string("\(base)/\(link)")),
                    ("odata.editLink", .string(link)),
                ]
            }
            members.append(("TableName", .string(name)))
            return .object(members)
        }
        var members: [(String, JSONValue)] = []
        if metadata != .none { members.append(("odata.metadata", .string("\(base)/$metadata#Tables"))) }
        members.append(("value", .array(values)))
        var response = json(.object(members), metadata: metadata, status: 200)
        response.add("x-ms-continuation-nexttablename", page.next.map(token))
        return response
    }

    static func query(_ request: StorageRequest, table: String, account: Account) async throws -> StorageResponse {
        let metadata = try TableEntityJSON.Metadata.of(request)
        let top = try request.intQuery("$top", default: TableLimits.maxPageSize, range: 1...TableLimits.maxPageSize)
        let filter = try request.query["$filter"].flatMap { $0.isEmpty ? nil : $0 }.map(TableFilter.parse)
        guard let partitionKey = filter?.partitionKey else {
            throw StorageError.unsupported(
                "a query without a top-level \"PartitionKey eq '…'\" condition (the storage protocol queries one partition)"
            )
        }
        let bounds = filter?.rowKeyBounds ?? (from: nil, to: nil, through: nil)
        var continuation: TableContinuation?
        if let next = request.query["nextpartitionkey"] {
            let nextPartition = try untoken(next, "NextPartitionKey")
            guard nextPartition == partitionKey else {
                throw StorageError(.invalidInput, status: 400, "NextPartitionKey belongs to another query")
            }
            continuation = TableContinuation(
                nextPartitionKey: nextPartition,
                nextRowKey: try request.query["nextrowkey"].map { try untoken($0, "NextRowKey") })
        }
        let page = try await account.table.query(
            table, partitionKey: partitionKey, rowKeyFrom: bounds.from, rowKeyTo: bounds.to, pageSize: top,
            continuation: continuation)
        let select = select(request)
        let scope = TableSASScope(request)
        try scope?.check(table: table)
        let matching = page.entities.filter { entity in
            (filter?.matches(entity) ?? true)
                && (scope?.contains(partitionKey: entity.partitionKey, rowKey: entity.rowKey) ?? true)
        }
        var next = page.continuation
        // Past an inclusive upper bound nothing more can match: end the query instead of scanning on.
        if let through = bounds.through, let rowKey = next?.nextRowKey,
            through.utf8.lexicographicallyPrecedes(rowKey.utf8)
        {
            next = nil
        }
        let entities = matching.map { entity in
            JSONValue.object(
                TableEntityJSON.members(
                    of: entity, metadata: metadata, select: select, baseURL: baseURL(request), table: table))
        }
        var members: [(String, JSONValue)] = []
        if metadata != .none { members.append(("odata.metadata", .string("\(baseURL(request))/$metadata#\(table)"))) }
        members.append(("value", .array(entities)))
        var response = json(.object(members), metadata: metadata, status: 200)
        if let next {
            response.add("x-ms-continuation-nextpartitionkey", token(next.nextPartitionKey))
            response.add("x-ms-continuation-nextrowkey", next.nextRowKey.map(token))
        }
        return response
    }
}
