import ArgumentParser
import Foundation
import Logging
import RelayShared
import RelayWorkerKit
import ServiceLifecycle

extension RelayWorkerCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Runs one worker instance until SIGTERM or SIGINT (or, with --drain, until the work is done).",
            discussion: """
                Storage: --store file:PATH (the local store), or a connection string from the environment \
                (AZURE_STORAGE_CONNECTION_STRING) or from a file (--connection-string @FILE). A connection \
                string holding a key or SAS is refused on the command line, where process listings show it. \
                Log level: RELAY_LOG_LEVEL (trace, debug, info, notice, warning, error; default info).
                """)

        @Option(help: "The local store, file:PATH.")
        var store: String?

        @Option(
            name: .customLong("connection-string"),
            help: "@FILE to read the connection string from, or UseDevelopmentStorage=true.")
        var connectionString: String?

        @Option(help: "The control queue.")
        var queue = ControlNames.defaultQueue

        @Option(help: "The control table.")
        var table = ControlNames.defaultTable

        @Option(help: "The container of the temp blobs (segments).")
        var container = ControlNames.defaultContainer

        @Option(
            parsing: .upToNextOption, help: "Apply only targets (container/blob) starting with one of these prefixes.")
        var targets: [String] = []

        @Option(name: .customLong("metrics-port"), help: "Port of /healthz and /metrics (0: any free port).")
        var metricsPort = 9464

        @Option(help: "Downloads and Put Page calls in flight.")
        var concurrency = 8

        @Option(name: .customLong("memory-budget"), help: "Bytes of segments held at once (K, M, G suffixes).")
        var memoryBudget = "512M"

        @Option(name: .customLong("keep-snapshots"), help: "Recovery points kept per target.")
        var keepSnapshots = 7

        @Flag(
            help:
                "Exit when the queue is empty and every known target is caught up (status 1 if some wait for a poisoned segment)."
        )
        var drain = false

        func validate() throws {
            guard store == nil || connectionString == nil else {
                throw ValidationError("give --store or --connection-string, not both")
            }
            guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1...256") }
            guard keepSnapshots >= 1 else { throw ValidationError("--keep-snapshots must be at least 1") }
            guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0...65535") }
            guard let budget = ByteSize(memoryBudget), budget.bytes >= WorkerConfiguration.minimumMemoryBudget else {
                throw ValidationError(
                    "--memory-budget '\(memoryBudget)' must be a size of at least \(WorkerConfiguration.minimumMemoryBudget >> 20)M (e.g. 512M, 2G): the largest segment and its plain bytes"
                )
            }
            for prefix in targets where prefix.isEmpty { throw ValidationError("--targets prefixes must not be empty") }
        }

        func run() async throws {
            let level =
                ProcessInfo.processInfo.environment["RELAY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            MetricsServer.bootstrap()
            let logger = Logger(label: "relay-worker")

            let storage = try StorageConfiguration.resolve(
                connectionString: try resolvedConnectionString(), store: store)
            let services = try await Worker.services(storage)
            var configuration = WorkerConfiguration()
            configuration.queue = queue
            configuration.table = table
            configuration.container = container
            configuration.targetPrefixes = targets
            configuration.concurrency = concurrency
            configuration.memoryBudget = ByteSize(memoryBudget)!.bytes
            configuration.keepSnapshots = keepSnapshots
            configuration.drain = drain
            // For scripts/bench-worker: 1 applies strictly one segment after another.
            if let window = ProcessInfo.processInfo.environment["RELAY_WORKER_APPLY_WINDOW"].flatMap(Int.init),
                (1...1024).contains(window)
            {
                configuration.applyWindow = window
            }
            if let lease = ProcessInfo.processInfo.environment["RELAY_WORKER_LEASE_SECONDS"].flatMap(Int.init),
                (15...60).contains(lease)
            {
                configuration.leaseSeconds = lease
            }
            logger.info(
                "relay-worker starting",
                metadata: [
                    "storage": "\(storage)", "queue": "\(queue)", "table": "\(table)", "container": "\(container)",
                    "targets": "\(targets)", "concurrency": "\(concurrency)", "memory_budget": "\(memoryBudget)",
                    "drain": "\(drain)",
                ])

            let worker = Worker(services: services, configuration: configuration, logger: logger)
            let service = WorkerService(worker: worker)
            let metrics = MetricsServer.application(port: metricsPort, worker: worker, logger: logger) { port in
                logger.info("serving /healthz and /metrics", metadata: ["port": "\(port)"])
            }
            var groupConfiguration = ServiceGroupConfiguration(
                services: [
                    .init(service: metrics),
                    .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
            try await ServiceGroup(configuration: groupConfiguration).run()

            switch service.outcome {
            case .drainedWithPoison(let targets):
                for target in targets {
                    logger.error("target waits for a poisoned segment", metadata: ["detail": "\(target)"])
                }
                throw ExitCode(1)
            case .drained:
                logger.info("drained: the queue is empty and every target is caught up")
            case .stopped, nil:
                logger.info("stopped")
            }
        }

        /// The connection string from `--connection-string @FILE` (or a secret-free literal such as
        /// UseDevelopmentStorage=true), else nil (the environment, then the local store).
        private func resolvedConnectionString() throws -> String? {
            guard let connectionString else { return nil }
            if connectionString.hasPrefix("@") {
                let path = String(connectionString.dropFirst())
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ValidationError("cannot read the connection string file \(path)")
                }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let lowered = connectionString.lowercased()
            guard !lowered.contains("accountkey="), !lowered.contains("sharedaccesssignature=") else {
                throw ValidationError(
                    "--connection-string must not hold a key or SAS (process listings show it): "
                        + "set AZURE_STORAGE_CONNECTION_STRING or pass --connection-string @FILE")
            }
            return connectionString
        }
    }
}
