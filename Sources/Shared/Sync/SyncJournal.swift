import Foundation

/// The journal of the generation being sent, one JSON object per line, appended in order
/// (docs/replication-contract.md, "Client state"):
///
/// - `begin`: the generation, its first seq, full or incremental, the block size and the source's size
///   and modification time when it started;
/// - `planned`: a segment is uploaded and its seq reserved; holds its control message and how far the
///   scan had got (`scanEnd`, in blocks). Written, with the next manifest, to stable storage before
///   the message is put on the queue;
/// - `enqueued`: the message is on the queue.
///
/// A killed client resumes from it: it puts again every planned message not known as enqueued (the same
/// message naming the same temp blob, so a duplicate is harmless) and scans on from the last `scanEnd`,
/// so no seq is skipped, reused or given other bytes. A torn last line (a kill while appending) is
/// ignored; any other damage makes the journal unusable.
public struct SyncJournal: Sendable {
    public struct Begin: Codable, Hashable, Sendable {
        public var generation: UInt64
        public var firstSeq: UInt64
        public var full: Bool
        public var blockSize: Int
        public var sourceSize: UInt64
        public var sourceModified: Int64
    }

    public struct Planned: Codable, Hashable, Sendable {
        public var seq: UInt64
        public var scanEnd: Int
        public var message: String
        public var last: Bool
    }

    struct Line: Codable {
        var begin: Begin?
        var planned: Planned?
        var enqueued: UInt64?
    }

    public var begin: Begin
    /// In seq order, contiguous from `begin.firstSeq`.
    public var planned: [Planned] = []
    public var enqueued: Set<UInt64> = []

    public init(begin: Begin) {
        self.begin = begin
    }

    /// The journal at `path`; nil when there is none. Throws `SyncError.badState` when it is damaged.
    public static func read(_ path: String) throws -> SyncJournal? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var journal: SyncJournal?
        let decoder = JSONDecoder()
        for (number, line) in lines.enumerated() where !line.isEmpty {
            guard let entry = try? decoder.decode(Line.self, from: Data(line)) else {
                // Only the last line may be torn: it was being appended when the client was killed.
                if number == lines.count - 1 { break }
                throw bad(path, "line \(number + 1) is not a journal record")
            }
            if let begin = entry.begin, journal == nil {
                journal = SyncJournal(begin: begin)
            } else if let planned = entry.planned, var current = journal {
                guard planned.seq == current.begin.firstSeq + UInt64(current.planned.count) else {
                    throw bad(path, "line \(number + 1) plans seq \(planned.seq) out of order")
                }
                current.planned.append(planned)
                journal = current
            } else if let seq = entry.enqueued, var current = journal {
                current.enqueued.insert(seq)
                journal = current
            } else {
                throw bad(path, "line \(number + 1) is out of place")
            }
        }
        return journal
    }

    /// The encoded line of a record, newline included.
    static func line(begin: Begin? = nil, planned: Planned? = nil, enqueued: UInt64? = nil) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and integers cannot fail.
        let data = try! encoder.encode(Line(begin: begin, planned: planned, enqueued: enqueued))
        return Array(data) + [UInt8(ascii: "\n")]
    }

    private static func bad(_ path: String, _ detail: String) -> SyncError {
        SyncError(
            .badState, "\(path): damaged journal (\(detail)); run `relay-client abandon` for the target and sync again")
    }
}

/// Appends journal lines to the file (blocking I/O: from a dedicated thread).
final class JournalWriter: @unchecked Sendable {
    // @unchecked Sendable: used by one thread at a time (the state pool has one thread).
    let file: SystemFile
    private var end: UInt64

    init(path: String, truncate: Bool) throws {
        file = truncate ? try SystemFile.create(path, mode: 0o600) : try SystemFile.openForUpdating(path, mode: 0o600)
        end = try file.size()
    }

    func append(_ line: [UInt8], sync: Bool) throws {
        try line.withUnsafeBytes { try file.write($0, at: end) }
        end += UInt64(line.count)
        if sync { try file.sync() }
    }
}
