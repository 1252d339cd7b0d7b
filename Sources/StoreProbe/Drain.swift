import ArgumentParser
import Foundation
import RelayShared

extension StoreProbeCommand {
    /// Receives and deletes messages until the queue is empty, printing each message's text.
    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain a queue, printing the text of every message received.")

        @OptionGroup var options: ProbeOptions
        @Option(help: "The queue to drain.") var queue: String
        @Option(help: "Messages per Get Messages (1-32).") var batch = 32
        @Option(help: "Visibility timeout of received messages, in seconds.") var visibility = 300

        func run() async throws {
            let (store, deadline) = try await options.open()
            let queues = try await LocalQueueService(store: store)
            while true {
                try deadline.check()
                let messages = try await queues.getMessages(queue, count: batch, visibilityTimeout: visibility)
                if messages.isEmpty {
                    // Empty for us; done once no message is left at all (others may still hold some).
                    if try await queues.approximateMessageCount(queue) == 0 { return }
                    try await Task.sleep(for: .milliseconds(5))
                    continue
                }
                for message in messages {
                    emit(message.text)
                    do {
                        try await queues.deleteMessage(queue, id: message.id, popReceipt: message.popReceipt)
                    } catch let error as StorageError where error.code == .messageNotFound {
                        // Its visibility ran out before the delete and it was received again: at least once.
                    }
                }
            }
        }
    }
}
