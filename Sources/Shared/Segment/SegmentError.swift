/// Why a segment was refused or could not be built: a code for programs and tests, the field and byte
/// offset within the segment, and what to do.
public struct SegmentError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Hashable, Sendable {
        // Reading: the segment is corrupt or forged.
        /// A structure extends past the end of the segment.
        case truncated
        case badMagic
        case unsupportedVersion
        case unknownFlags
        case reservedNotZero
        /// The declared segment size differs from the bytes received, or the frames do not end at the trailer.
        case sizeMismatch
        case segmentTooLarge
        case tooManyExtents
        case segmentDigestMismatch
        case unknownOperation
        case unknownCodec
        /// The header's plain byte count differs from the sum of the write extents.
        case plainBytesMismatch
        /// The frame failed to decode to exactly the extent's length.
        case frameCorrupt
        case plainDigestMismatch
        // Reading or writing: an extent breaks the format's rules.
        case misaligned
        case lengthOutOfRange
        case offsetOverflow
        case beyondDiskEnd
        /// The extent starts before the end of the previous one.
        case overlap
        case storedLengthInvalid
        // Writing, or a caller's buffer: programming errors.
        /// Another extent would take the segment past `maxExtents` or `maxSegmentSize`.
        case segmentFull
        case compressionFailed
        /// An extent index out of range or an output buffer whose size is not the extent's length.
        case invalidArgument
    }

    public let code: Code
    /// The structure and field, e.g. `extent[3].length`.
    public let field: String
    /// The field's byte offset within the segment for errors of `SegmentReader`; nil for `SegmentWriter`,
    /// whose errors concern the caller's arguments, not bytes of a segment.
    public let offset: Int?
    public let detail: String

    public init(_ code: Code, field: String, offset: Int?, _ detail: String) {
        self.code = code
        self.field = field
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        let at = offset.map { " at byte offset \($0)" } ?? ""
        let advice =
            switch code {
            case .segmentFull: "finish this segment and start another"
            case .compressionFailed, .invalidArgument: "this is a bug in the caller"
            default:
                offset == nil
                    ? "the extent is invalid; this is a bug in the caller"
                    : "the segment is corrupt or forged; do not apply it (poison its message)"
            }
        return "segment \(field)\(at): \(detail) (\(advice))"
    }
}
