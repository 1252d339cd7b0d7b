import ArgumentParser
import Foundation
import RelayShared

extension RelayClientCommand {
    struct Abandon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a generation that can never finish, so that the next sync can start.",
            discussion: """
                Takes the target's last generation in either of two cases: it is still being sent and its \
                client is gone (killed, or its machine lost), or it was sent in full but the worker refused \
                one of its seqs (poisoned: its temp blob was damaged or lost) and the source has changed \
                since. Sync resends a poisoned seq by itself while the source still holds the bytes it sent; \
                once the source changed it refuses, and this command is the way on.

                Waits for the workers to drain the control queue, ends the generation at the last seq \
                actually present (just before the first poisoned one), and marks the target for a full sync: \
                the next sync sends every non-zero block and clears every other range of the target.

                \(ExitStatus.help)
                """)

        @OptionGroup var store: StoreOptions

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            let report = try await ExitStatus.reporting {
                let holder = ClientLockHolder(
                    host: ProcessInfo.processInfo.hostName, processID: getpid(), startedAt: Date())
                return try await GenerationAbandoner(control: store.control()).abandon(holder: holder)
            }
            if json {
                print(try JSONOutput.encode(report))
            } else {
                print(
                    "\(report.target): generation \(report.generation) abandoned at seq \(report.lastSeq) "
                        + "(\(report.droppedSegments) later segments dropped); the next sync is full")
            }
        }
    }
}
