import Foundation

/// A `gen-<10 digits>` row: one run of the client for a target, created by the client when it starts
/// the generation and completed by the worker when its last seq is applied
/// (docs/replication-contract.md, "Generations"). In JSON (`relay-client status --json`) its fields have
/// snake_case keys and the ETag is left out.
public struct GenerationRow: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable {
        /// The client is sending; `lastSeq` is not known yet.
        case sending
        /// Every segment is enqueued; `lastSeq` is set.
        case sent
        /// The worker applied through `lastSeq`; `snapshot` is the recovery point.
        case applied
        /// Closed by `abandon` at the last seq actually present; the next sync is full.
        case abandoned
    }

    public var target: TargetName
    public var generation: UInt64
    public var state: State
    public var firstSeq: UInt64
    /// Known once the generation is sent (or abandoned, or its last segment reached the worker).
    public var lastSeq: UInt64?
    /// A full sync (every non-zero block sent, every other target range cleared), not an incremental one.
    public var full: Bool
    /// The source's size or modification time moved while it was read: the generation is crash-consistent only.
    public var sourceChanged: Bool
    /// The client's host name, for `status` and for people finding a lost client.
    public var host: String
    public var startedAt: Date
    public var sentAt: Date?
    public var appliedAt: Date?
    /// Plain bytes of the write extents sent, and those bytes as stored (compressed) in the segments.
    public var plainBytes: UInt64
    public var storedBytes: UInt64
    /// The snapshot of the target taken when the generation was applied (the recovery point).
    public var snapshot: String?
    public var etag: String?

    enum CodingKeys: String, CodingKey {
        case target, generation, state, full, host, snapshot
        case firstSeq = "first_seq"
        case lastSeq = "last_seq"
        case sourceChanged = "source_changed"
        case startedAt = "started_at"
        case sentAt = "sent_at"
        case appliedAt = "applied_at"
        case plainBytes = "plain_bytes"
        case storedBytes = "stored_bytes"
    }

    public init(
        target: TargetName, generation: UInt64, state: State = .sending, firstSeq: UInt64, lastSeq: UInt64? = nil,
        full: Bool, sourceChanged: Bool = false, host: String, startedAt: Date, sentAt: Date? = nil,
        appliedAt: Date? = nil, plainBytes: UInt64 = 0, storedBytes: UInt64 = 0, snapshot: String? = nil,
        etag: String? = nil
    ) {
        self.target = target
        self.generation = generation
        self.state = state
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.full = full
        self.sourceChanged = sourceChanged
        self.host = host
        self.startedAt = startedAt
        self.sentAt = sentAt
        self.appliedAt = appliedAt
        self.plainBytes = plainBytes
        self.storedBytes = storedBytes
        self.snapshot = snapshot
        self.etag = etag
    }

    public var entity: TableEntity {
        var properties: [String: TableValue] = [
            "target": .string(target.description),
            "generation": .count(generation),
            "state": .string(state.rawValue),
            "firstSeq": .count(firstSeq),
            "full": .bool(full),
            "sourceChanged": .bool(sourceChanged),
            "host": .string(host),
            "startedAt": .dateTime(startedAt),
            "plainBytes": .count(plainBytes),
            "storedBytes": .count(storedBytes),
        ]
        if let lastSeq { properties["lastSeq"] = .count(lastSeq) }
        if let sentAt { properties["sentAt"] = .dateTime(sentAt) }
        if let appliedAt { properties["appliedAt"] = .dateTime(appliedAt) }
        if let snapshot { properties["snapshot"] = .string(snapshot) }
        return TableEntity(
            partitionKey: target.key, rowKey: ControlNames.generationRow(generation), properties: properties)
    }

    public init(entity: TableEntity) throws(ControlError) {
        let reader = ControlEntityReader(entity)
        target = try TargetRow.target(of: reader)
        generation = try reader.uint64("generation", in: 1...ControlNames.maxGeneration)
        guard entity.rowKey == ControlNames.generationRow(generation) else {
            throw reader.fail(.inconsistent, "generation", "\(generation) is not the generation of the row key")
        }
        let stateText = try reader.string("state")
        guard let state = State(rawValue: stateText) else {
            throw reader.fail(
                .outOfRange, "state", "'\(TargetName.printable(stateText))' is not sending, sent, applied or abandoned")
        }
        self.state = state
        firstSeq = try reader.uint64("firstSeq", in: 1...ControlNames.maxSeq)
        lastSeq = try reader.optionalUInt64("lastSeq", in: (firstSeq - 1)...ControlNames.maxSeq)
        guard state == .sending || lastSeq != nil else {
            throw reader.fail(.missingField, "lastSeq", "required once the generation is \(state.rawValue)")
        }
        full = try reader.bool("full")
        sourceChanged = try reader.bool("sourceChanged")
        host = try reader.optionalString("host") ?? ""
        startedAt = try reader.date("startedAt")
        sentAt = try reader.optionalDate("sentAt")
        appliedAt = try reader.optionalDate("appliedAt")
        plainBytes = try reader.uint64("plainBytes")
        storedBytes = try reader.uint64("storedBytes")
        snapshot = try reader.optionalString("snapshot")
        etag = entity.etag
    }

    /// How many segments the generation has, once its last seq is known. An abandoned generation may
    /// have none (`lastSeq == firstSeq - 1`).
    public var segmentCount: UInt64? { lastSeq.map { $0 + 1 - firstSeq } }
}
