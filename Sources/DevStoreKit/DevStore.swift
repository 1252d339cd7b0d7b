import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import RelayShared
import ServiceLifecycle
import Synchronization
import UnixSignals

/// relay-devstore: the Blob, Queue and Table REST endpoints of Azure Storage on three ports of
/// 127.0.0.1, path-style (`/ACCOUNT/…`), over one local store per account, with optional seeded faults.
public struct DevStore: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var blobPort = 10000
        public var queuePort = 10001
        public var tablePort = 10002
        /// The directory of the accounts' stores (`DIR/ACCOUNT`).
        public var dataDirectory: String
        /// Accounts besides the development account, with their decoded keys.
        public var extraAccounts: [(name: String, key: [UInt8])] = []
        /// Faults of the storage services (`--fault-503-rate` …), nil for none.
        public var faults: FaultConfiguration?
        /// Seeds the delivery delays (the fault plan carries its own copy).
        public var faultSeed: UInt64 = 1
        /// `--fault-delay-rate`: share of new messages delivered `deliveryDelaySeconds` late.
        public var deliveryDelayRate = 0.0
        public var deliveryDelaySeconds = 5
        public var gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]
        /// Timeouts and the connection limit of each port.
        public var connections = ConnectionLimits()
        /// How long a deleted container's name answers Create Container with `409 ContainerBeingDeleted`.
        public var deletedContainerHold = LocalBlobService.azureDeletedNameHold

        public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
    }

    /// The bound ports, known once all three endpoints listen.
    public struct Ports: Sendable, Hashable {
        public var blob: Int
        public var queue: Int
        public var table: Int

        /// The connection string of the development account for these ports.
        public var connectionString: String {
            ConnectionString.development(blobPort: blob, queuePort: queue, tablePort: table)
        }
    }

    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until a shutdown signal arrives, `stop` is called, or the task is cancelled. `onReady`
    /// runs once, when all three ports listen, with the ports and `stop`, which shuts the server down
    /// gracefully (in-flight requests finish) as SIGTERM does.
    public func run(onReady: @escaping @Sendable (Ports, _ stop: @escaping @Sendable () async -> Void) -> Void)
        async throws
    {
        let accounts = try await makeAccounts()
        let ready = ReadyPorts(onReady: onReady)
        let delay =
            configuration.deliveryDelayRate > 0
            ? DeliveryDelay(
                rate: configuration.deliveryDelayRate, seconds: configuration.deliveryDelaySeconds,
                seed: configuration.faultSeed)
            : nil
        let endpoints: [(any StorageEndpoint, Int)] = [
            (BlobEndpoint(), configuration.blobPort),
            (QueueEndpoint(delay: delay), configuration.queuePort),
            (TableEndpoint(), configuration.tablePort),
        ]
        var services: [any Service] = []
        for (endpoint, port) in endpoints {
            let kind = endpoint.kind
            let registry = ConnectionRegistry(limits: configuration.connections)
            var serviceLogger = logger
            serviceLogger[metadataKey: "service"] = "\(kind.rawValue)"
            let application = Application(
                responder: StorageResponder(endpoint: endpoint, accounts: accounts, logger: serviceLogger),
                server: .http1(
                    configuration: HTTP1Channel.Configuration(
                        additionalChannelHandlers: [
                            ConnectionGuardHandler(registry: registry), ExpectContinueHandler(),
                        ],
                        idleTimeout: configuration.connections.idleTimeout)),
                configuration: ApplicationConfiguration(
                    address: .hostname(configuration.host, port: port), serverName: nil),
                onServerRunning: { channel in
                    ready.bound(kind, port: channel.localAddress?.port ?? port)
                },
                logger: serviceLogger)
            services.append(application)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: configuration.gracefulShutdownSignals,
                logger: logger))
        ready.attach(group)
        try await group.run()
    }

    /// One store per account under the data directory; faults wrap every account's services.
    private func makeAccounts() async throws -> [String: Account] {
        let plan = configuration.faults.map(FaultPlan.init)
        var accounts: [String: Account] = [:]
        let development = (
            name: ConnectionString.developmentAccountName,
            key: [UInt8](Data(base64Encoded: ConnectionString.developmentAccountKey)!)
        )
        for (name, key) in [development] + configuration.extraAccounts {
            let store = try LocalStore(path: configuration.dataDirectory + "/" + name)
            let blob = try await LocalBlobService(store: store, deletedNameHold: configuration.deletedContainerHold)
            let queue = try await LocalQueueService(store: store)
            let table = try await LocalTableService(store: store)
            let local = Account.LocalServices(blob: blob, queue: queue, table: table)
            if let plan {
                accounts[name] = Account(
                    name: name, key: key, blob: FaultyBlobService(blob, plan: plan),
                    queue: FaultyQueueService(queue, plan: plan),
                    table: FaultyTableService(table, plan: plan), local: local)
            } else {
                accounts[name] = Account(name: name, key: key, blob: blob, queue: queue, table: table, local: local)
            }
        }
        return accounts
    }
}

/// Collects the three bound ports and reports them once, with a way to stop the group.
private final class ReadyPorts: Sendable {
    private struct State {
        var ports: [StorageKind: Int] = [:]
        var group: ServiceGroup?
    }

    private let state = Mutex(State())
    private let onReady: @Sendable (DevStore.Ports, @escaping @Sendable () async -> Void) -> Void

    init(onReady: @escaping @Sendable (DevStore.Ports, @escaping @Sendable () async -> Void) -> Void) {
        self.onReady = onReady
    }

    /// The group exists before any server runs, so `bound` always finds it.
    func attach(_ group: ServiceGroup) { state.withLock { $0.group = group } }

    func bound(_ kind: StorageKind, port: Int) {
        let complete = state.withLock { state -> (DevStore.Ports, ServiceGroup?)? in
            state.ports[kind] = port
            guard state.ports.count == 3, let blob = state.ports[.blob], let queue = state.ports[.queue],
                let table = state.ports[.table]
            else {
                return nil
            }
            return (DevStore.Ports(blob: blob, queue: queue, table: table), state.group)
        }
        if let (ports, group) = complete {
            onReady(ports) { await group?.triggerGracefulShutdown() }
        }
    }
}
