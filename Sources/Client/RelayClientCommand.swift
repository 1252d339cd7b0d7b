import ArgumentParser
import Foundation
import Logging
import RelayShared

@main
struct RelayClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-client",
        abstract: "Replicates a virtual disk into an Azure page blob that stays a valid fixed VHD.",
        discussion:
            "Log level of the storage layer (retries, fences): RELAY_LOG_LEVEL (trace … error; default warning).",
        version: RelayVersion.current,
        subcommands: [Sync.self, Status.self, Verify.self, Abandon.self, Inspect.self, Convert.self, Bench.self]
    )

    /// Bootstraps logging before any command runs: the libraries log through swift-log and never
    /// bootstrap it. Standard error at `warning` by default, so that the storage layer's retries (info)
    /// stay out of the client's one-line errors unless RELAY_LOG_LEVEL asks for them.
    static func main() async {
        let level =
            ProcessInfo.processInfo.environment["RELAY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
