import ArgumentParser
import Foundation
import RelayShared

extension RelayClientCommand {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a source disk: format, sizes, allocated extents, parent chain.",
            discussion:
                "Reads metadata only (footers, headers, region tables, metadata, BAT, sector bitmaps), never the data.")

        @Argument(help: "A raw image, or a fixed, dynamic or differencing VHD or VHDX.")
        var disk: String

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            let info = try ExitStatus.reportingBlocking { try DiskInfo(disk: DiskImage.open(disk)) }
            if json {
                print(try JSONOutput.encode(info))
            } else {
                print(info.text)
            }
        }
    }
}

extension DiskInfo {
    /// The human-readable form of `inspect`.
    fileprivate var text: String {
        var lines = [path]
        func row(_ name: String, _ value: String) {
            lines.append("  " + name.padding(toLength: 14, withPad: " ", startingAt: 0) + value)
        }
        row("format", format.rawValue)
        row("virtual size", ByteCount.describe(virtualSize))
        row("target size", ByteCount.describe(targetSize) + " + 512-byte fixed footer")
        if let blockSize { row("block size", ByteCount.describe(UInt64(blockSize))) }
        row(
            "sector size",
            "\(logicalSectorSize) logical, \(physicalSectorSize) physical"
                + (logicalSectorSize == 512
                    ? "" : " (the guest sees \(logicalSectorSize)-byte sectors; the target has 512)"))
        row("allocated", "\(allocatedExtents.count) extents, " + ByteCount.describe(allocatedExtents.bytes))
        row("unique id", uniqueID ?? "none (raw image)")
        if parentChain.isEmpty {
            row("parent chain", "none")
        } else {
            for (depth, parent) in parentChain.enumerated() {
                row(
                    depth == 0 ? "parent chain" : "",
                    "\(parent.path) (\(parent.format.rawValue), \(parent.uniqueID ?? "-"))")
            }
        }
        for warning in warnings { lines.append("  warning: " + warning) }
        return lines.joined(separator: "\n")
    }
}
