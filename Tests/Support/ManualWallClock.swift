import Foundation
import RelayShared
import Synchronization

/// A wall clock that moves only when a test advances it: lease, visibility and expiry tests of the local
/// store run in no time and at exactly the instants they name.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    /// Starts at `start`, by default the time it is made: times the store reports stay near the real ones.
    public init(start: Date = Date()) {
        current = Mutex(start)
    }

    public var now: Date { current.withLock { $0 } }

    public func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        current.withLock { $0 += Double(seconds) + Double(attoseconds) / 1e18 }
    }
}
