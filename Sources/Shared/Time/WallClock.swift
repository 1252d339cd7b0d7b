import Foundation

/// The wall-clock time the local store keeps its leases, queue visibility and expiry, blob times and
/// table versions by (docs/storage.md, "Time"). Production runs on `SystemWallClock`; tests pass a clock
/// they advance, so that a 15 s lease runs out without waiting 15 s.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// The system's clock (`Date()`).
public struct SystemWallClock: WallClock {
    public init() {}

    public var now: Date { Date() }
}
