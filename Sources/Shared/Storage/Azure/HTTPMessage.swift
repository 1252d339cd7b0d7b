/// One HTTP request exactly as it goes on the wire: the URL is already percent-encoded and the headers
/// are already signed, so the transport adds nothing that would change the signature.
public struct HTTPRequest: Sendable {
    public var method: String
    /// Absolute, percent-encoded URL.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The most response body bytes accepted; a longer body fails the request rather than growing memory.
    public var maxResponseBytes: Int

    /// The URL without its query, for messages and logs: with a SAS the query is the credential.
    public var urlWithoutQuery: String {
        url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? url
    }

    public init(
        method: String, url: String, headers: [(name: String, value: String)], body: [UInt8] = [], maxResponseBytes: Int
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.maxResponseBytes = maxResponseBytes
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased, in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }
}

/// A request that got no HTTP response: connection refused or reset, timeout, TLS failure, oversize body.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The request never reached the server (connection refused, DNS): safe to retry whatever it is.
        case notSent
        /// The request may have been received and applied: only idempotent requests may be retried.
        case outcomeUnknown
        /// The response body exceeded the request's `maxResponseBytes`.
        case responseTooLarge
    }

    public var kind: Kind
    /// libcurl's result code (0 when not from libcurl).
    public var curlCode: Int
    public var message: String

    public init(kind: Kind, curlCode: Int, message: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.message = message
    }

    public var description: String { "HTTP transport failed (curl \(curlCode)): \(message)" }
}

/// Sends HTTP requests. `CurlTransport` in production; tests may substitute canned answers.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}
