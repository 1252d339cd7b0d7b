import ArgumentParser
import Foundation
import RelayShared

/// The second (and third) process of the local store's multi-process tests, and the storage benchmarks.
/// Every mode writes one line per acknowledged result to stdout, unbuffered, so that a test that
/// kills the probe knows exactly what the store acknowledged.
@main
struct StoreProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-store-probe",
        abstract: "Exercises a local store (file:PATH) from a separate process, for tests and benchmarks.",
        subcommands: [
            Drain.self, Race.self, Write.self, WritePages.self, Bench.self, BenchPages.self, BenchHTTP.self,
            BenchChecksums.self,
        ]
    )
}

/// What every mode takes: the store, a common start time, and a deadline after which it gives up.
struct ProbeOptions: ParsableArguments {
    @Option(help: "The local store directory.")
    var store: String

    @Option(help: "Wall-clock start (milliseconds since 1970), so that several probes start together.")
    var startAt: Int64?

    @Option(help: "Give up (exit 3) after this many seconds.")
    var deadline: Double = 120

    /// Opens the store, then waits for the common start.
    func open() async throws -> (store: LocalStore, deadline: ContinuousClock.Instant) {
        let store = try LocalStore(path: store)
        if let startAt {
            let wait = Double(startAt) / 1000 - Date().timeIntervalSince1970
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
        }
        return (store, ContinuousClock.now + .seconds(deadline))
    }
}

extension ContinuousClock.Instant {
    /// Ends the probe with exit code 3 once the deadline has passed, so that no probe runs forever.
    func check() throws {
        if ContinuousClock.now >= self { throw ExitCode(3) }
    }
}

/// Writes one line straight to stdout with one `write` call: once it returns, a test that kills this
/// process still reads the line, so a printed result is an acknowledged one.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
