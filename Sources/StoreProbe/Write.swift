import ArgumentParser
import Foundation
import RelayShared

extension StoreProbeCommand {
    /// Inserts rows and puts messages from several tasks until killed (or the limit), printing
    /// `row KEY` and `msg TEXT` only after the store acknowledged each.
    struct Write: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Insert rows and put messages in a loop, printing each acknowledged one.")

        @OptionGroup var options: ProbeOptions
        @Option(help: "The table to insert into.") var table: String
        @Option(help: "The queue to put into.") var queue: String
        @Option(help: "Concurrent writers, so that a kill lands in the middle of writes.") var tasks = 4
        @Option(help: "Rows (and messages) per writer before stopping.") var limit = 100_000

        func run() async throws {
            let (store, deadline) = try await options.open()
            let tables = try await LocalTableService(store: store)
            let queues = try await LocalQueueService(store: store)
            // A 60 KB property makes each insert a multi-page write that a kill can split.
            let padding = TableValue.binary([UInt8](repeating: 0xA5, count: 60_000))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<tasks {
                    group.addTask {
                        for index in 0..<limit {
                            try deadline.check()
                            let key = "\(writer)-\(index)"
                            try await tables.insert(
                                table,
                                TableEntity(
                                    partitionKey: "probe", rowKey: key,
                                    properties: ["Pad": padding, "N": .int64(Int64(index))]))
                            emit("row \(key)")
                            try await queues.putMessage(queue, text: key, visibilityTimeout: 0, timeToLive: -1)
                            emit("msg \(key)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
