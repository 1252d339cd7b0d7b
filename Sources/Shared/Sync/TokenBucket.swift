import Foundation

/// Caps upload bytes per second (`--max-bandwidth`). The bucket starts empty and holds no burst: a caller
/// taking `n` bytes waits until they, and every byte taken before, are paid for at the rate, so the
/// achieved rate is the cap from the first byte on (concurrent callers are served in turn).
public actor TokenBucket {
    public let bytesPerSecond: Double
    private var paidUntil: ContinuousClock.Instant?

    public init(bytesPerSecond: Double) {
        precondition(bytesPerSecond > 0)
        self.bytesPerSecond = bytesPerSecond
    }

    /// Waits until `bytes` more may be sent.
    public func take(_ bytes: Int) async throws {
        let now = ContinuousClock.now
        let start = max(paidUntil ?? now, now)
        let due = start + .seconds(Double(bytes) / bytesPerSecond)
        paidUntil = due
        try await Task.sleep(until: due, clock: .continuous)
    }
}
