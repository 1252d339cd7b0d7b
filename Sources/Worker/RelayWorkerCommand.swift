import ArgumentParser
import RelayShared

@main
struct RelayWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-worker",
        abstract: "Applies queued segments to target page blobs, exactly in sequence order.",
        version: RelayVersion.current,
        subcommands: [Run.self]
    )
}
