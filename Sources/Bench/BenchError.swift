/// A benchmark failure: what went wrong, where, and what to do about it.
public struct BenchError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Hashable, Sendable {
        /// An option is out of range (a sample limit smaller than one frame).
        case invalidArgument
        /// The disk has no allocated bytes, so there is nothing to measure.
        case noData
        /// A frame did not decompress to the bytes it was compressed from.
        case roundTripMismatch
        /// A reference tool could not be run, failed, or printed output this parser does not know.
        case referenceToolFailed
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        let advice =
            switch code {
            case .invalidArgument: "see `relay-client bench codecs --help`"
            case .noData: "choose a disk that holds data"
            case .roundTripMismatch: "the codec layer is broken for this input: report it with the disk and codec"
            case .referenceToolFailed: "install the tool (scripts/bench does) or ignore the reference row"
            }
        return "\(detail) (\(advice))"
    }
}
