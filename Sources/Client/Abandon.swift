import ArgumentParser
import Foundation
import RelayShared

extension RelayClientCommand {
    struct Abandon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a generation whose client is gone, so that the next sync can start.",
            discussion: """
                Waits for the workers to drain the control queue, ends the unfinished generation at the last \
                seq actually present, and marks the target for a full sync: the next sync sends every non-zero \
                block and clears every other range of the target.

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
