import ArgumentParser
import Foundation
import RelayShared

extension StoreProbeCommand {
    /// Measures one process's rate of queue round trips or table upserts for a fixed time. Run several
    /// probes with the same `--start-at` to measure processes sharing one store.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure queue round trips (put + get + delete) or table upserts per second.")

        enum Workload: String, ExpressibleByArgument {
            case queue, table
        }

        @OptionGroup var options: ProbeOptions
        @Argument(help: "queue or table") var workload: Workload
        @Option(help: "How long to measure, in seconds.") var seconds: Double = 5
        @Option(help: "This process's name, for row keys and the report.") var name = "probe"

        func run() async throws {
            let (store, _) = try await options.open()
            let clock = ContinuousClock()
            let end = clock.now + .seconds(seconds)
            var operations = 0
            let start = clock.now
            switch workload {
            case .queue:
                let queues = try await LocalQueueService(store: store)
                try await queues.createQueue("bench")
                while clock.now < end {
                    try await queues.putMessage(
                        "bench", text: "\(name)-\(operations)", visibilityTimeout: 0, timeToLive: nil)
                    // Another process may take ours and we theirs: each loop is still one put, get and delete.
                    for message in try await queues.getMessages("bench", count: 1, visibilityTimeout: 30) {
                        try await queues.deleteMessage("bench", id: message.id, popReceipt: message.popReceipt)
                    }
                    operations += 1
                }
            case .table:
                let tables = try await LocalTableService(store: store)
                do { try await tables.createTable("bench") } catch let error as StorageError
                    where error.code == .tableAlreadyExists
                {}
                while clock.now < end {
                    let entity = TableEntity(
                        partitionKey: "bench", rowKey: "\(name)-\(operations % 1000)",
                        properties: [
                            "Seq": .int64(Int64(operations)), "State": .string("applied"), "Bytes": .int64(4 << 20),
                        ])
                    try await tables.upsert("bench", entity, mode: .replace)
                    operations += 1
                }
            }
            let elapsed = (clock.now - start) / .seconds(1)
            print(
                "\(name) \(workload.rawValue): \(operations) in \(String(format: "%.2f", elapsed)) s = \(Int(Double(operations) / elapsed))/s"
            )
        }
    }
}
