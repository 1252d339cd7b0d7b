import Foundation
import Synchronization

/// A queue service that misbehaves as Azure may, over any backend: transient `503`/`500` failures,
/// added latency, duplicate deliveries, messages that reappear early, and shuffled batches.
public struct FaultyQueueService<Base: QueueService>: QueueService {
    public let base: Base
    public let plan: FaultPlan
    private let duplicates = PendingDuplicates()

    /// Duplicates waiting for a later Get Messages; bounded so a long run cannot grow without limit.
    static var maxPendingDuplicates: Int { 1024 }

    public init(_ base: Base, plan: FaultPlan) {
        self.base = base
        self.plan = plan
    }

    public func createQueue(_ queue: String) async throws {
        try await plan.inject("Create Queue") { try await base.createQueue(queue) }
    }

    @discardableResult
    public func putMessage(_ queue: String, text: String, visibilityTimeout: Int, timeToLive: Int?) async throws
        -> QueueMessageReceipt
    {
        try await plan.inject("Put Message") {
            try await base.putMessage(queue, text: text, visibilityTimeout: visibilityTimeout, timeToLive: timeToLive)
        }
    }

    public func getMessages(_ queue: String, count: Int, visibilityTimeout: Int) async throws -> [QueueMessage] {
        try await plan.inject("Get Messages") {
            var delivered: [QueueMessage] = []
            var newDuplicates: [QueueMessage] = []
            for var message in try await base.getMessages(queue, count: count, visibilityTimeout: visibilityTimeout) {
                let faults = plan.nextDelivery()
                // Shortening the visibility goes through the base, so the message really is visible again
                // for every getter; if that fails the message keeps its normal timeout.
                if faults.reappear,
                    let receipt = try? await base.updateMessage(
                        queue, id: message.id, popReceipt: message.popReceipt,
                        visibilityTimeout: plan.configuration.reappearDelay, text: nil)
                {
                    message.popReceipt = receipt.popReceipt
                    message.timeNextVisible = receipt.timeNextVisible
                }
                if faults.duplicate { newDuplicates.append(message) }
                delivered.append(message)
            }
            // Earlier duplicates fill the room this batch leaves, so no answer exceeds `count`.
            delivered += duplicates.take(queue: queue, upTo: count - delivered.count)
            duplicates.add(newDuplicates, queue: queue, limit: Self.maxPendingDuplicates)
            return plan.order(delivered)
        }
    }

    public func deleteMessage(_ queue: String, id: String, popReceipt: String) async throws {
        try await plan.inject("Delete Message") { try await base.deleteMessage(queue, id: id, popReceipt: popReceipt) }
    }

    public func updateMessage(_ queue: String, id: String, popReceipt: String, visibilityTimeout: Int, text: String?)
        async throws -> QueueMessageReceipt
    {
        try await plan.inject("Update Message") {
            try await base.updateMessage(
                queue, id: id, popReceipt: popReceipt, visibilityTimeout: visibilityTimeout, text: text)
        }
    }

    public func approximateMessageCount(_ queue: String) async throws -> Int {
        try await plan.inject("Get Queue Metadata") { try await base.approximateMessageCount(queue) }
    }
}

/// Delivered messages kept back to be delivered again, per queue.
private final class PendingDuplicates: Sendable {
    private let messages = Mutex<[String: [QueueMessage]]>([:])

    func take(queue: String, upTo room: Int) -> [QueueMessage] {
        guard room > 0 else { return [] }
        return messages.withLock { messages in
            let waiting = messages[queue, default: []]
            messages[queue] = Array(waiting.dropFirst(room))
            return Array(waiting.prefix(room))
        }
    }

    func add(_ new: [QueueMessage], queue: String, limit: Int) {
        guard !new.isEmpty else { return }
        messages.withLock { messages in
            let total = messages.values.reduce(0) { $0 + $1.count }
            messages[queue, default: []] += new.prefix(max(0, limit - total))
        }
    }
}
