import Foundation
import RelayShared

/// Verifies a shared access signature with the account key: the account SAS (`ss`/`srt`) and the
/// service SAS of each service (Blob `sr`, Queue, Table `tn`), with the string-to-sign of Microsoft's
/// "Create an account SAS" / "Create a service SAS" for `sv` 2015-04-05 and later, field for field as
/// the Python SDK's `generate_*_sas` builds it. Stored access policies (`si`) and IP ranges (`sip`) are
/// signed but not enforced: the server keeps no policies and serves only loopback.
public struct SASVerifier: Sendable {
    let account: String
    let key: [UInt8]

    public init(account: String, key: [UInt8]) {
        self.account = account
        self.key = key
    }

    public func verify(_ request: StorageRequest, kind: StorageKind, route: Route, now: Date) throws {
        let q = request.query
        func field(_ name: String) -> String { q[name] ?? "" }
        guard let version = q["sv"], version >= "2015-04-05" else {
            throw RequestAuthenticator.failure("the SAS has no signed version (sv) of 2015-04-05 or later")
        }
        guard let expiryText = q["se"], let expiry = AzureDate.parseISO8601(expiryText) else {
            throw RequestAuthenticator.failure("the SAS has no valid signed expiry (se)")
        }
        guard now < expiry else {
            throw RequestAuthenticator.failure("the SAS expired at \(expiryText)")
        }
        if let startText = q["st"] {
            guard let start = AzureDate.parseISO8601(startText) else {
                throw RequestAuthenticator.failure("the SAS signed start (st) '\(startText)' is not a valid time")
            }
            guard now >= start.addingTimeInterval(-RequestAuthenticator.maximumClockSkew) else {
                throw RequestAuthenticator.failure("the SAS is not valid before \(startText)")
            }
        }
        if let protocols = q["spr"], !protocols.split(separator: ",").contains("http") {
            throw StorageError(
                .authorizationProtocolMismatch, status: 403, "the SAS allows only \(protocols); this server speaks http"
            )
        }

        let stringToSign: String
        if q["ss"] != nil {
            stringToSign = accountStringToSign(q, version: version)
            guard field("ss").contains(kind.sasLetter) else {
                throw StorageError(
                    .authorizationServiceMismatch, status: 403,
                    "the account SAS does not cover the \(kind.rawValue) service (ss=\(field("ss")))")
            }
            guard field("srt").contains(route.resourceType) else {
                throw StorageError(
                    .authorizationResourceTypeMismatch, status: 403,
                    "\(route.name) needs resource type '\(route.resourceType)' but the account SAS allows srt=\(field("srt"))"
                )
            }
        } else {
            stringToSign = try serviceStringToSign(request, kind: kind, version: version)
        }
        guard
            RequestAuthenticator.constantTimeEqual(
                SharedKeySigner(account: account, key: key).signature(of: stringToSign), field("sig"))
        else {
            throw RequestAuthenticator.failure(
                "Signature did not match. String to sign used was '\(stringToSign.replacingOccurrences(of: "\n", with: "\\n"))'"
            )
        }
        guard q["ss"] != nil || route.allowsServiceSAS else {
            throw StorageError(
                .authorizationPermissionMismatch, status: 403,
                "This request is not authorized to perform this operation using this permission: \(route.name) needs an account SAS or Shared Key; a service SAS cannot authorize it"
            )
        }
        guard field("sp").contains(route.permission) else {
            throw StorageError(
                .authorizationPermissionMismatch, status: 403,
                "This request is not authorized to perform this operation using this permission: \(route.name) needs '\(route.permission)', the SAS grants sp=\(field("sp"))"
            )
        }
    }

    /// Account SAS: every field followed by a newline; the encryption scope since 2020-12-06.
    private func accountStringToSign(_ q: [String: String], version: String) -> String {
        var fields = ["sp", "ss", "srt", "st", "se", "sip", "spr", "sv"].map { q[$0] ?? "" }
        if version >= "2020-12-06" { fields.append(q["ses"] ?? "") }
        return account + "\n" + fields.map { $0 + "\n" }.joined()
    }

    /// Service SAS: the fields joined by newlines, with the canonical resource of the signed object.
    private func serviceStringToSign(_ request: StorageRequest, kind: StorageKind, version: String) throws -> String {
        let q = request.query
        func field(_ name: String) -> String { q[name] ?? "" }
        let head = [field("sp"), field("st"), field("se")]
        let tail = [field("si"), field("sip"), field("spr"), field("sv")]
        switch kind {
        case .blob:
            guard let resource = q["sr"] else {
                throw RequestAuthenticator.failure("the blob SAS has no signed resource (sr)")
            }
            let container = request.segments.first ?? ""
            var path = "/blob/\(account)/\(container)"
            if resource != "c" { path += "/" + request.segments.dropFirst().joined(separator: "/") }
            let overrides = ["rscc", "rscd", "rsce", "rscl", "rsct"].map(field)
            var fields = head + [path] + tail
            if version >= "2018-11-09" {
                fields += [resource, resource == "bs" ? field("snapshot") : ""]
            }
            if version >= "2020-12-06" { fields.append(field("ses")) }
            return (fields + overrides).joined(separator: "\n")
        case .queue:
            let queue = request.segments.first ?? ""
            return (head + ["/queue/\(account)/\(queue)"] + tail).joined(separator: "\n")
        case .table:
            guard let table = q["tn"] else {
                throw RequestAuthenticator.failure("the table SAS has no table name (tn)")
            }
            let addressed = request.segments.first.map { String($0.prefix { $0 != "(" }) } ?? ""
            guard addressed == "$batch" || addressed.lowercased() == table.lowercased() else {
                throw StorageError(
                    .authorizationResourceTypeMismatch, status: 403, "the SAS is for table \(table), not \(addressed)")
            }
            return
                (head + ["/table/\(account)/\(table.lowercased())"] + tail + ["spk", "srk", "epk", "erk"].map(field))
                .joined(separator: "\n")
        }
    }
}
