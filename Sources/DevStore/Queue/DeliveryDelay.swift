import Synchronization

/// `--fault-delay-rate`: a seeded share of new messages stays invisible for `seconds` more, so that
/// they arrive after messages put later, as when Azure's queue delivers out of order.
final class DeliveryDelay: Sendable {
    let rate: Double
    let seconds: Int
    private let state: Mutex<UInt64>

    init(rate: Double, seconds: Int, seed: UInt64) {
        self.rate = rate
        self.seconds = seconds
        // A different stream from the fault plan's, so adding this fault does not change the others.
        state = Mutex(seed ^ 0xD1B5_4A32_D192_ED03)
    }

    /// The extra invisibility for the next message, or nil.
    func draw() -> Int? {
        let unit = state.withLock { state -> Double in
            // SplitMix64 (Steele, Lea, Flood 2014).
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
        }
        return unit < rate ? seconds : nil
    }
}
