import Foundation

/// The Azure Queue service operations vhd-relay uses (docs/storage.md, "Queue service"): at-least-once,
/// unordered.
public protocol QueueService: Sendable {
    /// Create Queue; succeeds if it exists already (Azure's 204 for identical metadata).
    func createQueue(_ queue: String) async throws

    /// Put Message. `text` ≤ 64 KiB of UTF-8; invisible for `visibilityTimeout` seconds (0…604800);
    /// `timeToLive` seconds ≥ 1, or -1 for never; nil is Azure's 7 days.
    @discardableResult
    func putMessage(_ queue: String, text: String, visibilityTimeout: Int, timeToLive: Int?) async throws
        -> QueueMessageReceipt

    /// Get Messages: up to `count` (1–32) visible messages, each made invisible for `visibilityTimeout`
    /// seconds (1…604800) with a new pop receipt and its dequeue count incremented.
    func getMessages(_ queue: String, count: Int, visibilityTimeout: Int) async throws -> [QueueMessage]

    /// Delete Message with the message's latest pop receipt (`404 MessageNotFound` otherwise).
    func deleteMessage(_ queue: String, id: String, popReceipt: String) async throws

    /// Update Message: new visibility (0…604800 s) and optionally new text; returns the new pop receipt.
    func updateMessage(_ queue: String, id: String, popReceipt: String, visibilityTimeout: Int, text: String?)
        async throws -> QueueMessageReceipt

    /// `x-ms-approximate-messages-count`: never lower than the true count.
    func approximateMessageCount(_ queue: String) async throws -> Int
}

/// What Put Message and Update Message answer.
public struct QueueMessageReceipt: Hashable, Sendable {
    public var id: String
    public var popReceipt: String
    public var timeNextVisible: Date

    public init(id: String, popReceipt: String, timeNextVisible: Date) {
        self.id = id
        self.popReceipt = popReceipt
        self.timeNextVisible = timeNextVisible
    }
}

/// A message as Get Messages delivers it.
public struct QueueMessage: Hashable, Sendable {
    public var id: String
    public var popReceipt: String
    public var text: String
    public var dequeueCount: Int
    public var insertionTime: Date
    public var expirationTime: Date
    public var timeNextVisible: Date

    public init(
        id: String, popReceipt: String, text: String, dequeueCount: Int,
        insertionTime: Date, expirationTime: Date, timeNextVisible: Date
    ) {
        self.id = id
        self.popReceipt = popReceipt
        self.text = text
        self.dequeueCount = dequeueCount
        self.insertionTime = insertionTime
        self.expirationTime = expirationTime
        self.timeNextVisible = timeNextVisible
    }
}

public enum QueueLimits {
    /// Message text, as UTF-8 bytes.
    public static let maxMessageBytes = 64 * 1024
    public static let maxMessagesPerGet = 32
    public static let maxVisibilityTimeout = 604_800
    public static let defaultTimeToLive = 604_800
}
