/// A network link's speed as written on the command line: a number followed by `bit`, `Kbit`,
/// `Mbit`, `Gbit` or `Tbit` (decimal units as networks quote them, case-insensitive), e.g.
/// `100Mbit`, `1Gbit`, `2.5Gbit`.
public struct LinkSpeed: Hashable, Sendable, LosslessStringConvertible {
    /// The text as the user wrote it; it names the link in tables and in JSON's `link_seconds`.
    public let name: String
    public let bitsPerSecond: Double

    private static let prefixes: [(prefix: String, factor: Double)] = [
        ("", 1), ("k", 1e3), ("m", 1e6), ("g", 1e9), ("t", 1e12),
    ]

    public static func parse(_ text: String) throws(UnitParseError) -> LinkSpeed {
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        var unit = text.dropFirst(number.count).lowercased()
        guard unit.hasSuffix("bit") else {
            throw UnitParseError("link speed '\(text)': expected a number and a unit such as 100Mbit or 1Gbit")
        }
        unit.removeLast(3)
        guard let value = Double(number), value.isFinite, value > 0 else {
            throw UnitParseError("link speed '\(text)': the number must be positive, e.g. 100Mbit")
        }
        guard let factor = prefixes.first(where: { $0.prefix == unit })?.factor else {
            throw UnitParseError("link speed '\(text)': unknown unit prefix '\(unit)' (use K, M, G or T before 'bit')")
        }
        return LinkSpeed(name: text, bitsPerSecond: value * factor)
    }

    public init?(_ description: String) {
        guard let parsed = try? Self.parse(description) else { return nil }
        self = parsed
    }

    public init(name: String, bitsPerSecond: Double) {
        self.name = name
        self.bitsPerSecond = bitsPerSecond
    }

    public var description: String { name }
}
