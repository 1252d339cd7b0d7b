import Foundation

/// One Azure Storage operation before signing: the services describe what to send, `AzureRequestBuilder`
/// turns it into the exact bytes on the wire (fresh for each attempt), `AzureClient` sends and retries it.
struct AzureRequest: Sendable {
    var method: String
    /// The resource path after the endpoint's own path, already percent-encoded (`AzurePath`), e.g.
    /// `/vhds/disk.vhd`.
    var path: String
    /// Query items, not encoded: the builder encodes each once.
    var query: [(String, String)]
    /// Headers other than the date, version and authorization the builder adds.
    var headers: [(String, String)]
    var body: [UInt8]
    /// Sent and signed whenever there is a body; a bodyless request sends none.
    var contentType: String?
    var maxResponseBytes: Int
    var safety: RetrySafety
    /// Error codes that mean success when an earlier attempt's outcome is unknown (a retried delete that
    /// finds nothing, a retried create that finds it done), docs/azure-rest.md, "Retries and idempotency".
    var successAfterUnknownOutcome: Set<StorageError.Code>
    /// What the request is about, for error messages: `blob vhds/disk.vhd`, `queue jobs`.
    var subject: String

    init(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8] = [], contentType: String? = nil, maxResponseBytes: Int = 1 << 20, safety: RetrySafety,
        successAfterUnknownOutcome: Set<StorageError.Code> = [], subject: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.contentType = contentType
        self.maxResponseBytes = maxResponseBytes
        self.safety = safety
        self.successAfterUnknownOutcome = successAfterUnknownOutcome
        self.subject = subject
    }
}

/// Percent-encoding of URL parts, done once; the signer signs exactly these strings.
enum AzurePath {
    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    /// Encodes everything but unreserved characters (and `/` when `keepingSlashes`, for blob names with
    /// virtual directories).
    static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved.contains(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static func blob(_ address: BlobAddress) -> String {
        "/\(encode(address.container))/\(encode(address.name, keepingSlashes: true))"
    }

    /// `table(PartitionKey='pk',RowKey='rk')` with quotes in keys doubled (docs/azure-rest.md,
    /// "Table service").
    static func entity(table: String, partitionKey: String, rowKey: String) -> String {
        func key(_ text: String) -> String { "'" + encode(text.replacingOccurrences(of: "'", with: "''")) + "'" }
        return "/\(encode(table))(PartitionKey=\(key(partitionKey)),RowKey=\(key(rowKey)))"
    }
}

/// Turns an `AzureRequest` into a signed `HTTPRequest` for one attempt: `x-ms-date` of that moment,
/// `x-ms-version`, and Shared Key over exactly the path, query and headers sent, or the SAS appended.
struct AzureRequestBuilder: Sendable {
    static let version = "2021-12-02"

    let endpoint: URL
    let credential: ConnectionString.Credential
    let service: SharedKeySigner.Service

    func build(_ request: AzureRequest, date: Date) -> HTTPRequest {
        let endpointPath = endpoint.path(percentEncoded: true)
        let path = (endpointPath.hasSuffix("/") ? String(endpointPath.dropLast()) : endpointPath) + request.path
        let query = request.query.map {
            (name: AzurePath.encode($0.0).replacingOccurrences(of: "%24", with: "$"), value: AzurePath.encode($0.1))
        }
        var headers = request.headers.map { (name: $0.0, value: $0.1) }
        if let contentType = request.contentType { headers.append((name: "Content-Type", value: contentType)) }
        headers.append((name: "x-ms-date", value: Self.httpDate(date)))
        headers.append((name: "x-ms-version", value: Self.version))

        var queryString = query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        switch credential {
        case .sharedKey(let account, let key):
            // Content-Length is signed but not sent by us: libcurl sends the body's length itself.
            let signed = headers + [(name: "Content-Length", value: String(request.body.count))]
            let signer = SharedKeySigner(account: account, key: key)
            let wire = SharedKeySigner.Request(method: request.method, path: path, query: query, headers: signed)
            headers.append((name: "Authorization", value: signer.authorization(for: wire, service: service)))
        case .sharedAccessSignature(let token):
            queryString += (queryString.isEmpty ? "" : "&") + token
        }

        var url = "\(endpoint.scheme ?? "https")://\(endpoint.host(percentEncoded: true) ?? "")"
        if let port = endpoint.port { url += ":\(port)" }
        url += path
        if !queryString.isEmpty { url += "?" + queryString }
        return HTTPRequest(
            method: request.method, url: url, headers: headers, body: request.body,
            maxResponseBytes: request.maxResponseBytes)
    }

    static func httpDate(_ date: Date) -> String { AzureDate.rfc1123(date) }
}
