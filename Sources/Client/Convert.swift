import ArgumentParser
import Foundation
import RelayShared

extension RelayClientCommand {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the Azure-ready fixed VHD of any supported source disk.",
            discussion: """
                The output holds the virtual disk's bytes, zero padding to a whole MiB and a fixed VHD footer \
                (unique id kept from the source: a VHD's unique id, a VHDX's page 83 id). It is sparse where the source is unallocated or zero, and is \
                written to a new OUT.partial.RANDOM and renamed when complete. OUT may not be the source or \
                one of its parents.
                """)

        @Argument(help: "A raw image, or a fixed, dynamic or differencing VHD or VHDX.")
        var source: String

        @Argument(help: "The fixed VHD to write (replaced if it exists).")
        var output: String

        @Flag(help: "Print a JSON summary instead of text.")
        var json = false

        func run() throws {
            let summary = try ExitStatus.reportingBlocking {
                let meter = ProgressMeter(label: "convert")
                defer { meter.finish() }  // before an error's line, not on the progress line
                let disk = try DiskImage.open(source)
                // A raw image has no identity of its own: the target gets a fresh one.
                let footer = VHDFooter.fixedTarget(virtualSize: disk.virtualSize, uniqueID: disk.uniqueID ?? UUID())
                return try FixedVHDConverter().convert(disk, footer: footer, to: output) { progress in
                    meter.update(done: progress.scannedBytes, total: progress.totalBytes)
                }
            }
            if json {
                print(try JSONOutput.encode(summary))
            } else {
                print(
                    """
                    wrote \(summary.output): fixed VHD, \(ByteCount.describe(summary.targetSize)) of disk + 512-byte footer
                      source virtual size \(ByteCount.describe(summary.virtualSize)), \
                    \(ByteCount.describe(summary.scannedBytes)) allocated, \
                    \(ByteCount.describe(summary.writtenBytes)) non-zero written
                    """)
            }
        }
    }
}
