import Foundation
import RelayShared

/// `$batch`: an entity group transaction in a `multipart/mixed` body with one change set (docs/azure-rest.md,
/// "Table service"), answered as Azure does — `202` with one sub-response per operation, or a single
/// sub-response naming the failing operation's index (`"<n>:…"`) when the change set fails.
enum TableBatch {
    struct Operation {
        var operation: TableOperation
        var table: String
        var contentID: String?
        /// Inserts answer their entity unless the client asked `Prefer: return-no-content`.
        var returnsContent: Bool
        var entity: TableEntity?
    }

    static func run(_ request: StorageRequest, account: Account) async throws -> StorageResponse {
        let metadata = try TableEntityJSON.Metadata.of(request)
        let batchBoundary = try boundary(request.header("content-type"), what: "the $batch request")
        let text = String(decoding: request.body, as: UTF8.self)
        let batchParts = parts(of: text, boundary: batchBoundary)
        guard batchParts.count == 1 else {
            throw TableEntityJSON.invalid("a $batch holds exactly one change set, found \(batchParts.count) parts")
        }
        let (changesetHeaders, changesetBody) = split(batchParts[0])
        let changesetBoundary = try boundary(changesetHeaders["content-type"], what: "the change set")
        let requests = parts(of: changesetBody, boundary: changesetBoundary)
        guard (1...TableLimits.maxBatchOperations).contains(requests.count) else {
            throw TableEntityJSON.invalid(
                "a change set holds 1…\(TableLimits.maxBatchOperations) operations, found \(requests.count)")
        }

        let responseBoundary = "batchresponse_\(UUID().uuidString.lowercased())"
        let changesetResponseBoundary = "changesetresponse_\(UUID().uuidString.lowercased())"
        var operations: [Operation] = []
        do {
            for (index, part) in requests.enumerated() {
                do {
                    operations.append(try operation(part, account: account.name))
                } catch var error as StorageError {
                    error.message = "\(index):\(error.message)"
                    throw error
                }
            }
            try checkSASPermissions(request, operations)
            let table = operations[0].table
            if let index = operations.firstIndex(where: { $0.table.lowercased() != table.lowercased() }) {
                throw StorageError(
                    .invalidInput, status: 400, "\(index):all operations of a batch must address one table")
            }
            let etags = try await account.table.transact(table, operations.map(\.operation))
            var body = ""
            for (operation, etag) in zip(operations, etags) {
                var headers: [(String, String)] = [
                    ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-cache"),
                    ("DataServiceVersion", "1.0;"),
                ]
                if let id = operation.contentID { headers.append(("Content-ID", id)) }
                if let etag { headers.append(("ETag", etag)) }
                var status = 204
                var content = ""
                if case .insert = operation.operation, operation.returnsContent, var entity = operation.entity {
                    entity.etag = etag
                    entity.timestamp = Date()
                    status = 201
                    var members = TableEntityJSON.members(
                        of: entity, metadata: metadata, select: nil, baseURL: TableEndpoint.baseURL(request),
                        table: table)
                    if metadata != .none {
                        members.insert(
                            (
                                "odata.metadata",
                                .string("\(TableEndpoint.baseURL(request))/$metadata#\(table)/@Element")
                            ), at: 0)
                    }
                    content = JSONValue.object(members).serialized()
                    headers.append(("Content-Type", metadata.contentType))
                }
                body += subResponse(
                    boundary: changesetResponseBoundary, status: status, headers: headers, content: content)
            }
            return envelope(responseBoundary, changesetResponseBoundary, body)
        } catch let error as StorageError {
            // The whole change set failed: one sub-response for the failing operation, outer status 202.
            var message = error.message
            if !(message.prefix { $0 != ":" }.allSatisfy(\.isNumber)) || !message.contains(":") {
                message = "0:" + message
            }
            let index = Int(message.prefix { $0 != ":" }) ?? 0
            var headers: [(String, String)] = [
                ("X-Content-Type-Options", "nosniff"), ("DataServiceVersion", "3.0;"),
                ("Content-Type", TableEntityJSON.Metadata.minimal.contentType),
            ]
            if index < operations.count, let id = operations[index].contentID { headers.append(("Content-ID", id)) }
            let json = JSONValue.object([
                (
                    "odata.error",
                    .object([
                        ("code", .string(error.code.rawValue)),
                        ("message", .object([("lang", .string("en-US")), ("value", .string(message))])),
                    ])
                )
            ])
            let body = subResponse(
                boundary: changesetResponseBoundary, status: error.status, headers: headers, content: json.serialized())
            return envelope(responseBoundary, changesetResponseBoundary, body)
        }
    }

    /// The route let the batch in with `a`; under a SAS (whose fields the authenticator has verified) each
    /// operation also needs its own letters (insert `a`, upsert `a` and `u`, update/merge `u`, delete
    /// `d`), and a table SAS confines every operation to its table and key range.
    private static func checkSASPermissions(_ request: StorageRequest, _ operations: [Operation]) throws {
        guard request.isAuthenticatedBySAS else { return }
        let granted = request.query["sp"] ?? ""
        let scope = TableSASScope(request)
        for (index, operation) in operations.enumerated() {
            do {
                try scope?.check(
                    table: operation.table, partitionKey: operation.operation.partitionKey,
                    rowKey: operation.operation.rowKey)
            } catch var error as StorageError {
                error.message = "\(index):\(error.message)"
                throw error
            }
            let needed: String =
                switch operation.operation {
                case .insert: "a"
                case .upsert: "au"
                case .update: "u"
                case .delete: "d"
                }
            if let missing = needed.first(where: { !granted.contains($0) }) {
                throw StorageError(
                    .authorizationPermissionMismatch, status: 403,
                    "\(index):This request is not authorized to perform this operation using this permission: the operation needs '\(missing)', the SAS grants sp=\(granted)"
                )
            }
        }
    }

    private static func envelope(_ responseBoundary: String, _ changesetBoundary: String, _ body: String)
        -> StorageResponse
    {
        let text =
            "--\(responseBoundary)\r\nContent-Type: multipart/mixed; boundary=\(changesetBoundary)\r\n\r\n"
            + body + "--\(changesetBoundary)--\r\n--\(responseBoundary)--\r\n"
        var response = StorageResponse(status: 202, body: Array(text.utf8))
        response.add("content-type", "multipart/mixed; boundary=\(responseBoundary)")
        response.add("dataserviceversion", "3.0;")
        return response
    }

    private static func subResponse(boundary: String, status: Int, headers: [(String, String)], content: String)
        -> String
    {
        "--\(boundary)\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            + "HTTP/1.1 \(status) \(reason(status))\r\n"
            + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n" + content + "\r\n"
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 412: "Precondition Failed"
        case 413: "Request Entity Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status \(status)"
        }
    }

    /// One operation of the change set: `Content-ID` from the part, then the embedded HTTP request.
    private static func operation(_ part: String, account: String) throws -> Operation {
        let (partHeaders, message) = split(part)
        let (requestHead, body) = splitRequest(message)
        var lines = requestHead.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !lines.isEmpty else {
            throw TableEntityJSON.invalid("an operation of the change set has no request line")
        }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else {
            throw TableEntityJSON.invalid("the request line '\(requestLine.joined(separator: " "))' is malformed")
        }
        let verb = requestLine[0].uppercased()
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let method = try TableEndpoint.method(verb, override: headers["x-http-method"])

        // Absolute URL: keep the path, drop the query, then the account segment.
        var target = Substring(requestLine[1])
        if let scheme = target.range(of: "://") { target = target[scheme.upperBound...].drop { $0 != "/" } }
        target = target.prefix { $0 != "?" }
        let segments = target.split(separator: "/").map { StorageRequest.decode($0) }
        guard segments.count == 2, segments[0] == account else {
            throw TableEntityJSON.invalid("the operation URL '\(requestLine[1])' must address /\(account)/TABLE…")
        }
        let address = try TableAddress(segment: segments[1])
        let bodyBytes = Array(body.utf8)
        let contentID = partHeaders["content-id"] ?? headers["content-id"]
        let returnsContent = headers["prefer"]?.contains("return-no-content") != true
        switch (method, address.keys) {
        case ("POST", nil):
            let entity = try TableEntityJSON.entity(from: bodyBytes)
            return Operation(
                operation: .insert(entity), table: address.table, contentID: contentID, returnsContent: returnsContent,
                entity: entity)
        case ("PUT", let keys?), ("MERGE", let keys?):
            let entity = try TableEntityJSON.entity(from: bodyBytes, keys: keys)
            let mode: TableWriteMode = method == "PUT" ? .replace : .merge
            let op: TableOperation =
                try headers["if-match"].map { .update(entity, mode, ifMatch: try TableEndpoint.condition($0)) }
                ?? .upsert(entity, mode)
            return Operation(
                operation: op, table: address.table, contentID: contentID, returnsContent: false, entity: entity)
        case ("DELETE", let keys?):
            guard let ifMatch = headers["if-match"] else {
                throw StorageError(.missingRequiredHeader, status: 400, "Delete Entity in a batch needs If-Match")
            }
            return Operation(
                operation: .delete(
                    partitionKey: keys.partitionKey, rowKey: keys.rowKey, ifMatch: try TableEndpoint.condition(ifMatch)),
                table: address.table, contentID: contentID, returnsContent: false, entity: nil)
        default:
            throw StorageError.unsupported("\(method) inside a change set")
        }
    }

    // MARK: multipart/mixed

    static func boundary(_ contentType: String?, what: String) throws -> String {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/mixed"),
            let range = contentType.range(of: "boundary=")
        else {
            throw TableEntityJSON.invalid("\(what) must be multipart/mixed with a boundary")
        }
        let value = contentType[range.upperBound...].prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces)
        let unquoted = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard !unquoted.isEmpty else { throw TableEntityJSON.invalid("\(what) has an empty boundary") }
        return unquoted
    }

    /// The parts between `--boundary` delimiters, up to the closing `--boundary--`.
    static func parts(of text: String, boundary: String) -> [String] {
        let delimiter = "--" + boundary
        var pieces = text.components(separatedBy: delimiter)
        guard pieces.count > 1 else { return [] }
        pieces.removeFirst()  // the preamble
        var result: [String] = []
        for piece in pieces {
            if piece.hasPrefix("--") { break }  // the closing delimiter
            var part = Substring(piece)
            // "\r\n" is one Character in Swift, so one drop removes either line break.
            if part.first?.isNewline == true { part = part.dropFirst() }
            // The line break before the next delimiter belongs to the delimiter.
            if part.last?.isNewline == true { part = part.dropLast() }
            result.append(String(part))
        }
        return result
    }

    /// A part's headers (lowercased names) and its body. Folded header lines (a continuation starting
    /// with white space, as Python's email package writes long boundaries) are unfolded.
    static func split(_ part: String) -> (headers: [String: String], body: String) {
        let (head, body) = splitRequest(part)
        var headers: [String: String] = [:]
        var last: String?
        for line in head.split(whereSeparator: \.isNewline) {
            if let first = line.first, first == " " || first == "\t", let name = last {
                headers[name, default: ""] += " " + line.trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased().trimmingCharacters(in: .whitespaces)
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            last = name
        }
        return (headers, body)
    }

    /// Splits at the first empty line (CRLF or LF).
    static func splitRequest(_ text: String) -> (head: String, body: String) {
        if let range = text.range(of: "\r\n\r\n") {
            return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
        }
        if let range = text.range(of: "\n\n") {
            return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
        }
        return (text, "")
    }
}
