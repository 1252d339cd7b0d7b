/// A target's entry in the control table's `targets` partition (docs/replication-contract.md, "Control
/// table"): the list of every target, written by the client each time it syncs one, so that every worker
/// instance learns of every target from one query, whichever instance took its messages in and whether
/// or not it has segments waiting.
public struct KnownTargetRow: Hashable, Sendable {
    /// Target partitions are `container:blob` keys, which always hold a `:`: this one cannot collide.
    public static let partition = "targets"

    public var target: TargetName

    public init(target: TargetName) { self.target = target }

    public var entity: TableEntity {
        TableEntity(
            partitionKey: Self.partition, rowKey: target.key, properties: ["target": .string(target.description)])
    }

    /// Checks that the row is in the `targets` partition and that its key is the key of the target it names.
    public init(entity: TableEntity) throws(ControlError) {
        let reader = ControlEntityReader(entity)
        guard entity.partitionKey == Self.partition else {
            throw reader.fail(.inconsistent, "PartitionKey", "not in the '\(Self.partition)' partition")
        }
        target = try TargetRow.namedTarget(of: reader)
        guard entity.rowKey == target.key else {
            throw reader.fail(
                .inconsistent, "target",
                "'\(target)' is not the target of row key '\(TargetName.printable(entity.rowKey))'")
        }
    }
}
