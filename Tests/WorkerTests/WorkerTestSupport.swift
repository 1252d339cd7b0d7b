import Foundation
import Logging
import RelayShared
import RelayWorkerKit
import TestSupport

/// A local store in a temporary directory and its three services.
struct LocalStorage {
    let directory: TemporaryDirectory
    let blob: LocalBlobService
    let queue: LocalQueueService
    let table: LocalTableService

    init() async throws {
        directory = try TemporaryDirectory()
        let store = try LocalStore(path: directory.file("store"))
        blob = try await LocalBlobService(store: store)
        queue = try await LocalQueueService(store: store)
        table = try await LocalTableService(store: store)
    }

    var services: StorageServices { StorageServices(blob: blob, queue: queue, table: table) }

    /// The same services behind the fault wrappers, all drawing from one seeded plan.
    func faulty(_ configuration: FaultConfiguration) -> (StorageServices, FaultPlan) {
        let plan = FaultPlan(configuration)
        return (
            StorageServices(
                blob: FaultyBlobService(blob, plan: plan), queue: FaultyQueueService(queue, plan: plan),
                table: FaultyTableService(table, plan: plan)), plan
        )
    }
}

extension WorkerConfiguration {
    /// Short timings for tests: messages a killed worker held reappear after 2 s, loops poll often.
    static func forTests(drain: Bool = true) -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        configuration.drain = drain
        configuration.leaseSeconds = 15
        configuration.visibilityTimeout = 2
        configuration.idlePause = .milliseconds(50)
        configuration.discoveryInterval = .milliseconds(500)
        configuration.memoryBudget = 64 << 20
        configuration.concurrency = 4
        return configuration
    }
}

/// Silent, unless RELAY_TEST_LOG names a level (e.g. `debug`) to print from.
func testLogger() -> Logger {
    guard let level = ProcessInfo.processInfo.environment["RELAY_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) else {
        return Logger(label: "worker-test", factory: { _ in SwiftLogNoOpLogHandler() })
    }
    var logger = Logger(label: "worker-test")
    logger.logLevel = level
    return logger
}

/// Runs a draining worker to its end.
func drain(_ services: StorageServices, _ configuration: WorkerConfiguration = .forTests()) async throws
    -> Worker.Outcome
{
    try await Worker(services: services, configuration: configuration, logger: testLogger()).run()
}

/// Deterministic test bytes: runs of a few values, so that zstd has something to do.
func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    var random = SplitMix64(seed: seed)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
        let value = UInt8(truncatingIfNeeded: random.next())
        bytes += repeatElement(value, count: min(count - bytes.count, Int(random.next() % 64) + 1))
    }
    return bytes
}

/// Every message in the queue, taken off it (each text once).
func drainQueue(_ queue: any QueueService, _ name: String) async throws -> [String] {
    var texts: [String] = []
    while true {
        let messages = try await queue.getMessages(name, count: 32, visibilityTimeout: 60)
        if messages.isEmpty { return texts }
        for message in messages {
            texts.append(message.text)
            try await queue.deleteMessage(name, id: message.id, popReceipt: message.popReceipt)
        }
    }
}
