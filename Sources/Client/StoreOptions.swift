import ArgumentParser
import RelayShared

/// The store and target options every replication command takes.
struct StoreOptions: ParsableArguments {
    @Option(help: "The target page blob, CONTAINER/BLOB.")
    var target: String

    @Option(help: "The local store, file:PATH (default: file:./relay-store, unless a connection string is given).")
    var store: String?

    @Option(
        help: ArgumentHelp(
            "An Azure Storage connection string (prefer the \(StorageConfiguration.environmentVariable) "
                + "environment variable: arguments show in process listings).", valueName: "CS"))
    var connectionString: String?

    func validate() throws {
        guard store == nil || connectionString == nil else {
            throw ValidationError("give --store or --connection-string, not both")
        }
        do { _ = try TargetName(target) } catch { throw ValidationError("--target: \(error.detail)") }
    }

    var targetName: TargetName { try! TargetName(target) }

    func configuration() throws -> StorageConfiguration {
        try StorageConfiguration.resolve(connectionString: connectionString, store: store)
    }

    /// The target's control data and page blob in the chosen store, with the default queue, table and
    /// segments container.
    func control() async throws -> TargetControl {
        TargetControl(services: try await configuration().services(), target: targetName)
    }
}
