import Logging
import RelayShared

/// Runs the worker's storage calls: counts every answer by status, and retries transient failures (503,
/// 500, network errors) with jittered backoff. Every call the worker retries is idempotent or fenced: a
/// Put Page whose outcome is unknown is simply applied again under the same lease and epoch.
struct StorageCalls: ControlTableCalls {
    let retry: StorageRetry
    let logger: Logger

    @discardableResult
    func callAsFunction<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                let result = try await body()
                WorkerMetrics.storageResponse(status: "2xx")
                return result
            } catch let error as StorageError {
                WorkerMetrics.storageResponse(status: String(error.status))
                attempt += 1
                guard error.isRetryable, attempt < retry.attempts else { throw error }
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
}
