import Foundation

/// Caps upload bytes per second (`--max-bandwidth`). The bucket starts empty: a caller taking `n` bytes
/// waits until they, and every byte taken before, are paid for at the rate, so from the first byte on the
/// bytes sent never exceed the rate times the time elapsed (concurrent callers are served in turn).
///
/// Time the bucket sat unused (no caller waiting: the pipeline was late with the next segment, as on a
/// loaded machine) is credited back, up to `burst`: the next callers are paid from that time on, and the
/// average rate still reaches the cap instead of losing every gap for good. The credit never reaches
/// back past the end of the last payment, so the bound above holds whatever the gaps.
public actor TokenBucket {
    public let bytesPerSecond: Double
    /// The most idle time that is credited back.
    public let burst: Duration
    private var paidUntil: ContinuousClock.Instant?

    public init(bytesPerSecond: Double, burst: Duration = .seconds(1)) {
        precondition(bytesPerSecond > 0 && burst >= .zero)
        self.bytesPerSecond = bytesPerSecond
        self.burst = burst
    }

    /// Waits until `bytes` more may be sent.
    public func take(_ bytes: Int) async throws {
        try await Task.sleep(until: reserve(bytes, at: .now), clock: .continuous)
    }

    /// Pays for `bytes` asked for at `now`; returns when they may be sent.
    func reserve(_ bytes: Int, at now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        let start = paidUntil.map { max($0, now - burst) } ?? now
        let due = start + .seconds(Double(bytes) / bytesPerSecond)
        paidUntil = due
        return due
    }
}
