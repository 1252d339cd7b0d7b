/// A byte count as written on the command line: an integer with an optional binary suffix,
/// `K`/`KiB` = 2^10, `M`/`MiB` = 2^20, `G`/`GiB` = 2^30, `T`/`TiB` = 2^40 (case-insensitive), so
/// `4M` is 4 MiB, the same convention as `zstd -B4M` and `dd bs=4M`.
public struct ByteSize: Hashable, Sendable, Comparable, LosslessStringConvertible {
    public let bytes: Int

    public init(bytes: Int) {
        self.bytes = bytes
    }

    private static let units: [(suffixes: [String], shift: Int)] = [
        (["", "b"], 0), (["k", "kib"], 10), (["m", "mib"], 20), (["g", "gib"], 30), (["t", "tib"], 40),
    ]

    /// Parses `4096`, `512K`, `4M`, `1G`, `2GiB`; the error names the text and why it was refused.
    public static func parse(_ text: String) throws(UnitParseError) -> ByteSize {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let suffix = text.dropFirst(digits.count).lowercased()
        guard !digits.isEmpty, let count = Int(digits) else {
            throw UnitParseError("byte size '\(text)': expected a whole number with an optional K, M, G or T suffix")
        }
        guard let unit = units.first(where: { $0.suffixes.contains(suffix) }) else {
            throw UnitParseError("byte size '\(text)': unknown suffix '\(suffix)' (use K, M, G or T, binary units)")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: 1 << unit.shift)
        guard !overflow else {
            throw UnitParseError("byte size '\(text)' is too large")
        }
        return ByteSize(bytes: bytes)
    }

    public init?(_ description: String) {
        guard let parsed = try? Self.parse(description) else { return nil }
        self = parsed
    }

    /// The shortest exact form: `4M`, `1536K`, `1000`.
    public var description: String {
        guard bytes != 0 else { return "0" }
        for (suffixes, shift) in Self.units.reversed() where bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffixes[0].uppercased())"
        }
        return "\(bytes)"
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }
}
