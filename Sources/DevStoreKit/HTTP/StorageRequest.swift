import Foundation
import HTTPTypes
import Hummingbird
import RelayShared

/// One REST request as the storage endpoints see it: the raw path and query exactly as sent (Shared Key
/// signs them byte for byte), their decoded forms for dispatch, the headers, and the body once read.
public struct StorageRequest: Sendable {
    var method: String
    /// The percent-encoded path as sent, e.g. `/devstoreaccount1/vhds/disk%20a.vhd`.
    var rawPath: String
    /// Query items as sent (percent-encoded), in order.
    var rawQuery: [(name: String, value: String)]
    /// Query items decoded, for dispatch: names lowercased (`NextPartitionKey` is `nextpartitionkey`)
    /// except OData's `$filter`, `$top`…; the last one wins for a repeated name.
    var query: [String: String]
    /// Header names lowercased; a repeated header keeps its first value (Azure rejects duplicates anyway).
    var headers: [(name: String, value: String)]
    /// The account: the first path segment (path-style URLs).
    var account: String
    /// Decoded path segments after the account, e.g. `["vhds", "dir", "disk a.vhd"]`; the Blob endpoint
    /// joins those after the container back into the blob name.
    var segments: [String]
    var body: [UInt8] = []

    public init(method: String, target: String, headers: [(name: String, value: String)]) {
        self.method = method.uppercased()
        let queryStart = target.firstIndex(of: "?")
        rawPath = String(target[..<(queryStart ?? target.endIndex)])
        var rawQuery: [(name: String, value: String)] = []
        var query: [String: String] = [:]
        if let queryStart {
            for item in target[target.index(after: queryStart)...].split(
                separator: "&", omittingEmptySubsequences: true)
            {
                let name: Substring
                let value: Substring
                if let equals = item.firstIndex(of: "=") {
                    name = item[..<equals]
                    value = item[item.index(after: equals)...]
                } else {
                    name = item
                    value = ""
                }
                rawQuery.append((String(name), String(value)))
                let decodedName = Self.decode(name)
                query[decodedName.hasPrefix("$") ? decodedName : decodedName.lowercased()] = Self.decode(value)
            }
        }
        self.rawQuery = rawQuery
        self.query = query
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        let parts = rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        account = parts.first.map { Self.decode($0) } ?? ""
        segments = parts.dropFirst().map { Self.decode($0) }
        if segments.last == "" { segments.removeLast() }
    }

    init(_ request: Request) {
        self.init(
            method: request.method.rawValue,
            target: request.head.path ?? "/",
            headers: request.headers.map { (name: $0.name.rawName, value: $0.value) })
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// Headers whose name starts with `x-ms-meta-`, as metadata (name case kept as sent).
    var metadata: [String: String] {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.hasPrefix("x-ms-meta-") {
            metadata[String(name.dropFirst("x-ms-meta-".count))] = value
        }
        return metadata
    }

    /// Whether `RequestAuthenticator` checks a SAS rather than Shared Key: a `sig` and no Authorization.
    var isAuthenticatedBySAS: Bool { header("authorization") == nil && query["sig"] != nil }

    var hasMetadata: Bool { headers.contains { $0.name.hasPrefix("x-ms-meta-") } }

    /// `+` is a literal plus here: Azure clients percent-encode spaces (docs/azure-rest.md, "Shared Key and
    /// SAS").
    static func decode<S: StringProtocol>(_ text: S) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }

    // MARK: Typed header and query values, failing with Azure's 400 codes

    func intHeader(_ name: String) throws -> Int64? {
        guard let text = header(name) else { return nil }
        guard let value = Int64(text.trimmingCharacters(in: .whitespaces)) else {
            throw StorageError(.invalidHeaderValue, status: 400, "header \(name) must be an integer, not '\(text)'")
        }
        return value
    }

    /// An RFC 1123 date header (`If-Modified-Since`…), nil when absent.
    func dateHeader(_ name: String) throws -> Date? {
        guard let text = header(name) else { return nil }
        guard let date = AzureDate.parseRFC1123(text) else {
            throw StorageError(
                .invalidHeaderValue, status: 400, "header \(name) must be an RFC 1123 date, not '\(text.prefix(100))'")
        }
        return date
    }

    func intQuery(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = query[name] else { return defaultValue }
        guard let value = Int(text) else {
            throw StorageError(
                .invalidQueryParameterValue, status: 400, "query parameter \(name) must be an integer, not '\(text)'")
        }
        guard range.contains(value) else {
            throw StorageError(
                .outOfRangeQueryParameterValue, status: 400,
                "query parameter \(name)=\(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    func requiredHeader(_ name: String) throws -> String {
        guard let value = header(name) else {
            throw StorageError(.missingRequiredHeader, status: 400, "the request needs the header \(name)")
        }
        return value
    }

    /// `bytes=start-end` from `x-ms-range`, else `Range`; `end` (inclusive) nil for an open range. Both
    /// are offsets Azure can hold (signed 64-bit), so `end + 1` cannot overflow.
    func byteRange() throws -> (start: UInt64, end: UInt64?)? {
        let name = header("x-ms-range") != nil ? "x-ms-range" : "range"
        guard let text = header(name) else { return nil }
        let invalid = StorageError(
            .invalidHeaderValue, status: 400,
            "header \(name) must be bytes=START-END with 0 ≤ START ≤ END < 2^63, not '\(text.prefix(100))'")
        guard text.hasPrefix("bytes=") else { throw invalid }
        let parts = text.dropFirst("bytes=".count).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int64(parts[0]), start >= 0 else { throw invalid }
        if parts[1].isEmpty { return (UInt64(start), nil) }
        guard let end = Int64(parts[1]), end >= start, end < Int64.max else { throw invalid }
        return (UInt64(start), UInt64(end))
    }
}
