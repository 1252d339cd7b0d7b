/// A size or a speed, as written on a command line (`ByteSize`, `LinkSpeed`), that does not parse: the
/// text, and why it was refused.
public struct UnitParseError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
