import Foundation

/// A worker instance's heartbeat in the control table (docs/replication-contract.md, "Control table"):
/// one row per running `relay-worker` in the `workers` partition, rewritten every heartbeat, so that
/// the instances can count each other and share the targets out (docs/worker.md, "Claim"). Liveness is
/// judged by the table's own `Timestamp`, never by the instances' clocks.
public struct InstanceRow: Hashable, Sendable {
    /// The partition of the heartbeat rows. Target partitions are `container:blob` keys, which always
    /// hold a `:`, so this one cannot collide with a target.
    public static let partition = "workers"

    /// The instance's id, chosen at start (a UUID): the row key.
    public var id: String
    public var host: String
    public var pid: UInt64
    /// Targets this instance holds a claim on.
    public var claimed: UInt64
    /// Targets this instance knows of (from messages and the segments container).
    public var known: UInt64
    /// Set by the table on every write.
    public var timestamp: Date?

    public init(id: String, host: String, pid: UInt64, claimed: UInt64, known: UInt64, timestamp: Date? = nil) {
        self.id = id
        self.host = host
        self.pid = pid
        self.claimed = claimed
        self.known = known
        self.timestamp = timestamp
    }

    public var entity: TableEntity {
        TableEntity(
            partitionKey: Self.partition, rowKey: id,
            properties: [
                "host": .string(host),
                "pid": .count(pid),
                "claimed": .count(claimed),
                "known": .count(known),
            ])
    }

    public init(entity: TableEntity) throws(ControlError) {
        guard entity.partitionKey == Self.partition else {
            throw ControlError(
                .inconsistent, field: "row \(TargetName.printable(entity.rowKey))",
                "not in the '\(Self.partition)' partition")
        }
        let reader = ControlEntityReader(entity)
        id = entity.rowKey
        host = try reader.string("host")
        pid = try reader.uint64("pid")
        claimed = try reader.uint64("claimed")
        known = try reader.uint64("known")
        timestamp = entity.timestamp
    }
}
