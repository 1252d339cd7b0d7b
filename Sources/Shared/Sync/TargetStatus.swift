import Foundation

/// What `relay-client status` shows of a target: generations sent and applied, the cursor, the lag,
/// abandoned generations, recovery points and poisoned segments, read from the control table.
public struct TargetStatus: Codable, Sendable {
    public struct Poisoned: Codable, Sendable, Hashable {
        public var seq: UInt64
        public var reason: String
    }

    public var target: String
    public var sourceID: String
    public var virtualSize: UInt64
    public var lastGeneration: UInt64
    /// The highest seq given to a segment (0: none).
    public var lastSeq: UInt64
    /// Every seq at or below it is applied to the target.
    public var appliedSeq: UInt64
    /// Segments sent but not applied yet.
    public var lagSegments: UInt64
    public var fullSyncRequired: Bool
    /// Segments the worker has taken in but not applied (rows in the control table).
    public var pendingSegments: Int
    /// Every `gen-` row, oldest first.
    public var generations: [GenerationRow]
    public var poisoned: [Poisoned]

    enum CodingKeys: String, CodingKey {
        case target, generations, poisoned
        case sourceID = "source_id"
        case virtualSize = "virtual_size"
        case lastGeneration = "last_generation"
        case lastSeq = "last_seq"
        case appliedSeq = "applied_seq"
        case lagSegments = "lag_segments"
        case fullSyncRequired = "full_sync_required"
        case pendingSegments = "pending_segments"
    }

    /// Reads the target's rows; throws `SyncError.nothingToDo` when the target was never synced.
    public static func load(_ control: TargetControl) async throws -> TargetStatus {
        guard let row = try await control.targetRow() else {
            throw SyncError(.nothingToDo, "\(control.target): no such target in table \(control.table) (never synced?)")
        }
        let cursor = try await control.cursorRow()
        let segments = try await control.segmentRows()
        let generations = try await control.generationRows()
        let appliedSeq = cursor?.appliedSeq ?? 0
        let lastSeq = row.nextSeq - 1
        return TargetStatus(
            target: control.target.description, sourceID: row.identity.sourceID.uuidString.lowercased(),
            virtualSize: row.identity.virtualSize, lastGeneration: row.lastGeneration, lastSeq: lastSeq,
            appliedSeq: appliedSeq,
            lagSegments: lastSeq > appliedSeq ? lastSeq - appliedSeq : 0, fullSyncRequired: row.fullSyncRequired,
            pendingSegments: segments.filter { $0.message.seq > appliedSeq }.count,
            generations: generations,
            poisoned: segments.compactMap { segment in
                segment.poisonReason.map { Poisoned(seq: segment.message.seq, reason: $0) }
            })
    }
}
