import Foundation
import RelayShared

extension CodecBenchReport {
    /// The report as aligned text: a header about the input, one row per codec and per reference
    /// tool, then what the references measure, the checks and the notes.
    public func table() -> String {
        let links = results.first.map { $0.linkSeconds.keys.sorted { linkOrder($0, $1) } } ?? []
        var rows: [[String]] = [
            [
                "codec", "ratio", "comp MB/s 1c", "dec MB/s 1c", "comp MB/s \(input.threads)t",
                "dec MB/s \(input.threads)t",
            ]
                + links.map { "\($0) s" }
        ]
        for result in results {
            rows.append(
                [
                    result.codec, format(result.ratio, 3), format(result.compressMBps1Core, 1),
                    format(result.decompressMBps1Core, 1),
                    format(result.compressMBpsAll, 1), format(result.decompressMBpsAll, 1),
                ] + links.map { format(result.linkSeconds[$0] ?? 0, 1) })
        }
        for tool in reference {
            rows.append(
                [
                    "[\(tool.tool)]", format(tool.ratio, 3), format(tool.compressMBps1Core, 1),
                    format(tool.decompressMBps1Core, 1), "-", "-",
                ] + links.map { _ in "-" })
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = [
            "\(input.path): \(input.format), virtual \(input.virtualSize) bytes, allocated \(input.allocatedBytes) bytes",
            "sample: \(input.sampledBytes) bytes (\(input.sampling)), \(input.frames) frames of \(input.frameSize) bytes, \(input.threads) threads on \(input.cores) cores",
            "timing: \(input.timing); load average \(input.loadAverageBefore.map { format($0, 2) }.joined(separator: " ")) before, \(input.loadAverageAfter.map { format($0, 2) }.joined(separator: " ")) after",
            "MB = 10^6 bytes of plain data; link time = max(plain / all-core compression, compressed / link)",
            "",
        ]
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                column == 0
                    ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(cells.joined(separator: "  "))
        }
        if !reference.isEmpty { lines.append("") }
        for tool in reference {
            lines.append("[\(tool.tool)] \(tool.measures)")
        }
        lines.append("")
        if let compress = check.compressVsTool, let decompress = check.decompressVsTool, let met = check.toolTargetMet {
            lines.append(
                "check: zstd:1 one-core vs zstd -b1: compress \(format(compress * 100, 1))%, decompress \(format(decompress * 100, 1))% (target ≥ \(Int(Self.toolTarget * 100))%): \(met ? "met" : "NOT met")"
            )
        }
        if let compress = check.compressScaling, let decompress = check.decompressScaling,
            let target = check.scalingTarget, let met = check.scalingTargetMet
        {
            lines.append(
                "check: zstd:1 all-core / one-core: compress \(format(compress, 2))×, decompress \(format(decompress, 2))× (target ≥ \(format(target, 2))×): \(met ? "met" : "NOT met")"
            )
        }
        lines.append("peak RSS: \(peakRSSBytes) bytes")
        lines += notes.map { "note: \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    private func format(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// Links from slowest to fastest, as the user most likely listed them.
    private func linkOrder(_ lhs: String, _ rhs: String) -> Bool {
        let left = LinkSpeed(lhs)?.bitsPerSecond ?? 0
        let right = LinkSpeed(rhs)?.bitsPerSecond ?? 0
        return left == right ? lhs < rhs : left < right
    }
}
