import Foundation

/// The Queue service of the local store: queues and messages in the store's SQLite database, shared
/// safely by several processes (a client and workers).
///
/// Get Messages picks and hides its messages inside one `BEGIN IMMEDIATE` transaction, so a visible
/// message goes to exactly one getter across all processes; every other operation is one statement.
/// Times are kept in milliseconds; expired messages are never delivered and are purged by Get Messages.
///
/// An oversize message is `400 MessageTooLarge` (Azure's documented Queue code) rather than Azurite's
/// `413 RequestBodyTooLarge`; the Azure backend checks the size before sending, so all backends agree.
public struct LocalQueueService: QueueService {
    private let store: LocalStore

    /// Creates the queue tables in `store` if they are missing.
    public init(store: LocalStore) async throws {
        self.store = store
        try await store.runMappingErrors("create the queue tables") { db in try db.execute(Self.schema) }
    }

    private static let schema = """
        CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS queue_messages (
            seq INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            id TEXT NOT NULL UNIQUE,
            text BLOB NOT NULL,
            inserted_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL,
            visible_ms INTEGER NOT NULL,
            dequeue_count INTEGER NOT NULL,
            pop_receipt TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS queue_messages_by_visibility ON queue_messages (queue, visible_ms, seq);
        CREATE INDEX IF NOT EXISTS queue_messages_by_expiry ON queue_messages (queue, expires_ms);
        """

    public func createQueue(_ queue: String) async throws {
        try QueueName.validate(queue)
        try await store.runMappingErrors("Create Queue \(queue)") { db in
            try db.query("INSERT OR IGNORE INTO queues (name) VALUES (?)", [.text(queue)])
        }
    }

    @discardableResult
    public func putMessage(_ queue: String, text: String, visibilityTimeout: Int, timeToLive: Int?) async throws
        -> QueueMessageReceipt
    {
        try QueueName.validate(queue)
        try Self.checkSize(text)
        try QueueParameter.check("visibilitytimeout", visibilityTimeout, in: 0...QueueLimits.maxVisibilityTimeout)
        let timeToLive = timeToLive ?? QueueLimits.defaultTimeToLive
        if timeToLive != -1 {
            try QueueParameter.check("messagettl", timeToLive, in: 1...Int(Int32.max))
            guard visibilityTimeout < timeToLive else {
                throw StorageError.badRequest(
                    .invalidQueryParameterValue,
                    "Put Message \(queue): visibilitytimeout \(visibilityTimeout) must be smaller than messagettl \(timeToLive)"
                )
            }
        }
        let now = QueueClock.milliseconds(store.clock.now)
        let id = UUID().uuidString.lowercased()
        let receipt = QueueClock.newPopReceipt()
        let visible = now + Int64(visibilityTimeout) * 1000
        let expires = timeToLive == -1 ? QueueClock.neverMilliseconds : now + Int64(timeToLive) * 1000
        let inserted = try await store.runMappingErrors("Put Message \(queue)") { db in
            // One statement: the existence check and the insert cannot be separated by another writer.
            try db.query(
                """
                INSERT INTO queue_messages (queue, id, text, inserted_ms, expires_ms, visible_ms, dequeue_count, pop_receipt)
                SELECT ?1, ?2, ?3, ?4, ?5, ?6, 0, ?7 WHERE EXISTS (SELECT 1 FROM queues WHERE name = ?1)
                """,
                [
                    .text(queue), .text(id), .blob(Array(text.utf8)), .integer(now), .integer(expires),
                    .integer(visible), .text(receipt),
                ])
            return db.changes == 1
        }
        guard inserted else { throw Self.queueNotFound(queue, "Put Message") }
        return QueueMessageReceipt(id: id, popReceipt: receipt, timeNextVisible: QueueClock.date(visible))
    }

    public func getMessages(_ queue: String, count: Int, visibilityTimeout: Int) async throws -> [QueueMessage] {
        try QueueName.validate(queue)
        try QueueParameter.check("numofmessages", count, in: 1...QueueLimits.maxMessagesPerGet)
        try QueueParameter.check("visibilitytimeout", visibilityTimeout, in: 1...QueueLimits.maxVisibilityTimeout)
        let messages: [QueueMessage]? = try await store.runMappingErrors("Get Messages \(queue)") { db in
            try db.transaction {
                guard try Self.exists(queue, db) else { return nil }
                let now = QueueClock.milliseconds(store.clock.now)
                try db.query(
                    "DELETE FROM queue_messages WHERE queue = ? AND expires_ms <= ?", [.text(queue), .integer(now)])
                let rows = try db.query(
                    """
                    SELECT seq, id, text, inserted_ms, expires_ms, dequeue_count FROM queue_messages
                    WHERE queue = ? AND visible_ms <= ? ORDER BY visible_ms, seq LIMIT ?
                    """,
                    [.text(queue), .integer(now), .integer(Int64(count))])
                let visible = now + Int64(visibilityTimeout) * 1000
                return try rows.map { row in
                    let receipt = QueueClock.newPopReceipt()
                    try db.query(
                        "UPDATE queue_messages SET visible_ms = ?, dequeue_count = dequeue_count + 1, pop_receipt = ? WHERE seq = ?",
                        [.integer(visible), .text(receipt), row[0]])
                    return try Self.message(
                        row, popReceipt: receipt, timeNextVisible: visible, received: true, queue: queue)
                }
            }
        }
        guard let messages else { throw Self.queueNotFound(queue, "Get Messages") }
        return messages
    }

    public func deleteMessage(_ queue: String, id: String, popReceipt: String) async throws {
        try QueueName.validate(queue)
        let outcome: MessageOutcome = try await store.runMappingErrors("Delete Message \(queue)/\(id)") { db in
            try db.query(
                "DELETE FROM queue_messages WHERE queue = ? AND id = ? AND pop_receipt = ?",
                [.text(queue), .text(id), .text(popReceipt)])
            return db.changes == 1 ? .done : try Self.exists(queue, db) ? .messageNotFound : .queueNotFound
        }
        try outcome.check(queue: queue, id: id, operation: "Delete Message")
    }

    public func updateMessage(_ queue: String, id: String, popReceipt: String, visibilityTimeout: Int, text: String?)
        async throws -> QueueMessageReceipt
    {
        try QueueName.validate(queue)
        try QueueParameter.check("visibilitytimeout", visibilityTimeout, in: 0...QueueLimits.maxVisibilityTimeout)
        if let text { try Self.checkSize(text) }
        let receipt = QueueClock.newPopReceipt()
        let newText: SQLiteValue = text.map { .blob(Array($0.utf8)) } ?? .null
        let result: (MessageOutcome, Int64) = try await store.runMappingErrors("Update Message \(queue)/\(id)") { db in
            let visible = QueueClock.milliseconds(store.clock.now) + Int64(visibilityTimeout) * 1000
            try db.query(
                """
                UPDATE queue_messages SET visible_ms = ?, pop_receipt = ?, text = coalesce(?, text)
                WHERE queue = ? AND id = ? AND pop_receipt = ?
                """,
                [.integer(visible), .text(receipt), newText, .text(queue), .text(id), .text(popReceipt)])
            let outcome: MessageOutcome =
                db.changes == 1 ? .done : try Self.exists(queue, db) ? .messageNotFound : .queueNotFound
            return (outcome, visible)
        }
        try result.0.check(queue: queue, id: id, operation: "Update Message")
        return QueueMessageReceipt(id: id, popReceipt: receipt, timeNextVisible: QueueClock.date(result.1))
    }

    public func approximateMessageCount(_ queue: String) async throws -> Int {
        try QueueName.validate(queue)
        let count: Int? = try await store.runMappingErrors("Get Queue Metadata \(queue)") { db in
            guard try Self.exists(queue, db) else { return nil }
            let rows = try db.query(
                "SELECT count(*) FROM queue_messages WHERE queue = ? AND expires_ms > ?",
                [.text(queue), .integer(QueueClock.milliseconds(store.clock.now))])
            return Int(rows.first?.first?.int64 ?? 0)
        }
        guard let count else { throw Self.queueNotFound(queue, "Get Queue Metadata") }
        return count
    }

    // MARK: Operators' calls (not in QueueService: the replication never needs them)

    /// Peek Messages: up to `count` (1–32) visible messages, changed in nothing (no new pop receipt, the
    /// dequeue count as it is). A peeked message carries no pop receipt: it cannot be deleted or updated.
    public func peekMessages(_ queue: String, count: Int) async throws -> [QueueMessage] {
        try QueueName.validate(queue)
        try QueueParameter.check("numofmessages", count, in: 1...QueueLimits.maxMessagesPerGet)
        let messages: [QueueMessage]? = try await store.runMappingErrors("Peek Messages \(queue)") { db in
            try db.reading {
                guard try Self.exists(queue, db) else { return nil }
                let now = QueueClock.milliseconds(store.clock.now)
                let rows = try db.query(
                    """
                    SELECT seq, id, text, inserted_ms, expires_ms, dequeue_count, visible_ms FROM queue_messages
                    WHERE queue = ? AND visible_ms <= ? AND expires_ms > ? ORDER BY visible_ms, seq LIMIT ?
                    """,
                    [.text(queue), .integer(now), .integer(now), .integer(Int64(count))])
                return try rows.map { row in
                    try Self.message(
                        row, popReceipt: "", timeNextVisible: row[6].int64 ?? now, received: false, queue: queue)
                }
            }
        }
        guard let messages else { throw Self.queueNotFound(queue, "Peek Messages") }
        return messages
    }

    /// Clear Messages: deletes every message of the queue, visible or not.
    public func clearMessages(_ queue: String) async throws {
        try QueueName.validate(queue)
        let found = try await store.runMappingErrors("Clear Messages \(queue)") { db in
            try db.transaction {
                guard try Self.exists(queue, db) else { return false }
                try db.query("DELETE FROM queue_messages WHERE queue = ?", [.text(queue)])
                return true
            }
        }
        guard found else { throw Self.queueNotFound(queue, "Clear Messages") }
    }

    /// List Queues: names from `marker` (a `next` of an earlier page) on that start with `prefix`.
    public func listQueues(prefix: String, marker: String?, maxResults: Int) async throws -> ListingPage<String> {
        guard (1...5000).contains(maxResults) else {
            throw StorageError.badRequest(.outOfRangeQueryParameterValue, "maxresults \(maxResults) is outside 1…5000")
        }
        let names = try await store.runMappingErrors("List Queues") { db in
            try db.query(
                "SELECT name FROM queues WHERE name >= ? AND substr(name, 1, length(?)) = ? ORDER BY name LIMIT ?",
                [.text(max(marker ?? "", prefix)), .text(prefix), .text(prefix), .integer(Int64(maxResults + 1))]
            ).compactMap { $0[0].string }
        }
        return ListingPage(
            items: Array(names.prefix(maxResults)), next: names.count > maxResults ? names[maxResults] : nil)
    }

    /// Delete Queue with its messages.
    public func deleteQueue(_ queue: String) async throws {
        try QueueName.validate(queue)
        let found = try await store.runMappingErrors("Delete Queue \(queue)") { db in
            try db.transaction {
                try db.query("DELETE FROM queue_messages WHERE queue = ?", [.text(queue)])
                try db.query("DELETE FROM queues WHERE name = ?", [.text(queue)])
                return db.changes == 1
            }
        }
        guard found else { throw Self.queueNotFound(queue, "Delete Queue") }
    }

    // MARK: Helpers

    /// What a write addressed by pop receipt found: Azure answers a stale receipt like a missing message.
    private enum MessageOutcome: Sendable {
        case done, messageNotFound, queueNotFound

        func check(queue: String, id: String, operation: String) throws {
            switch self {
            case .done: return
            case .queueNotFound: throw LocalQueueService.queueNotFound(queue, operation)
            case .messageNotFound:
                throw StorageError.notFound(
                    .messageNotFound,
                    "\(operation) \(queue)/\(id): no message with this id and pop receipt (deleted, expired, or received again since); get the message again"
                )
            }
        }
    }

    private static func exists(_ queue: String, _ db: SQLiteDatabase) throws -> Bool {
        try !db.query("SELECT 1 FROM queues WHERE name = ?", [.text(queue)]).isEmpty
    }

    private static func queueNotFound(_ queue: String, _ operation: String) -> StorageError {
        .notFound(.queueNotFound, "\(operation): queue \(queue) does not exist; create it first")
    }

    private static func checkSize(_ text: String) throws {
        let bytes = text.utf8.count
        guard bytes <= QueueLimits.maxMessageBytes else {
            throw StorageError.badRequest(
                .messageTooLarge,
                "message text is \(bytes) bytes of UTF-8, over the limit of \(QueueLimits.maxMessageBytes); put large payloads in a blob"
            )
        }
    }

    /// The message of a `queue_messages` row; `received` counts the Get Messages that returns it.
    private static func message(
        _ row: [SQLiteValue], popReceipt: String, timeNextVisible: Int64, received: Bool, queue: String
    ) throws -> QueueMessage {
        guard let id = row[1].string, let text = row[2].bytes, let inserted = row[3].int64,
            let expires = row[4].int64, let dequeues = row[5].int64
        else {
            throw StorageError(
                .internalError, status: 500,
                "queue \(queue): a message row of queue_messages has unexpected column types: \(row)")
        }
        return QueueMessage(
            id: id, popReceipt: popReceipt, text: String(decoding: text, as: UTF8.self),
            dequeueCount: Int(dequeues) + (received ? 1 : 0),
            insertionTime: QueueClock.date(inserted), expirationTime: QueueClock.date(expires),
            timeNextVisible: QueueClock.date(timeNextVisible))
    }
}
