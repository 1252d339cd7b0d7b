import ArgumentParser
import Foundation
import RelayShared

extension RelayClientCommand {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replicate a disk into a target page blob: generation 1, then only what changed.",
            discussion: """
                The first run creates the target (a fixed VHD page blob of the source's size rounded up to a \
                whole MiB, plus its footer) and sends generation 1; each later run sends the next generation with \
                the blocks that changed since the last one. A killed run resumes where it stopped when run again \
                with the same state directory. Without --wait, sync returns once everything is enqueued.

                \(ExitStatus.help)
                """)

        @Argument(help: "A raw image, or a fixed, dynamic or differencing VHD or VHDX.")
        var source: String

        @OptionGroup var store: StoreOptions

        @Option(help: "The client state (manifests, journals) (default: $XDG_STATE_HOME/vhd-relay).")
        var stateDir: String?

        @Option(help: "Frame codec: zstd:LEVEL, zlib:LEVEL, lz4 or none.")
        var codec = "zstd:1"

        @Option(help: "Change-detection block: a power of two from 4K to 4M.")
        var blockSize = "64K"

        @Option(help: "Compression threads (default: one per core).")
        var threads: Int?

        @Option(help: "Concurrent temp blob uploads.")
        var connections = 4

        @Option(help: "Upload cap, e.g. 100Mbit or 1Gbit.")
        var maxBandwidth: String?

        @Flag(help: "Send every non-zero block and clear the rest of the target, whatever the manifest says.")
        var full = false

        @Flag(help: "Return only when the worker has applied the generation; print its recovery point.")
        var wait = false

        @Option(help: "With --wait: give up after this many seconds (exit status 4).")
        var timeout: Double?

        @Flag(help: "Print a JSON summary instead of text.")
        var json = false

        func validate() throws {
            guard Codec(codec) != nil else {
                throw ValidationError("--codec '\(codec)': use zstd:LEVEL, zlib:LEVEL, lz4 or none")
            }
            guard ByteSize(blockSize) != nil else { throw ValidationError("--block-size '\(blockSize)': use e.g. 64K") }
            if let maxBandwidth, LinkSpeed(maxBandwidth) == nil {
                throw ValidationError("--max-bandwidth '\(maxBandwidth)': use e.g. 100Mbit or 1Gbit")
            }
            if timeout != nil, !wait { throw ValidationError("--timeout needs --wait") }
            if let timeout, !(timeout > 0) { throw ValidationError("--timeout: give a positive number of seconds") }
        }

        func run() async throws {
            var options = SyncOptions(
                blockSize: ByteSize(blockSize)!.bytes, codec: Codec(codec)!, connections: connections,
                maxBandwidth: maxBandwidth.flatMap(LinkSpeed.init).map { $0.bitsPerSecond / 8 }, full: full)
            if let threads { options.threads = threads }
            let summary = try await ExitStatus.reporting {
                let configuration = try store.configuration()
                let services = try await configuration.services()
                let request = SyncSession.Request(
                    source: source, target: store.targetName, options: options,
                    stateRoot: stateDir ?? ClientState.defaultRoot(),
                    storeFolder: ClientState.storeFolder(configuration))
                let session = SyncSession(services: services, request: request) { line in
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
                let display = SyncProgressDisplay(counters: session.counters)
                var summary: SyncSummary
                do {
                    summary = try await session.run()
                    display.stop()
                } catch {
                    display.stop()
                    throw error
                }
                if wait {
                    let row = try await session.control.waitUntilApplied(
                        summary.generation, timeout: timeout.map { .seconds($0) })
                    summary.applied = true
                    summary.snapshot = row.snapshot
                }
                return summary
            }
            if json {
                print(try JSONOutput.encode(summary))
            } else {
                print(Self.describe(summary))
            }
        }

        static func describe(_ summary: SyncSummary) -> String {
            let ratio = summary.plainBytes == 0 ? 1 : Double(summary.sentBytes) / Double(summary.plainBytes)
            if !summary.resentSeqs.isEmpty {
                var text = """
                    \(summary.target): resent poisoned seq \(summary.resentSeqs.map(String.init).joined(separator: ", ")) of \
                    generation \(summary.generation) (\(ByteCount.binary(summary.sentBytes)) sent); sync again for the next generation
                    """
                if summary.applied { text += "\n  applied; recovery point: \(summary.snapshot ?? "none recorded")" }
                return text
            }
            var text = """
                \(summary.target): generation \(summary.generation) \(summary.full ? "(full)" : "(incremental)") enqueued as \
                seqs \(summary.firstSeq)-\(summary.lastSeq) (\(summary.segments) segments)\(summary.resumed ? ", resumed" : "")
                  scanned \(ByteCount.binary(summary.scannedBytes)), changed \(ByteCount.binary(summary.changedBytes)), \
                cleared \(ByteCount.binary(summary.clearedBytes)), sent \(ByteCount.binary(summary.sentBytes)) \
                (\(String(format: "%.1f", ratio * 100))% of \(ByteCount.binary(summary.plainBytes))) in \
                \(String(format: "%.1f", summary.seconds)) s
                """
            if summary.applied {
                text += "\n  applied; recovery point: \(summary.snapshot ?? "none recorded")"
            }
            return text
        }
    }
}
