import RelayShared
import Synchronization

/// `--fault-delay-rate`: a seeded share of new messages stays invisible for `seconds` more, so that
/// they arrive after messages put later, as when Azure's queue delivers out of order.
final class DeliveryDelay: Sendable {
    let rate: Double
    let seconds: Int
    private let random: Mutex<SplitMix64>

    init(rate: Double, seconds: Int, seed: UInt64) {
        self.rate = rate
        self.seconds = seconds
        // A different stream from the fault plan's, so adding this fault does not change the others.
        random = Mutex(SplitMix64(seed: seed ^ 0xD1B5_4A32_D192_ED03))
    }

    /// The extra invisibility for the next message, or nil.
    func draw() -> Int? {
        random.withLock { $0.nextUnit() } < rate ? seconds : nil
    }
}
