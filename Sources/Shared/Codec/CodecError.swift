/// A compression or decompression failure: which codec, what went wrong, and the library's own message.
public struct CodecError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Hashable, Sendable {
        /// The level is outside the codec's accepted range.
        case invalidLevel
        /// The library could not allocate or initialise its context (out of memory).
        case contextCreation
        /// The input is larger than the codec's frame format can describe.
        case inputTooLarge
        /// The output buffer is smaller than `FrameCompressor.maxCompressedSize`.
        case outputTooSmall
        /// The frame is not valid for the codec (corrupt, truncated, trailing bytes, unknown size).
        case malformedFrame
        /// The frame declares or produces a different number of bytes than the caller declared.
        case sizeMismatch
        /// The library failed in a way the checks above should have ruled out.
        case internalFailure
    }

    public let code: Code
    public let codec: Codec
    public let detail: String

    public init(_ code: Code, codec: Codec, _ detail: String) {
        self.code = code
        self.codec = codec
        self.detail = detail
    }

    public var description: String {
        let advice =
            switch code {
            case .invalidLevel: "choose a level in the documented range"
            case .contextCreation: "the process is out of memory"
            case .inputTooLarge, .outputTooSmall:
                "this is a caller bug: size buffers with maxCompressedSize and keep frames ≤ 4 MiB"
            case .malformedFrame, .sizeMismatch: "the frame is corrupt or forged; do not use its bytes"
            case .internalFailure: "report this as a bug"
            }
        return "\(codec.frameName) frame: \(detail) (\(advice))"
    }
}

extension Codec {
    /// The codec's name without the level, for messages about frames (whose level is unknown).
    var frameName: String {
        switch self {
        case .none: "raw"
        case .zlib: "deflate"
        case .zstd: "zstd"
        case .lz4: "lz4"
        }
    }
}
