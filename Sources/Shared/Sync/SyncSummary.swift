/// What one `relay-client sync` did, for people and for `--json`.
public struct SyncSummary: Codable, Sendable, Hashable {
    public var target: String
    public var generation: UInt64
    public var firstSeq: UInt64
    public var lastSeq: UInt64
    public var segments: UInt64
    /// A full sync (every non-zero block sent, other target ranges cleared), and why.
    public var full: Bool
    public var fullReason: String?
    /// This run resumed a generation a killed or failed run had started.
    public var resumed: Bool
    /// The source's size or modification time moved while it was read: the result is crash-consistent only.
    public var sourceChanged: Bool
    public var scannedBytes: UInt64
    public var changedBytes: UInt64
    public var clearedBytes: UInt64
    /// Plain bytes of the generation's writes, and its segments' bytes as uploaded (compressed).
    public var plainBytes: UInt64
    public var sentBytes: UInt64
    public var seconds: Double
    /// From the first segment ready to upload to the last upload's end: the span `--max-bandwidth` paces.
    public var uploadSeconds: Double
    /// With `--wait`: the recovery point the worker took when it applied the generation.
    public var snapshot: String?
    public var applied: Bool
    /// Poisoned seqs of the generation sent again (`relay-client sync` repairing a stopped target).
    public var resentSeqs: [UInt64] = []

    enum CodingKeys: String, CodingKey {
        case target, generation, segments, full, resumed, seconds, snapshot, applied
        case firstSeq = "first_seq"
        case lastSeq = "last_seq"
        case fullReason = "full_reason"
        case sourceChanged = "source_changed"
        case scannedBytes = "scanned_bytes"
        case changedBytes = "changed_bytes"
        case clearedBytes = "cleared_bytes"
        case plainBytes = "plain_bytes"
        case sentBytes = "sent_bytes"
        case uploadSeconds = "upload_seconds"
        case resentSeqs = "resent_seqs"
    }
}
