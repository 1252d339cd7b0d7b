import Foundation

/// When and how long to wait before trying a failed request again (docs/azure-rest.md, "Retries and
/// idempotency"): jittered
/// exponential backoff with a cap, `Retry-After` honoured, a bounded number of retries.
///
/// Pure arithmetic over an injectable random source, so tests pin the jitter.
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt.
    public var maxRetries: Int
    /// The delay unit: retry n waits (2^n − 1) × base × jitter.
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// Jitter factor range (Go azcore's [0.8, 1.3)).
    public var jitter: ClosedRange<Double>
    /// Uniform in [0, 1); replaced in tests.
    public var random: @Sendable () -> Double

    public init(
        maxRetries: Int = 4, baseDelay: Duration = .milliseconds(800), maxDelay: Duration = .seconds(60),
        jitter: ClosedRange<Double> = 0.8...1.3, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.random = random
    }

    /// Statuses worth another attempt (the table `RetryDecision` decides by).
    public static var retryableStatuses: Set<Int> { RetryDecision.retryableStatuses }

    /// The wait before retry number `retry` (1 for the first retry), or nil when retries are used up.
    /// A `Retry-After` from the service replaces the computed backoff (capped at `maxDelay`).
    public func delay(beforeRetry retry: Int, retryAfter: Duration?) -> Duration? {
        guard retry >= 1, retry <= maxRetries else { return nil }
        if let retryAfter { return min(max(retryAfter, .zero), maxDelay) }
        let exponent = Double((1 << min(retry, 30)) - 1)
        let factor = jitter.lowerBound + (jitter.upperBound - jitter.lowerBound) * random()
        let seconds = exponent * factor * baseDelay.seconds
        return min(.seconds(seconds), maxDelay)
    }

    /// `Retry-After` as seconds or as an HTTP date (relative to `now`).
    public static func parseRetryAfter(_ value: String?, now: Date) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int(value) { return .seconds(max(0, seconds)) }
        guard let date = AzureDate.parseRFC1123(value) else { return nil }
        return .seconds(max(0, date.timeIntervalSince(now)))
    }
}
