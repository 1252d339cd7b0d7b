/// The names the client and the worker agree on (docs/replication-contract.md, "Names"): default queue,
/// table and container, the control table's row keys and the temp blobs' names.
public enum ControlNames {
    public static let defaultQueue = "relay-control"
    public static let defaultTable = "relaycontrol"
    public static let defaultContainer = "relay-segments"

    /// Where a message that cannot be processed goes, with its reason (the Azure Functions convention).
    public static func poisonQueue(for queue: String) -> String { queue + "-poison" }

    // MARK: Control table row keys (PartitionKey: `TargetName.key`)

    public static let targetRow = "target"
    public static let cursorRow = "cursor"
    public static let generationRowPrefix = "gen-"
    public static let segmentRowPrefix = "seg-"
    /// Generations are numbered 1…`maxGeneration`, so that their row keys sort numerically.
    public static let maxGeneration: UInt64 = 9_999_999_999
    /// Seqs are stored as Int64 in the table (the EDM type): 1…Int64.max.
    public static let maxSeq = UInt64(Int64.max)

    /// `gen-` and the generation in 10 digits.
    public static func generationRow(_ generation: UInt64) -> String {
        precondition((1...maxGeneration).contains(generation), "generation \(generation) out of range")
        return generationRowPrefix + padded(generation, 10)
    }

    /// `seg-` and the seq in 20 digits.
    public static func segmentRow(_ seq: UInt64) -> String {
        precondition((1...maxSeq).contains(seq), "seq \(seq) out of range")
        return segmentRowPrefix + padded(seq, 20)
    }

    /// The generation of a `gen-` row key; nil for any other key.
    public static func generation(ofRow rowKey: String) -> UInt64? {
        number(rowKey, prefix: generationRowPrefix, digits: 10).flatMap { (1...maxGeneration).contains($0) ? $0 : nil }
    }

    /// The seq of a `seg-` row key; nil for any other key.
    public static func seq(ofRow rowKey: String) -> UInt64? {
        number(rowKey, prefix: segmentRowPrefix, digits: 20).flatMap { (1...maxSeq).contains($0) ? $0 : nil }
    }

    // MARK: Temp blobs (in the segments container)

    /// The temp blob of one segment: `<target key>/g<generation, 10 digits>/s<seq, 20 digits>-<digest>`.
    /// Names sort by target, generation and seq; the segment digest makes each sending attempt's blob
    /// its own, so a resent seq whose bytes differ never overwrites a blob a worker may be reading.
    public static func segmentBlob(target: TargetName, generation: UInt64, seq: UInt64, digest: XXH128) -> String {
        generationBlobPrefix(target: target, generation: generation) + "s" + padded(seq, 20) + "-" + digest.description
    }

    /// The prefix of every temp blob of `target` (to list them for cleanup).
    public static func segmentBlobPrefix(target: TargetName) -> String { target.key + "/g" }

    /// The prefix of the temp blobs of one generation of `target`.
    public static func generationBlobPrefix(target: TargetName, generation: UInt64) -> String {
        segmentBlobPrefix(target: target) + padded(generation, 10) + "/"
    }

    /// The block blob whose lease is the client lock of `target`: one sync at a time per target. Its
    /// metadata names the holder (`ClientLockHolder`).
    public static func clientLockBlob(target: TargetName) -> String { target.key + "/client-lock" }

    static func padded(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func number(_ text: String, prefix: String, digits: Int) -> UInt64? {
        guard text.hasPrefix(prefix) else { return nil }
        let body = text.utf8.dropFirst(prefix.utf8.count)
        guard body.count == digits, body.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return UInt64(String(decoding: body, as: UTF8.self))
    }
}
