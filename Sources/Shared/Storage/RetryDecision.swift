/// Whether a request may be sent again when the previous attempt's fate is unknown
/// (docs/azure-rest.md, "Retries and idempotency").
public enum RetrySafety: Sendable, Hashable {
    /// Sending it twice has the effect of sending it once: retried on any retryable failure.
    case idempotent
    /// A second copy could do harm (Put Message, Snapshot, Insert, increment): retried only when the
    /// service certainly did not apply it (never sent, or `503`/`429` throttling).
    case unsafe
}

/// One failed attempt of a storage request, as the retry rule sees it.
public enum AttemptFailure: Sendable, Hashable {
    /// An HTTP response with a status outside 2xx.
    case status(Int)
    /// No HTTP response.
    case transport(TransportError.Kind)

    /// The failure a `StorageError` reports. Status 0 means that no response arrived, which may have
    /// been after the service received the request: the outcome is unknown.
    public init(_ error: StorageError) {
        self = error.status == 0 ? .transport(.outcomeUnknown) : .status(error.status)
    }
}

/// What to do after a failed attempt: the one retry rule, used by the Azure client's retry loop,
/// `StorageError.isRetryable` and the page writes' sequence-number fence (docs/azure-rest.md,
/// "Retries and idempotency"). A pure function of the failure, the request's safety and whether an
/// earlier attempt's outcome is already unknown.
public struct RetryDecision: Sendable, Hashable {
    /// Whether to send the request again (when the retry policy has retries left).
    public var retry: Bool
    /// Whether this attempt or an earlier one may have been applied: from then on an error that only a
    /// repeat of an applied request gets (`409 …AlreadyExists`, `404` after a delete) means success.
    public var outcomeUnknown: Bool

    /// Statuses worth another attempt: timeouts, throttling and server errors (not 501/505).
    public static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]
    /// Statuses by which the service says it did not do the work (throttled before processing), so even
    /// an unsafe request may be sent again.
    public static let rejectedUnprocessedStatuses: Set<Int> = [429, 503]

    public init(retry: Bool, outcomeUnknown: Bool) {
        self.retry = retry
        self.outcomeUnknown = outcomeUnknown
    }

    public init(_ failure: AttemptFailure, safety: RetrySafety, outcomeUnknown: Bool) {
        switch failure {
        case .status(let status):
            let unprocessed = Self.rejectedUnprocessedStatuses.contains(status)
            retry = Self.retryableStatuses.contains(status) && (safety == .idempotent || unprocessed)
            // A 5xx other than throttling may have been applied before the service failed.
            self.outcomeUnknown = outcomeUnknown || (retry && !unprocessed && status >= 500)
        case .transport(.notSent):
            retry = true
            self.outcomeUnknown = outcomeUnknown
        case .transport(.outcomeUnknown):
            retry = safety == .idempotent
            self.outcomeUnknown = true
        case .transport(.responseTooLarge):
            retry = false
            self.outcomeUnknown = outcomeUnknown
        }
    }

    /// Whether `failure` is retried for an idempotent request but not for an unsafe one: the service may
    /// have applied the attempt, so only a request made idempotent (by a fence) may be sent again.
    public static func needsIdempotence(_ failure: AttemptFailure) -> Bool {
        RetryDecision(failure, safety: .idempotent, outcomeUnknown: false).retry
            && !RetryDecision(failure, safety: .unsafe, outcomeUnknown: false).retry
    }
}
