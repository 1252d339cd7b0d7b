import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelayShared

/// The Hummingbird responder of one service port: finds the account and the route, authenticates from
/// the headers (Shared Key and SAS sign no body), only then invites and reads the body (bounded), runs
/// the route, and renders any `StorageError` as Azure does (status,
/// `x-ms-error-code`, XML or JSON body). Logs one line per request without the query string, so that
/// neither SAS signatures nor keys reach the log.
struct StorageResponder: HTTPResponder {
    typealias Context = StorageRequestContext

    let endpoint: any StorageEndpoint
    let accounts: [String: Account]
    let authenticator = RequestAuthenticator()
    let logger: Logger

    /// The version we speak when the client names none.
    static let defaultVersion = "2021-12-02"

    func respond(to request: Request, context: Context) async throws -> Response {
        let requestID = UUID().uuidString.lowercased()
        var storageRequest = StorageRequest(request)
        let version = storageRequest.header("x-ms-version") ?? Self.defaultVersion
        let isHead = storageRequest.method == "HEAD"
        var operation = "unrecognised"
        var response: StorageResponse
        do {
            guard let account = accounts[storageRequest.account] else {
                throw RequestAuthenticator.failure(
                    "no account '\(storageRequest.account)' on this server (path-style URLs: /ACCOUNT/…)")
            }
            let route = try endpoint.route(storageRequest)
            operation = route.name
            try authenticator.authenticate(storageRequest, account: account, kind: endpoint.kind, route: route)
            storageRequest.body = try await Self.collect(
                request, limit: route.bodyLimit, operation: route.name, channel: context.channel)
            response = try await route.run(storageRequest, account)
        } catch let error as StorageError {
            response = Self.errorResponse(
                error, kind: endpoint.kind, requestID: requestID, isHead: isHead, request: storageRequest)
        } catch {
            response = Self.errorResponse(
                StorageError(.internalError, status: 500, "\(error)"), kind: endpoint.kind, requestID: requestID,
                isHead: isHead,
                request: storageRequest)
        }
        if let clientRequestID = storageRequest.header("x-ms-client-request-id") {
            response.add("x-ms-client-request-id", String(clientRequestID.prefix(1024)))
        }
        logger.info(
            "request",
            metadata: [
                "service": "\(endpoint.kind.rawValue)", "operation": "\(operation)",
                "method": "\(storageRequest.method)",
                "path": "\(storageRequest.rawPath)", "status": "\(response.status)", "request.id": "\(requestID)",
            ])
        return response.hummingbird(requestID: requestID, version: version, head: isHead)
    }

    /// The body, refused with `413 RequestBodyTooLarge` above `limit` before it is invited (`100 Continue`)
    /// or read whole.
    static func collect(_ request: Request, limit: Int, operation: String, channel: any Channel) async throws -> [UInt8]
    {
        let tooLarge = StorageError(
            .requestBodyTooLarge, status: 413,
            "\(operation): the request body is larger than the limit of \(limit) bytes")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        try await channel.triggerUserOutboundEvent(ExpectContinueHandler.SendContinue()).get()
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch {
            throw tooLarge
        }
    }

    static func errorResponse(
        _ error: StorageError, kind: StorageKind, requestID: String, isHead: Bool, request: StorageRequest
    ) -> StorageResponse {
        // A failed If-None-Match on a read is 304 Not Modified, without a body (docs/azure-rest.md,
        // "Conditions and leases").
        var status = error.status == 0 ? 500 : error.status
        if error.code == .conditionNotMet, request.method == "GET" || request.method == "HEAD",
            request.header("if-none-match") != nil
        {
            status = 304
        }
        var response = StorageResponse(status: status)
        response.add("x-ms-error-code", error.code.rawValue)
        guard !isHead, status != 304 else { return response }
        let message = "\(error.message)\nRequestId:\(requestID)\nTime:\(AzureDate.iso8601(Date()))"
        switch kind {
        case .blob, .queue:
            response.add("content-type", "application/xml")
            let xml =
                XMLText.declaration
                + "<Error><Code>\(XMLText.escape(error.code.rawValue))</Code><Message>\(XMLText.escape(message))</Message></Error>"
            response.body = Array(xml.utf8)
        case .table:
            response.add("content-type", "application/json;odata=minimalmetadata;streaming=true;charset=utf-8")
            let json = JSONValue.object([
                (
                    "odata.error",
                    .object([
                        ("code", .string(error.code.rawValue)),
                        ("message", .object([("lang", .string("en-US")), ("value", .string(message))])),
                    ])
                )
            ])
            response.body = Array(json.serialized().utf8)
        }
        return response
    }
}
