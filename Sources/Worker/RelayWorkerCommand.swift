import ArgumentParser
import RelayShared

@main
struct RelayWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-worker",
        abstract: "Applies queued segments to target page blobs, exactly in sequence order.",
        discussion: """
            The worker service (intake, claim, ordered apply, recovery points) is not built yet; \
            this release prints its version and usage only.
            """,
        version: RelayVersion.current
    )

    func run() throws {
        print(Self.helpMessage())
    }
}
