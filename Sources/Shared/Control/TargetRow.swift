/// The `target` row: the target's identity and the next free seq, which the client that holds the
/// client lock reserves with ETag-guarded updates (docs/replication-contract.md, "Control table").
public struct TargetRow: Hashable, Sendable {
    public var target: TargetName
    public var identity: TargetIdentity
    /// The first seq not yet given to any segment; seqs start at 1.
    public var nextSeq: UInt64
    /// The highest generation started (0: none yet).
    public var lastGeneration: UInt64
    /// Set by `abandon`: no manifest describes the target any more, so the next sync must be full.
    public var fullSyncRequired: Bool
    /// The ETag read with the row, for guarded updates; nil for a row not yet stored.
    public var etag: String?

    public init(
        target: TargetName, identity: TargetIdentity, nextSeq: UInt64 = 1, lastGeneration: UInt64 = 0,
        fullSyncRequired: Bool = false, etag: String? = nil
    ) {
        self.target = target
        self.identity = identity
        self.nextSeq = nextSeq
        self.lastGeneration = lastGeneration
        self.fullSyncRequired = fullSyncRequired
        self.etag = etag
    }

    public var entity: TableEntity {
        TableEntity(
            partitionKey: target.key, rowKey: ControlNames.targetRow,
            properties: [
                "target": .string(target.description),
                "sourceId": .string(identity.sourceID.uuidString.lowercased()),
                "virtualSize": .count(identity.virtualSize),
                "targetSize": .count(VHDFooter.targetSize(forVirtualSize: identity.virtualSize)),
                "creator": .string(identity.creator),
                "nextSeq": .count(nextSeq),
                "lastGeneration": .count(lastGeneration),
                "fullSyncRequired": .bool(fullSyncRequired),
            ])
    }

    public init(entity: TableEntity) throws(ControlError) {
        let reader = ControlEntityReader(entity)
        target = try TargetRow.target(of: reader)
        identity = TargetIdentity(
            sourceID: try reader.uuid("sourceId"), virtualSize: try reader.uint64("virtualSize"),
            creator: try reader.optionalString("creator") ?? "unknown")
        nextSeq = try reader.uint64("nextSeq", in: 1...ControlNames.maxSeq)
        lastGeneration = try reader.uint64("lastGeneration", in: 0...ControlNames.maxGeneration)
        fullSyncRequired = try reader.bool("fullSyncRequired")
        etag = entity.etag
    }

    /// The row's `target` property, which must be the target its PartitionKey names.
    static func target(of reader: ControlEntityReader) throws(ControlError) -> TargetName {
        let target = try namedTarget(of: reader)
        guard target.key == reader.entity.partitionKey else {
            throw reader.fail(
                .inconsistent, "target",
                "'\(target)' is not the target of partition '\(TargetName.printable(reader.entity.partitionKey))'")
        }
        return target
    }

    /// The row's `target` property, a name Azure accepts.
    static func namedTarget(of reader: ControlEntityReader) throws(ControlError) -> TargetName {
        let text = try reader.string("target")
        do {
            return try TargetName(text)
        } catch {
            throw reader.fail(.invalidTargetName, "target", error.detail)
        }
    }
}
