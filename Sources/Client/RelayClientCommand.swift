import ArgumentParser
import RelayShared

@main
struct RelayClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-client",
        abstract: "Replicates a virtual disk into an Azure page blob that stays a valid fixed VHD.",
        version: RelayVersion.current,
        subcommands: [Sync.self, Status.self, Verify.self, Abandon.self, Inspect.self, Convert.self, Bench.self]
    )
}
