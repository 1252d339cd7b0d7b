import ArgumentParser
import Foundation
import RelayShared

extension RelayClientCommand {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare a target with its source; print each differing range.",
            discussion: """
                Reads only the target's page ranges and the source's allocated extents. Run it when the \
                worker has applied the last generation and the source is quiesced.

                \(ExitStatus.help)
                """)

        @Argument(help: "A raw image, or a fixed, dynamic or differencing VHD or VHDX.")
        var source: String

        @OptionGroup var store: StoreOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            let report = try await ExitStatus.reporting {
                try await TargetVerifier(control: store.control()).verify(source: source)
            }
            if json {
                print(try JSONOutput.encode(report))
            } else {
                for difference in report.differences {
                    print("differs: [\(difference.offset), \(difference.offset + difference.length))")
                }
                print(
                    report.equal
                        ? "\(report.target) equals \(report.source) (\(ByteCount.describe(report.comparedBytes)) compared)"
                        : "\(report.target) differs from \(report.source) in \(ByteCount.describe(report.differentBytes))"
                )
            }
            if !report.equal { throw ExitCode(ExitStatus.different) }
        }
    }
}
