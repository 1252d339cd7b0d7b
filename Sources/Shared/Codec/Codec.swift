import CZstd

/// A frame compression method and its level, as written on the command line (`zstd:3`, `zlib:6`, `lz4`, `none`).
///
/// Frames carry no header of their own that names the codec: the segment's extent table does (by
/// `wireID`, without the level, which decompression does not need).
public enum Codec: Hashable, Sendable, LosslessStringConvertible {
    /// Bytes stored as they are.
    case none
    /// Raw deflate (RFC 1951, no zlib header or Adler-32): the segment already carries an XXH3 digest
    /// of the plain bytes, so the wrapper's 6 bytes and its checksum pass would buy nothing. Levels 1...9.
    case zlib(level: Int32)
    /// A zstd frame that declares its content size. Levels 1...19 and the negative fast levels down to
    /// `ZSTD_minCLevel()`; 0 (zstd's "default") and the 20...22 ultra levels are refused.
    case zstd(level: Int32)
    /// An LZ4 block (not the LZ4 frame format): the segment stores its length and plain size.
    case lz4

    public static let defaultZlibLevel: Int32 = 6
    public static let defaultZstdLevel: Int32 = 3
    public static let zlibLevels: ClosedRange<Int32> = 1...9
    /// The zstd levels accepted, except 0 (which zstd reads as "default", ambiguous on the wire of a CLI).
    public static var zstdLevels: ClosedRange<Int32> { ZSTD_minCLevel()...19 }

    /// Parses `none`, `lz4`, `zlib`, `zlib:LEVEL`, `zstd`, `zstd:LEVEL`; nil for anything else,
    /// including a level outside the codec's range.
    public init?(_ description: String) {
        let parts = description.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts[0]
        let level: Int32?
        if parts.count == 2 {
            guard let parsed = Int32(parts[1]) else { return nil }
            level = parsed
        } else {
            level = nil
        }
        switch name {
        case "none" where level == nil: self = .none
        case "lz4" where level == nil: self = .lz4
        case "zlib": self = .zlib(level: level ?? Self.defaultZlibLevel)
        case "zstd": self = .zstd(level: level ?? Self.defaultZstdLevel)
        default: return nil
        }
        guard isLevelValid else { return nil }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zlib(let level): "zlib:\(level)"
        case .zstd(let level): "zstd:\(level)"
        }
    }

    /// Whether the level is one this program accepts (see the cases).
    public var isLevelValid: Bool {
        switch self {
        case .none, .lz4: true
        case .zlib(let level): Self.zlibLevels.contains(level)
        case .zstd(let level): level != 0 && Self.zstdLevels.contains(level)
        }
    }

    /// The codec's number in a segment's extent table.
    public var wireID: UInt8 {
        switch self {
        case .none: 0
        case .zlib: 1
        case .zstd: 2
        case .lz4: 3
        }
    }

    /// The codec for a segment's codec number, with the default level (decompression ignores levels).
    public init?(wireID: UInt8) {
        switch wireID {
        case 0: self = .none
        case 1: self = .zlib(level: Self.defaultZlibLevel)
        case 2: self = .zstd(level: Self.defaultZstdLevel)
        case 3: self = .lz4
        default: return nil
        }
    }
}
