import Crypto
import Foundation

/// Azure Storage Shared Key signing (docs/azure-rest.md, "Shared Key and SAS") as pure functions named after
/// the spec's steps, so that tests pin the inputs and compare exact strings against vectors computed with the
/// documented algorithm.
public struct SharedKeySigner: Sendable {
    public enum Service: Sendable {
        /// Blob and Queue: full string-to-sign with canonicalized `x-ms-` headers and query.
        case blobOrQueue
        /// Table: verb, Content-MD5, Content-Type, date, and the resource with `comp` only.
        case table
    }

    /// A request as it goes on the wire.
    public struct Request: Sendable {
        public var method: String
        /// The percent-encoded path exactly as sent, e.g. `/devstoreaccount1/vhds/disk.vhd`.
        public var path: String
        /// Percent-encoded query items exactly as sent, in any order.
        public var query: [(name: String, value: String)]
        /// Header names in any case.
        public var headers: [(name: String, value: String)]

        public init(
            method: String, path: String, query: [(name: String, value: String)],
            headers: [(name: String, value: String)]
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
        }

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name }?.value
        }
    }

    public let account: String
    /// The decoded account key; kept as bytes because `SymmetricKey` is not `Sendable`.
    private let key: [UInt8]

    public init(account: String, key: [UInt8]) {
        self.account = account
        self.key = key
    }

    /// The `Authorization` header value.
    public func authorization(for request: Request, service: Service) -> String {
        "SharedKey \(account):\(signature(of: stringToSign(for: request, service: service)))"
    }

    public func stringToSign(for request: Request, service: Service) -> String {
        switch service {
        case .blobOrQueue:
            // A zero Content-Length is signed as empty (versions ≥ 2015-02-21).
            let contentLength = request.header("content-length").flatMap { $0 == "0" ? "" : $0 } ?? ""
            let standard = [
                request.method.uppercased(),
                request.header("content-encoding") ?? "",
                request.header("content-language") ?? "",
                contentLength,
                request.header("content-md5") ?? "",
                request.header("content-type") ?? "",
                "",  // Date: empty, x-ms-date is signed among the canonical headers.
                request.header("if-modified-since") ?? "",
                request.header("if-match") ?? "",
                request.header("if-none-match") ?? "",
                request.header("if-unmodified-since") ?? "",
                request.header("range") ?? "",
            ]
            return standard.map { $0 + "\n" }.joined()
                + canonicalizedHeaders(request.headers)
                + canonicalizedResource(path: request.path, query: request.query)
        case .table:
            let resource =
                "/\(account)\(request.path)"
                + (request.query.first { Self.decode($0.name).lowercased() == "comp" }.map {
                    "?comp=\(Self.decode($0.value))"
                } ?? "")
            return [
                request.method.uppercased(),
                request.header("content-md5") ?? "",
                request.header("content-type") ?? "",
                request.header("x-ms-date") ?? request.header("date") ?? "",
                resource,
            ].joined(separator: "\n")
        }
    }

    public func signature(of stringToSign: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: SymmetricKey(data: key)))
            .base64EncodedString()
    }

    /// `x-ms-*` headers, lowercased, sorted by name, whitespace runs folded, one `name:value\n` each.
    func canonicalizedHeaders(_ headers: [(name: String, value: String)]) -> String {
        headers
            .map { (name: $0.name.lowercased(), value: $0.value) }
            .filter { $0.name.hasPrefix("x-ms-") }
            .sorted { $0.name < $1.name }
            .map { "\($0.name):\(Self.foldWhitespace($0.value))\n" }
            .joined()
    }

    /// `/account/path`, then each query parameter decoded as `\nname:value`, sorted by name, with several
    /// values of one name sorted and joined by commas.
    func canonicalizedResource(path: String, query: [(name: String, value: String)]) -> String {
        var values: [String: [String]] = [:]
        for item in query {
            values[Self.decode(item.name).lowercased(), default: []].append(Self.decode(item.value))
        }
        return "/\(account)\(path)"
            + values.keys.sorted().map { name in
                "\n\(name):\(values[name]!.sorted().joined(separator: ","))"
            }.joined()
    }

    private static func decode(_ text: String) -> String {
        text.removingPercentEncoding ?? text
    }

    private static func foldWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
