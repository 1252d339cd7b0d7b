import Foundation

/// An Azure Storage connection string, parsed (docs/azure-rest.md, "Connection strings"): account and key
/// or SAS, and the three service endpoints, explicit or synthesised from the protocol and endpoint suffix.
///
/// `description` never shows the key or the SAS token: connection strings end up in error messages.
public struct ConnectionString: Sendable, Hashable, CustomStringConvertible {
    public enum Credential: Sendable, Hashable {
        /// Shared Key: the account name and the decoded account key.
        case sharedKey(account: String, key: [UInt8])
        /// A SAS token, without the leading `?`, appended verbatim to every URL.
        case sharedAccessSignature(String)
    }

    public var credential: Credential
    /// The account name, when known (always with Shared Key).
    public var accountName: String?
    public var blobEndpoint: URL?
    public var queueEndpoint: URL?
    public var tableEndpoint: URL?

    /// The development storage account (Azurite, relay-devstore).
    public static let developmentAccountName = "devstoreaccount1"
    public static let developmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    /// `UseDevelopmentStorage=true` expanded, for emulators on 127.0.0.1 with the given ports.
    public static func development(blobPort: Int = 10000, queuePort: Int = 10001, tablePort: Int = 10002) -> String {
        let account = developmentAccountName
        return "DefaultEndpointsProtocol=http;AccountName=\(account);AccountKey=\(developmentAccountKey);"
            + "BlobEndpoint=http://127.0.0.1:\(blobPort)/\(account);"
            + "QueueEndpoint=http://127.0.0.1:\(queuePort)/\(account);"
            + "TableEndpoint=http://127.0.0.1:\(tablePort)/\(account);"
    }

    public init(_ text: String) throws {
        var pairs = try Self.pairs(of: text)
        if pairs["usedevelopmentstorage"]?.lowercased() == "true" {
            pairs = try Self.pairs(of: Self.development())
        }

        let account = pairs["accountname"]
        accountName = account
        if let sas = pairs["sharedaccesssignature"] {
            credential = .sharedAccessSignature(sas.hasPrefix("?") ? String(sas.dropFirst()) : sas)
        } else if let key = pairs["accountkey"] {
            guard let account, !account.isEmpty else {
                throw ConnectionStringError("AccountKey is given without AccountName")
            }
            guard let decoded = Data(base64Encoded: key) else {
                throw ConnectionStringError("AccountKey is not valid Base64")
            }
            credential = .sharedKey(account: account, key: [UInt8](decoded))
        } else {
            throw ConnectionStringError("neither AccountKey nor SharedAccessSignature is given")
        }

        let scheme = pairs["defaultendpointsprotocol"]?.lowercased() ?? "https"
        guard scheme == "https" || scheme == "http" else {
            throw ConnectionStringError("DefaultEndpointsProtocol must be http or https, not '\(scheme)'")
        }
        let suffix = pairs["endpointsuffix"] ?? "core.windows.net"
        func endpoint(_ key: String, service: String) throws -> URL? {
            if let explicit = pairs[key] {
                guard let url = URL(string: explicit.hasSuffix("/") ? String(explicit.dropLast()) : explicit),
                    let urlScheme = url.scheme?.lowercased(), urlScheme == "http" || urlScheme == "https",
                    url.host != nil
                else { throw ConnectionStringError("\(key) is not an http(s) URL") }
                return url
            }
            guard let account, !account.isEmpty else { return nil }
            return URL(string: "\(scheme)://\(account).\(service).\(suffix)")
        }
        blobEndpoint = try endpoint("blobendpoint", service: "blob")
        queueEndpoint = try endpoint("queueendpoint", service: "queue")
        tableEndpoint = try endpoint("tableendpoint", service: "table")
        guard blobEndpoint != nil || queueEndpoint != nil || tableEndpoint != nil else {
            throw ConnectionStringError(
                "no endpoint: give AccountName or explicit BlobEndpoint/QueueEndpoint/TableEndpoint")
        }
    }

    /// `Key=Value` pairs separated by `;`, keys lowercased (the SDKs' matching is case-sensitive; people's
    /// typing is not).
    private static func pairs(of text: String) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for part in text.split(separator: ";") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            // Values (keys, SAS tokens) contain '=': split at the first one only.
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ConnectionStringError("a part has no '=' (expected Key=Value pairs separated by ';')")
            }
            pairs[trimmed[..<equals].lowercased()] = String(trimmed[trimmed.index(after: equals)...])
        }
        return pairs
    }

    public var description: String {
        var parts: [String] = []
        if let accountName { parts.append("AccountName=\(accountName)") }
        switch credential {
        case .sharedKey: parts.append("AccountKey=<redacted>")
        case .sharedAccessSignature: parts.append("SharedAccessSignature=<redacted>")
        }
        if let blobEndpoint { parts.append("BlobEndpoint=\(blobEndpoint.absoluteString)") }
        if let queueEndpoint { parts.append("QueueEndpoint=\(queueEndpoint.absoluteString)") }
        if let tableEndpoint { parts.append("TableEndpoint=\(tableEndpoint.absoluteString)") }
        return parts.joined(separator: ";")
    }
}

/// A connection string that cannot be used. The message never quotes the key or the SAS token.
public struct ConnectionStringError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid connection string: \(reason)" }
}
