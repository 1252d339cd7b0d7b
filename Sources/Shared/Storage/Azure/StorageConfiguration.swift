import Foundation

/// Where the storage services live, chosen the Azure way (docs/storage.md, "Choosing the store"):
/// `--connection-string`, else an explicit `--store file:PATH`, else `AZURE_STORAGE_CONNECTION_STRING`,
/// else the local store `file:./relay-store`.
public enum StorageConfiguration: Sendable, Hashable, CustomStringConvertible {
    case azure(ConnectionString)
    case local(path: String)

    public static let environmentVariable = "AZURE_STORAGE_CONNECTION_STRING"
    public static let defaultStore = "file:./relay-store"

    public static func resolve(
        connectionString: String?, store: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> StorageConfiguration {
        if let connectionString { return .azure(try ConnectionString(connectionString)) }
        if let store { return try local(store) }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return .azure(try ConnectionString(fromEnvironment))
        }
        return try local(defaultStore)
    }

    private static func local(_ store: String) throws -> StorageConfiguration {
        guard store.hasPrefix("file:"), store.count > "file:".count else {
            throw ConnectionStringError(
                "the store '\(store)' is not a file: URL; give --store file:PATH or a connection string")
        }
        return .local(path: String(store.dropFirst("file:".count)))
    }

    public var description: String {
        switch self {
        case .azure(let connectionString): "Azure (\(connectionString))"
        case .local(let path): "local store at \(path)"
        }
    }

    /// The three services of this configuration; the Azure ones share one transport (one curl thread and
    /// its connection cache), retry transient failures themselves and tell `observer` about every attempt.
    public func services(
        transport: @autoclosure () throws -> any HTTPTransport = try CurlTransport(),
        observer: StorageAttemptObserver? = nil
    ) async throws -> StorageServices {
        switch self {
        case .azure(let connectionString):
            let transport = try transport()
            return StorageServices(
                blob: try AzureBlobService(
                    connectionString: connectionString, transport: transport, observer: observer),
                queue: try AzureQueueService(
                    connectionString: connectionString, transport: transport, observer: observer),
                table: try AzureTableService(
                    connectionString: connectionString, transport: transport, observer: observer),
                isRemote: true)
        case .local(let path):
            let store = try LocalStore(path: path)
            return StorageServices(
                blob: try await LocalBlobService(store: store), queue: try await LocalQueueService(store: store),
                table: try await LocalTableService(store: store))
        }
    }
}

public struct StorageServices: Sendable {
    public let blob: any BlobService
    public let queue: any QueueService
    public let table: any TableService
    /// Whether the services are reached over the network (Azure, relay-devstore). Such services retry
    /// transient failures themselves (by `RetryDecision`), so a caller must not retry on top, and their
    /// page writes want a transactional checksum against corruption in transit. The local store has no
    /// transit and no transient failures of its own but a lock held by another process past the busy
    /// timeout; the fault wrappers add some without retrying.
    public let isRemote: Bool

    public init(blob: any BlobService, queue: any QueueService, table: any TableService, isRemote: Bool = false) {
        self.blob = blob
        self.queue = queue
        self.table = table
        self.isRemote = isRemote
    }
}
