import Foundation
import RelayShared

/// Checks that a request is signed by the account it addresses: Shared Key (Blob/Queue, Table, Table
/// Shared Key Lite) recomputed with `SharedKeySigner`, or a SAS token verified with the account key
/// (`SASVerifier`). Every failure is `403`; its message says what to fix but never holds a key or the
/// signature the server expected.
struct RequestAuthenticator: Sendable {
    /// Azure refuses requests whose date is further than this from its clock.
    static let maximumClockSkew: TimeInterval = 15 * 60

    func authenticate(_ request: StorageRequest, account: Account, kind: StorageKind, route: Route, now: Date = Date())
        throws
    {
        if request.isAuthenticatedBySAS {
            try SASVerifier(account: account.name, key: account.key).verify(request, kind: kind, route: route, now: now)
        } else if let authorization = request.header("authorization") {
            try checkSharedKey(authorization, request: request, account: account, kind: kind, now: now)
        } else {
            throw Self.failure(
                "the request carries neither an Authorization header nor a SAS token; sign it with the account key or append a SAS"
            )
        }
    }

    private func checkSharedKey(
        _ authorization: String, request: StorageRequest, account: Account, kind: StorageKind, now: Date
    ) throws {
        let scheme = authorization.prefix { $0 != " " }
        let credential = authorization.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
        guard let colon = credential.lastIndex(of: ":") else {
            throw Self.failure("the Authorization header must be 'SharedKey ACCOUNT:SIGNATURE'")
        }
        let name = credential[..<colon]
        let signature = credential[credential.index(after: colon)...]
        guard name == account.name else {
            throw Self.failure(
                "the Authorization header names account '\(name)' but the request addresses account '\(account.name)'")
        }
        guard let dateText = request.header("x-ms-date") ?? request.header("date") else {
            throw Self.failure("the request has neither x-ms-date nor Date; Shared Key requests must be dated")
        }
        guard let date = AzureDate.parseRFC1123(dateText) else {
            throw Self.failure("the request date '\(dateText)' is not an RFC 1123 date")
        }
        guard abs(date.timeIntervalSince(now)) <= Self.maximumClockSkew else {
            throw Self.failure("the request date \(dateText) is more than 15 minutes from the server's clock")
        }

        let signer = SharedKeySigner(account: account.name, key: account.key)
        let signed = SharedKeySigner.Request(
            method: request.method, path: request.rawPath, query: request.rawQuery, headers: request.headers)
        let stringToSign: String
        switch (scheme, kind) {
        case ("SharedKey", .blob), ("SharedKey", .queue):
            stringToSign = signer.stringToSign(for: signed, service: .blobOrQueue)
        case ("SharedKey", .table):
            stringToSign = signer.stringToSign(for: signed, service: .table)
        case ("SharedKeyLite", .table):
            // Lite signs the date and the resource: the last two lines of the Table string-to-sign.
            let lines = signer.stringToSign(for: signed, service: .table).split(
                separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
            stringToSign = lines.count == 4 ? String(lines[3]) : ""
        default:
            throw Self.failure(
                "authorization scheme '\(scheme)' is not supported for the \(kind.rawValue) service; use SharedKey")
        }
        guard Self.constantTimeEqual(signer.signature(of: stringToSign), String(signature)) else {
            throw Self.failure(
                "the signature does not match the one computed with the account key; server used the string to sign "
                    + "'\(stringToSign.replacingOccurrences(of: "\n", with: "\\n"))'")
        }
    }

    static func failure(_ detail: String) -> StorageError {
        StorageError(
            .authenticationFailed, status: 403,
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. \(detail)"
        )
    }

    /// Compares without an early exit, so that timing does not reveal how much of a signature is right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
