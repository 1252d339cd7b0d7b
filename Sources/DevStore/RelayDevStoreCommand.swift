import ArgumentParser
import Foundation
import Logging
import RelayDevStoreKit
import RelayShared

/// `relay-devstore`: serves the Azure Storage REST API (Blob, Queue, Table) over the local store.
/// The first line on standard output is one JSON object with the ports and the connection string.
@main
struct RelayDevStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-devstore",
        abstract: "An Azure Storage emulator (Blob, Queue, Table) over the local store, with fault injection.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Blob endpoint port (0 picks a free port).") var blobPort = 10000
    @Option(help: "Queue endpoint port (0 picks a free port).") var queuePort = 10001
    @Option(help: "Table endpoint port (0 picks a free port).") var tablePort = 10002
    @Option(help: "Directory of the stores (default: a temporary directory removed on exit).") var data: String?
    @Option(
        name: .customLong("account"),
        help: """
            An extra account as NAME:BASE64KEY (repeatable). The key is then visible in process listings: \
            prefer the environment variable RELAY_DEVSTORE_ACCOUNTS="NAME:KEY;NAME2:KEY2" (Azurite's convention).
            """) var accounts: [String] = []
    @Option(name: .customLong("fault-503-rate"), help: "Share of operations refused with 503 ServerBusy.")
    var fault503Rate = 0.0
    @Option(
        name: .customLong("fault-500-rate"),
        help: "Share of operations that take effect but answer 500 OperationTimedOut.") var fault500Rate = 0.0
    @Option(help: "Share of delivered queue messages delivered once more.") var faultDuplicateRate = 0.0
    @Option(help: "Share of new queue messages delivered late (after --fault-delay-seconds).") var faultDelayRate = 0.0
    @Option(help: "How late a delayed message becomes visible, in seconds.") var faultDelaySeconds = 5
    @Option(help: "Latency added to every storage operation, in milliseconds.") var faultLatency = 0
    @Option(help: "Seed of the fault sequence (same seed and calls, same faults).") var faultSeed: UInt64 = 1
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(
        help: """
            Seconds a deleted container's name answers Create Container with 409 ContainerBeingDeleted \
            (Azure: at least 30).
            """)
    var deletedContainerHold = 30.0

    func validate() throws {
        for (name, rate) in [
            ("fault-503-rate", fault503Rate), ("fault-500-rate", fault500Rate),
            ("fault-duplicate-rate", faultDuplicateRate), ("fault-delay-rate", faultDelayRate),
        ] {
            guard (0...1).contains(rate) else { throw ValidationError("--\(name) must be between 0 and 1") }
        }
        for (name, port) in [("blob-port", blobPort), ("queue-port", queuePort), ("table-port", tablePort)] {
            guard (0...65535).contains(port) else { throw ValidationError("--\(name) must be 0…65535") }
        }
        guard deletedContainerHold >= 0, deletedContainerHold.isFinite else {
            throw ValidationError("--deleted-container-hold must be a number of seconds, 0 or more")
        }
        guard faultLatency >= 0, faultDelaySeconds >= 0 else {
            throw ValidationError("--fault-latency and --fault-delay-seconds must not be negative")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning or error")
        }
        _ = try parsedAccounts()
    }

    /// `NAME:KEY` pairs from `RELAY_DEVSTORE_ACCOUNTS` and `--account`; the error never repeats the key.
    func parsedAccounts() throws -> [(name: String, key: [UInt8])] {
        let fromEnvironment = (ProcessInfo.processInfo.environment["RELAY_DEVSTORE_ACCOUNTS"] ?? "")
            .split(separator: ";").map(String.init).filter { !$0.isEmpty }
        return try (fromEnvironment + accounts).map { text in
            guard let colon = text.firstIndex(of: ":") else { throw ValidationError("--account takes NAME:BASE64KEY") }
            let name = String(text[..<colon])
            guard name.range(of: "^[a-z0-9]{3,24}$", options: .regularExpression) != nil else {
                throw ValidationError(
                    "--account: '\(name)' is not a storage account name (3-24 lowercase letters and digits)")
            }
            guard let key = Data(base64Encoded: String(text[text.index(after: colon)...])), !key.isEmpty else {
                throw ValidationError("--account \(name): the key is not valid Base64")
            }
            return (name, [UInt8](key))
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "relay-devstore")
        let temporary = data == nil
        let directory = data ?? NSTemporaryDirectory() + "relay-devstore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }

        let anyFault = fault503Rate > 0 || fault500Rate > 0 || faultDuplicateRate > 0 || faultLatency > 0
        var configuration = DevStore.Configuration(dataDirectory: directory)
        configuration.host = host
        configuration.blobPort = blobPort
        configuration.queuePort = queuePort
        configuration.tablePort = tablePort
        configuration.extraAccounts = try parsedAccounts()
        configuration.faults =
            anyFault
            ? FaultConfiguration(
                seed: faultSeed, serverBusyRate: fault503Rate, timeoutRate: fault500Rate,
                latency: .milliseconds(faultLatency) ... .milliseconds(faultLatency), duplicateRate: faultDuplicateRate)
            : nil
        configuration.faultSeed = faultSeed
        configuration.deliveryDelayRate = faultDelayRate
        configuration.deliveryDelaySeconds = faultDelaySeconds
        configuration.deletedContainerHold = deletedContainerHold
        logger.info(
            "starting",
            metadata: [
                "data": "\(directory)", "data.temporary": "\(temporary)",
                "accounts":
                    "\(([ConnectionString.developmentAccountName] + configuration.extraAccounts.map(\.name)).joined(separator: ","))",
            ])
        try await DevStore(configuration: configuration, logger: logger).run { ports, _ in
            let line: [String: Any] = [
                "blobPort": ports.blob, "queuePort": ports.queue, "tablePort": ports.table,
                "account": ConnectionString.developmentAccountName, "connectionString": ports.connectionString,
            ]
            if let json = try? JSONSerialization.data(
                withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
            {
                FileHandle.standardOutput.write(json + Data("\n".utf8))
            }
        }
        logger.info("stopped")
    }
}
