/// One attempt of a storage request as a backend that retries saw it: what was sent, the HTTP status it
/// got (0: no answer), and whether the backend sends it again. A backend calls its observer after every
/// attempt, so a caller counts each answer, including the `503`s a retry hid (docs/azure-rest.md,
/// "Retries and idempotency").
public struct StorageAttempt: Sendable, Hashable {
    /// A bounded name of the operation: the method and the `comp` of the query (`PUT page`, `GET`).
    public var operation: String
    public var status: Int
    public var willRetry: Bool

    public init(operation: String, status: Int, willRetry: Bool) {
        self.operation = operation
        self.status = status
        self.willRetry = willRetry
    }
}

/// Called after every attempt of every request; must be cheap and must not block.
public typealias StorageAttemptObserver = @Sendable (StorageAttempt) -> Void
