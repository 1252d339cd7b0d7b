import RelayShared

/// One result line of the `zstd -b` benchmark, e.g. with `-q`
/// `-1     75894061 (1.682) 537.19 MB/s 2483.3 MB/s  sample` or, without it,
/// ` 1#sample : 127662080 ->  75894061 (x1.682),  634.6 MB/s, 2790.1 MB/s`.
/// zstd's MB is 10^6 bytes, and its rates are of plain bytes, as ours are.
public struct ZstdBenchOutput: Sendable, Equatable {
    public let compressedBytes: Int
    public let ratio: Double
    public let compressMBps: Double
    public let decompressMBps: Double

    /// Parses the last complete result line of `text` (progress lines end in `\r` and lack the
    /// decompression rate, so they are skipped).
    public static func parse(_ text: String) throws(BenchError) -> ZstdBenchOutput {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
        for line in lines.reversed() {
            if let result = parseLine(line) { return result }
        }
        throw BenchError(
            .referenceToolFailed,
            "zstd -b printed no result line with a ratio and two MB/s rates; its output was: \(text.suffix(300))")
    }

    private static func parseLine(_ line: Substring) -> ZstdBenchOutput? {
        let tokens = line.split(separator: " ").map { $0.trimming(",") }
        let rateUnits = tokens.indices.filter { tokens[$0] == "MB/s" }
        guard rateUnits.count == 2, rateUnits[0] > 0,
            let ratioIndex = tokens.firstIndex(where: { $0.hasPrefix("(") && $0.hasSuffix(")") }), ratioIndex > 0,
            let compressed = Int(tokens[ratioIndex - 1]),
            let ratio = Double(tokens[ratioIndex].dropFirst().dropLast().trimming("x")),
            let compress = Double(tokens[rateUnits[0] - 1]),
            let decompress = Double(tokens[rateUnits[1] - 1])
        else { return nil }
        return ZstdBenchOutput(
            compressedBytes: compressed, ratio: ratio, compressMBps: compress, decompressMBps: decompress)
    }
}

extension StringProtocol {
    /// The text without leading and trailing `character`s.
    fileprivate func trimming(_ character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
