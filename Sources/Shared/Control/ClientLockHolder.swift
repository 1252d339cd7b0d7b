import Foundation

/// Who holds a target's client lock (the lease on `ControlNames.clientLockBlob`), stored in the lock
/// blob's metadata so that a second sync can say whom it is waiting for.
public struct ClientLockHolder: Hashable, Sendable {
    public var host: String
    public var processID: Int32
    public var startedAt: Date

    public init(host: String, processID: Int32, startedAt: Date) {
        self.host = host
        self.processID = processID
        self.startedAt = startedAt
    }

    public var metadata: [String: String] {
        [
            "relayhost": host, "relaypid": String(processID),
            "relaystarted": String(Int64(startedAt.timeIntervalSince1970)),
        ]
    }

    /// nil when the metadata does not name a holder (an older or foreign blob).
    public init?(metadata: [String: String]) {
        guard let host = metadata["relayhost"], let pid = metadata["relaypid"].flatMap(Int32.init),
            let started = metadata["relaystarted"].flatMap(Int64.init)
        else { return nil }
        self.init(
            host: TargetName.printable(host), processID: pid,
            startedAt: Date(timeIntervalSince1970: TimeInterval(started)))
    }
}
