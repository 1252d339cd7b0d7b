/// A `seg-<20 digits>` row: a control message the worker's intake made durable before deleting it from
/// the queue, plus what became of it (docs/replication-contract.md, "Control table").
public struct SegmentRow: Hashable, Sendable {
    public var message: ControlMessage
    /// Why the segment was refused (digest, size, bounds, framing); a poisoned seq stops its target
    /// until the client resends it.
    public var poisonReason: String?
    public var etag: String?

    public init(message: ControlMessage, poisonReason: String? = nil, etag: String? = nil) {
        self.message = message
        self.poisonReason = poisonReason
        self.etag = etag
    }

    public var entity: TableEntity {
        let message = message
        var properties: [String: TableValue] = [
            "target": .string(message.target.description),
            "generation": .count(message.generation),
            "seq": .count(message.seq),
            "blob": .string(message.blob),
            "bytes": .count(UInt64(message.segmentBytes)),
            "digest": .string(message.segmentDigest.description),
            "plain": .count(message.plainBytes),
            "extents": .count(UInt64(message.extentCount)),
            "lo": .int64(Int64(bitPattern: message.span.offset)),
            "hi": .int64(Int64(bitPattern: message.span.end)),
        ]
        if let count = message.generationSegmentCount { properties["segments"] = .count(count) }
        if let poisonReason { properties["poisonReason"] = .string(poisonReason) }
        return TableEntity(
            partitionKey: message.target.key, rowKey: ControlNames.segmentRow(message.seq), properties: properties)
    }

    /// Reads a row back through the same checks as a queued message: the table is input too.
    public init(entity: TableEntity) throws(ControlError) {
        let reader = ControlEntityReader(entity)
        let target = try TargetRow.target(of: reader)
        let seq = try reader.uint64("seq", in: 1...ControlNames.maxSeq)
        guard entity.rowKey == ControlNames.segmentRow(seq) else {
            throw reader.fail(.inconsistent, "seq", "\(seq) is not the seq of the row key")
        }
        // The span's ends are stored as Int64 bit patterns, so that offsets above Int64.max survive.
        func unsigned(_ name: String) throws(ControlError) -> UInt64 {
            guard case .int64(let value) = reader.optionalValue(name) else {
                throw reader.fail(.wrongType, name, "expected an Edm.Int64")
            }
            return UInt64(bitPattern: value)
        }
        var members: [(String, JSONValue)] = [
            ("v", .number(String(ControlMessage.version))),
            ("target", .string(target.description)),
            ("gen", .number(String(try reader.uint64("generation")))),
            ("seq", .number(String(seq))),
            ("blob", .string(try reader.string("blob"))),
            ("bytes", .number(String(try reader.uint64("bytes")))),
            ("digest", .string(try reader.string("digest"))),
            ("plain", .number(String(try reader.uint64("plain")))),
            ("extents", .number(String(try reader.uint64("extents")))),
            ("lo", .number(String(try unsigned("lo")))),
            ("hi", .number(String(try unsigned("hi")))),
        ]
        if let count = try reader.optionalUInt64("segments") { members.append(("segments", .number(String(count)))) }
        do {
            message = try ControlMessage(parsing: JSONValue.object(members).serialized())
        } catch {
            throw ControlError(error.code, field: "row \(entity.rowKey) (\(error.field))", error.detail)
        }
        poisonReason = try reader.optionalString("poisonReason")
        etag = entity.etag
    }
}
