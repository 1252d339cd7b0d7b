import Foundation

/// An Entity Group Transaction as the `$batch` multipart body, and its multipart answer (docs/azure-rest.md,
/// "Table service").
struct AzureTableBatch {
    let endpoint: URL
    let table: String
    let operations: [TableOperation]
    let batchBoundary = "batch_" + UUID().uuidString.lowercased()
    let changesetBoundary = "changeset_" + UUID().uuidString.lowercased()

    var contentType: String { "multipart/mixed; boundary=\(batchBoundary)" }

    func body() throws -> [UInt8] {
        let base =
            endpoint.absoluteString.hasSuffix("/")
            ? String(endpoint.absoluteString.dropLast()) : endpoint.absoluteString
        var text = "--\(batchBoundary)\r\nContent-Type: multipart/mixed; boundary=\(changesetBoundary)\r\n\r\n"
        for (index, operation) in operations.enumerated() {
            let entityURL =
                base + AzurePath.entity(table: table, partitionKey: operation.partitionKey, rowKey: operation.rowKey)
            var method: String
            var url = entityURL
            var headers = ["Accept: application/json;odata=minimalmetadata", "DataServiceVersion: 3.0;NetFx"]
            var entity: TableEntity?
            switch operation {
            case .insert(let value):
                method = "POST"
                url = base + "/" + AzurePath.encode(table)
                headers.append("Prefer: return-no-content")
                entity = value
            case .upsert(let value, let mode):
                method = mode == .replace ? "PUT" : "MERGE"
                entity = value
            case .update(let value, let mode, let ifMatch):
                method = mode == .replace ? "PUT" : "MERGE"
                headers.append("If-Match: \(AzureTableService.value(ifMatch))")
                entity = value
            case .delete(_, _, let ifMatch):
                method = "DELETE"
                headers.append("If-Match: \(AzureTableService.value(ifMatch))")
            }
            let content = try entity.map { String(decoding: try AzureTableJSON.encode($0), as: UTF8.self) } ?? ""
            if entity != nil { headers.append("Content-Type: application/json") }
            text +=
                "--\(changesetBoundary)\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: \(index)\r\n\r\n"
            text += "\(method) \(url) HTTP/1.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n" + content + "\r\n"
        }
        text += "--\(changesetBoundary)--\r\n--\(batchBoundary)--\r\n"
        return Array(text.utf8)
    }

    /// Each operation's ETag (nil for deletes), or the failing operation's error.
    func results(_ response: HTTPResponse) throws -> [String?] {
        let parts = Self.subResponses(String(decoding: response.body, as: UTF8.self))
        if let failed = parts.first(where: { $0.status >= 300 }) {
            let answer = HTTPResponse(status: failed.status, headers: failed.headers, body: Array(failed.body.utf8))
            var error = AzureClient.error(
                from: answer,
                request: AzureRequest("POST", "/$batch", safety: .unsafe, subject: "batch on table \(table)"))
            // The service's message starts with the failing operation's index ("2:..."): keep it first.
            if let message = AzureClient.serviceMessage(answer) {
                error.message = "\(message) (batch on table \(table))"
            }
            throw error
        }
        guard parts.count == operations.count else {
            throw StorageError(
                .invalidInput, status: response.status,
                "batch on table \(table): \(operations.count) operations but \(parts.count) answers in the multipart response"
            )
        }
        return zip(operations, parts).map { operation, part in
            if case .delete = operation { return nil }
            return part.headers.first { $0.name == "etag" }?.value
        }
    }

    struct SubResponse {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: String
    }

    /// The `HTTP/1.1 <status>` parts of a multipart batch answer, in order; boundaries are recognised by
    /// their `--` prefix, which is all a changeset answer needs.
    static func subResponses(_ text: String) -> [SubResponse] {
        var parts: [SubResponse] = []
        var current: SubResponse?
        var inHeaders = false
        // "\r\n" is one Character in Swift: split on newline characters, not on "\n".
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = String(rawLine)
            if line.hasPrefix("HTTP/1.1 ") {
                if let current { parts.append(current) }
                let status = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
                current = SubResponse(status: status, headers: [], body: "")
                inHeaders = true
            } else if line.hasPrefix("--") {
                if let finished = current { parts.append(finished) }
                current = nil
                inHeaders = false
            } else if current != nil {
                if inHeaders {
                    if line.isEmpty {
                        inHeaders = false
                        continue
                    }
                    if let colon = line.firstIndex(of: ":") {
                        current!.headers.append(
                            (
                                name: line[..<colon].lowercased(),
                                value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                            ))
                    }
                } else {
                    current!.body += (current!.body.isEmpty ? "" : "\n") + line
                }
            }
        }
        if let current { parts.append(current) }
        return parts
    }
}
