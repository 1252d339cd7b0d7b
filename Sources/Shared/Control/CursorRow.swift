import Foundation

/// The `cursor` row: how far the target is applied. Only the worker holding the target's claim writes
/// it, with an ETag guard, and only over a contiguous applied prefix (docs/replication-contract.md).
public struct CursorRow: Hashable, Sendable {
    public var target: TargetName
    /// Every seq ≤ `appliedSeq` is applied to the target (0: none).
    public var appliedSeq: UInt64
    /// The page blob sequence number the claim that wrote this row fenced its writes with.
    public var epoch: Int64
    /// Plain bytes written to the target so far, all generations.
    public var appliedBytes: UInt64
    public var updatedAt: Date
    public var etag: String?

    public init(
        target: TargetName, appliedSeq: UInt64 = 0, epoch: Int64 = 0, appliedBytes: UInt64 = 0,
        updatedAt: Date, etag: String? = nil
    ) {
        self.target = target
        self.appliedSeq = appliedSeq
        self.epoch = epoch
        self.appliedBytes = appliedBytes
        self.updatedAt = updatedAt
        self.etag = etag
    }

    public var entity: TableEntity {
        TableEntity(
            partitionKey: target.key, rowKey: ControlNames.cursorRow,
            properties: [
                "target": .string(target.description),
                "appliedSeq": .count(appliedSeq),
                "epoch": .int64(epoch),
                "appliedBytes": .count(appliedBytes),
                "updatedAt": .dateTime(updatedAt),
            ])
    }

    public init(entity: TableEntity) throws(ControlError) {
        let reader = ControlEntityReader(entity)
        target = try TargetRow.target(of: reader)
        appliedSeq = try reader.uint64("appliedSeq", in: 0...ControlNames.maxSeq)
        epoch = Int64(try reader.uint64("epoch"))
        appliedBytes = try reader.uint64("appliedBytes")
        updatedAt = try reader.date("updatedAt")
        etag = entity.etag
    }
}
