/// The oracle of replication: applies segments to a plain file one by one, in seq order, exactly as
/// the order invariant says the target must end up (docs/architecture.md, "Invariants and the tests
/// that prove them"; docs/replication-contract.md, "Reference applier").
/// Tests of the client and the worker compare the real target with its file.
///
/// The file holds the disk's data area only (`diskSize` bytes, no footer). Not for production: it
/// verifies and applies serially, with plain blocking I/O.
public final class ReferenceApplier {
    public let target: TargetName
    public let diskSize: UInt64
    public let file: SystemFile
    /// The seq of the last segment applied (0: none).
    public private(set) var appliedSeq: UInt64 = 0
    public private(set) var appliedGeneration: UInt64 = 0
    private let decompressor: FrameDecompressor

    /// Creates (or empties) the file at `path`: `diskSize` bytes of zeros, as a new page blob reads.
    public init(path: String, target: TargetName, diskSize: UInt64) throws {
        self.target = target
        self.diskSize = diskSize
        decompressor = try FrameDecompressor()
        file = try SystemFile.create(path)
        try file.truncate(to: diskSize)
    }

    /// Checks `segment` and applies it; it must be the next seq of this target, of the same or a later
    /// generation than the one before. Nothing is written unless every check and every frame passes.
    public func apply(_ segment: [UInt8]) throws {
        let reader = try SegmentReader(segment, diskSize: diskSize)
        let header = reader.header
        guard header.targetID == target.segmentTargetID else {
            throw ControlError(
                .outOfOrder, field: "segment.targetID", "the segment belongs to another target than \(target)")
        }
        guard header.seq == appliedSeq + 1 else {
            throw ControlError(
                .outOfOrder, field: "segment.seq",
                "seq \(header.seq) given after \(appliedSeq); expected \(appliedSeq + 1)")
        }
        guard header.generation >= appliedGeneration else {
            throw ControlError(
                .outOfOrder, field: "segment.generation",
                "generation \(header.generation) after generation \(appliedGeneration)")
        }
        var decoded: [[UInt8]] = []
        for (index, extent) in reader.extents.enumerated() {
            var plain = [UInt8](repeating: 0, count: extent.length)
            try plain.withUnsafeMutableBytes { try reader.decode(extentAt: index, using: decompressor, into: $0) }
            decoded.append(plain)
        }
        for (extent, plain) in zip(reader.extents, decoded) {
            try plain.withUnsafeBytes { try file.write($0, at: extent.offset) }
        }
        appliedSeq = header.seq
        appliedGeneration = header.generation
    }

    /// The file's bytes in `range`.
    public func read(_ range: ByteRange) throws -> [UInt8] {
        try file.readExactly(Int(range.length), at: range.offset)
    }
}
