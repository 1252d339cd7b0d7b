import RelayShared

@testable import RelayDevStoreKit

/// `control-entity`: the bytes as an entity of the control table in JSON, decoded by the table codec
/// and read as each kind of row (target, generation, segment, cursor) and as target metadata.
enum FuzzControlEntity {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let entity = try? TableEntityJSON.entity(from: Array(bytes)) else { return }
        _ = try? TargetRow(entity: entity)
        _ = try? GenerationRow(entity: entity)
        _ = try? SegmentRow(entity: entity)
        _ = try? CursorRow(entity: entity)
        var metadata: [String: String] = [:]
        for (name, value) in entity.properties { if case .string(let text) = value { metadata[name] = text } }
        _ = try? TargetIdentity(metadata: metadata, blob: entity.rowKey)
        _ = try? TargetName(entity.partitionKey)
    }
}
