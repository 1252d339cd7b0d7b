import ArgumentParser
import Foundation
import RelayShared

extension RelayClientCommand {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a target's generations, cursor, lag, abandoned generations and recovery points.",
            discussion: ExitStatus.help)

        @OptionGroup var store: StoreOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            let status = try await ExitStatus.reporting {
                try await TargetStatus.load(store.control())
            }
            if json {
                print(try JSONOutput.encode(status))
                return
            }
            let time = ISO8601DateFormatter()
            print(
                """
                \(status.target): source \(status.sourceID), \(ByteCount.describe(status.virtualSize))
                  seqs sent 1-\(status.lastSeq), applied through \(status.appliedSeq), lag \(status.lagSegments) segments \
                (\(status.pendingSegments) taken in by the worker)\(status.fullSyncRequired ? "; next sync is full" : "")
                """)
            for generation in status.generations {
                let seqs = generation.lastSeq.map { "\(generation.firstSeq)-\($0)" } ?? "\(generation.firstSeq)-"
                var line =
                    "  generation \(generation.generation): \(generation.state.rawValue), seqs \(seqs), "
                    + "\(generation.full ? "full" : "incremental"), from \(generation.host) at \(time.string(from: generation.startedAt)), "
                    + "\(ByteCount.describe(generation.plainBytes)) as \(ByteCount.describe(generation.storedBytes))"
                if generation.sourceChanged { line += ", source changed while read (crash-consistent)" }
                if let snapshot = generation.snapshot { line += ", recovery point \(snapshot)" }
                print(line)
            }
            for poisoned in status.poisoned {
                print("  seq \(poisoned.seq) poisoned: \(poisoned.reason)")
            }
        }
    }
}
