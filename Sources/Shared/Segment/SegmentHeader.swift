/// The segment's identity, which the worker cross-checks against the control message that names it.
public struct SegmentHeader: Hashable, Sendable {
    public var targetID: UInt64
    public var generation: UInt64
    public var seq: UInt64
    public var flags: SegmentFlags
    /// 0 on a seq's first send; which resend of the seq this is otherwise (`SegmentFormat`, offset 56).
    public var resend: UInt64

    public init(targetID: UInt64, generation: UInt64, seq: UInt64, flags: SegmentFlags = [], resend: UInt64 = 0) {
        self.targetID = targetID
        self.generation = generation
        self.seq = seq
        self.flags = flags
        self.resend = resend
    }

    /// The target id written in segments for the target `container/blob`: XXH3-64 of the name's UTF-8.
    public static func targetID(for name: String) -> UInt64 {
        var name = name
        return name.withUTF8 { Digest.xxh3_64(UnsafeRawBufferPointer($0)) }
    }
}

public struct SegmentFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The segment is the last of its generation: applying it completes a recovery point.
    public static let lastOfGeneration = SegmentFlags(rawValue: 1 << 0)
    /// Every flag this format version defines; a segment with any other bit set is refused.
    public static let known: SegmentFlags = [.lastOfGeneration]
}

public enum ExtentOperation: UInt8, Hashable, Sendable {
    /// The extent's bytes follow in a frame.
    case write = 1
    /// The extent became zero; it has no frame.
    case clear = 2
}

/// One entry of a segment's extent table, as read and checked by `SegmentReader`.
public struct SegmentExtent: Hashable, Sendable {
    public var offset: UInt64
    public var length: Int
    public var operation: ExtentOperation
    /// The frame's codec, with the default level (the table does not record levels; decoding needs none).
    public var codec: Codec
    /// Bytes of the frame in the segment; 0 for clear.
    public var storedLength: Int
    /// Where the frame starts in the segment.
    public var frameOffset: Int
    /// XXH3-128 of the plain bytes; zero for clear.
    public var digest: XXH128

    public var range: ByteRange { ByteRange(offset: offset, length: UInt64(length)) }
}
