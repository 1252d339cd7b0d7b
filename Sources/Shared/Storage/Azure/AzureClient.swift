import Foundation
import Logging

/// Sends `AzureRequest`s to one service endpoint: signs each attempt afresh, retries as `RetryDecision`
/// says with the waits of the `RetryPolicy`, and turns error responses into `StorageError`s.
struct AzureClient: Sendable {
    let builder: AzureRequestBuilder
    let transport: any HTTPTransport
    let retryPolicy: RetryPolicy
    /// Every retry is logged (at `info`) with the request, the failure and the wait.
    let logger: Logger
    /// Sees every attempt's status, the retried ones too.
    let observer: StorageAttemptObserver?
    /// The time signed into `x-ms-date`; replaced in tests.
    let now: @Sendable () -> Date

    init(
        endpoint: URL, credential: ConnectionString.Credential, service: SharedKeySigner.Service,
        transport: any HTTPTransport,
        retryPolicy: RetryPolicy, logger: Logger, observer: StorageAttemptObserver? = nil,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        builder = AzureRequestBuilder(endpoint: endpoint, credential: credential, service: service)
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.observer = observer
        self.now = now
    }

    /// The response of the first attempt that succeeds (2xx), or that fails with one of
    /// `successAfterUnknownOutcome` after an attempt whose outcome is unknown.
    /// - Parameter pacer: when given, every attempt holds a slot of it, and `503 ServerBusy` narrows it.
    func send(_ request: AzureRequest, pacer: PagePacer? = nil) async throws -> HTTPResponse {
        var retry = 0
        var outcomeUnknown = false
        while true {
            try Task.checkCancellation()
            var failure: StorageError
            var retryAfter: Duration?
            var decision: RetryDecision
            try await pacer?.acquire()
            do {
                let response = try await transport.send(builder.build(request, date: now()))
                if (200..<300).contains(response.status) {
                    pacer?.release(.success)
                    observe(request, status: response.status, willRetry: false)
                    return response
                }
                let error = Self.error(from: response, request: request)
                pacer?.release(error.status == 503 ? .busy : .other)
                if outcomeUnknown && request.successAfterUnknownOutcome.contains(error.code) {
                    observe(request, status: response.status, willRetry: false)
                    return response
                }
                failure = error
                retryAfter = RetryPolicy.parseRetryAfter(response.header("retry-after"), now: now())
                decision = RetryDecision(
                    .status(response.status), safety: request.safety, outcomeUnknown: outcomeUnknown)
            } catch let error as TransportError {
                pacer?.release(.other)
                failure = StorageError(
                    .networkError, status: 0, "\(request.method) \(request.subject): \(error.message)")
                retryAfter = nil
                decision = RetryDecision(.transport(error.kind), safety: request.safety, outcomeUnknown: outcomeUnknown)
            } catch {
                pacer?.release(.other)
                throw error
            }
            outcomeUnknown = decision.outcomeUnknown
            retry += 1
            guard decision.retry, let delay = retryPolicy.delay(beforeRetry: retry, retryAfter: retryAfter) else {
                observe(request, status: failure.status, willRetry: false)
                throw failure
            }
            observe(request, status: failure.status, willRetry: true)
            logger.info(
                "retrying a storage request",
                metadata: [
                    "storage.request": "\(request.method) \(request.subject)",
                    "storage.status": "\(failure.status)",
                    "storage.error_code": "\(failure.code.rawValue)",
                    "retry.attempt": "\(retry)",
                    "retry.delay_ms": "\(Int(delay.seconds * 1000))",
                    "retry.outcome_unknown": "\(outcomeUnknown)",
                ])
            try await Task.sleep(for: delay)
        }
    }

    private func observe(_ request: AzureRequest, status: Int, willRetry: Bool) {
        guard let observer else { return }
        let comp = request.query.first { $0.0 == "comp" }.map { " " + $0.1 } ?? ""
        observer(StorageAttempt(operation: request.method + comp, status: status, willRetry: willRetry))
    }

    /// The `StorageError` an error response carries: the code from `x-ms-error-code`, else from the XML
    /// `<Code>` or the JSON `odata.error.code`, else the status; the service's message when there is one.
    static func error(from response: HTTPResponse, request: AzureRequest) -> StorageError {
        let (bodyCode, summary) = details(response)
        let code = response.header("x-ms-error-code") ?? bodyCode
        let fallback: StorageError.Code =
            switch response.status {
            case 404: .resourceNotFound
            case 503: .serverBusy
            case 500: .internalError
            default: StorageError.Code(rawValue: "HTTP\(response.status)")
            }
        let text = "\(request.method) \(request.subject)" + (summary.map { ": \($0)" } ?? "")
        return StorageError(code.map { StorageError.Code(rawValue: $0) } ?? fallback, status: response.status, text)
    }

    /// The first line of the service's error message, if the body has one.
    static func serviceMessage(_ response: HTTPResponse) -> String? { details(response).message }

    /// The code and message of an XML or JSON error body. The service's message ends with RequestId and
    /// Time lines: only the first line, the one for people, is kept.
    private static func details(_ response: HTTPResponse) -> (code: String?, message: String?) {
        guard !response.body.isEmpty else { return (nil, nil) }
        var code: String?
        var message: String?
        if let json = try? JSONValue.parseResponse(response.body, what: "an error"), let error = json["odata.error"] {
            code = error["code"]?.stringValue
            message = error["message"]?["value"]?.stringValue
        } else if let xml = try? XMLTree.parseResponse(response.body, what: "an error") {
            code = xml.value("Code")
            message = xml.value("Message")
        }
        return (code, message?.split(separator: "\n").first.map(String.init))
    }
}
