import Logging
import RelayShared

/// Runs the worker's storage calls with transient failures (503, 500, network errors) retried at one
/// depth only, and every answer counted by status. A backend that retries by itself (Azure, by
/// `RetryDecision`) is called once: its retries happen inside, and it reports each attempt, the retried
/// 503s too, through `observe`. Over the local store and the test fault wrappers, which do not retry, the
/// calls are retried here with jittered backoff. Every call the worker retries is idempotent, except a
/// page write whose outcome is unknown: that one is thrown to the apply (`retryingUnknownOutcomes:
/// false`), which raises the epoch before repeating it (docs/worker.md, "Apply").
struct StorageCalls: ControlTableCalls {
    let retry: StorageRetry
    let backendRetries: Bool
    let logger: Logger

    /// The observer the worker gives a retrying backend: the metrics of every attempt.
    static let observe: StorageAttemptObserver = { attempt in
        WorkerMetrics.storageResponse(status: status(attempt.status))
        if attempt.willRetry { WorkerMetrics.retry(attempt.operation) }
    }

    @discardableResult
    func callAsFunction<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try await callAsFunction(operation, retryingUnknownOutcomes: true, body)
    }

    @discardableResult
    func callAsFunction<T>(
        _ operation: String, retryingUnknownOutcomes: Bool, _ body: () async throws -> T
    ) async throws -> T {
        if backendRetries { return try await body() }
        var attempt = 0
        while true {
            do {
                let result = try await body()
                WorkerMetrics.storageResponse(status: Self.status(200))
                return result
            } catch let error as StorageError {
                WorkerMetrics.storageResponse(status: Self.status(error.status))
                attempt += 1
                guard error.isRetryable, attempt < retry.attempts,
                    retryingUnknownOutcomes || !RetryDecision.needsIdempotence(AttemptFailure(error))
                else { throw error }
                try Task.checkCancellation()
                WorkerMetrics.retry(operation)
                let delay = retry.delay(afterAttempt: attempt)
                logger.debug(
                    "retrying a storage call",
                    metadata: [
                        "operation": "\(operation)", "retry.attempt": "\(attempt)",
                        "error": "\(error.shortDescription)",
                        "retry.delay_ms": "\(Int(delay.seconds * 1000))",
                    ])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// The metric's label: `2xx` for any success, else the status (`0` when no answer came).
    private static func status(_ status: Int) -> String { (200..<300).contains(status) ? "2xx" : String(status) }
}
