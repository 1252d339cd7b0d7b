import Foundation
import Logging

/// `QueueService` over the Azure Queue REST API (docs/azure-rest.md, "Queue service"). Message text is
/// sent as it is, XML-escaped (no Base64), so what one backend stores another reads back unchanged.
public struct AzureQueueService: QueueService {
    let client: AzureClient

    /// - Parameter logger: receives the retries; the default label is `vhd-relay.azure.queue`.
    public init(
        connectionString: ConnectionString, transport: any HTTPTransport, retryPolicy: RetryPolicy = .init(),
        logger: Logger = Logger(label: "vhd-relay.azure.queue"), observer: StorageAttemptObserver? = nil
    ) throws {
        guard let endpoint = connectionString.queueEndpoint else {
            throw ConnectionStringError("no queue endpoint: give AccountName or QueueEndpoint")
        }
        client = AzureClient(
            endpoint: endpoint, credential: connectionString.credential, service: .blobOrQueue,
            transport: transport, retryPolicy: retryPolicy, logger: logger, observer: observer)
    }

    public func createQueue(_ queue: String) async throws {
        // Azure answers 204 when the queue exists with the same (here: no) metadata.
        _ = try await client.send(
            AzureRequest(
                "PUT", "/" + AzurePath.encode(queue), safety: .idempotent,
                successAfterUnknownOutcome: [.queueAlreadyExists], subject: "queue \(queue)"))
    }

    @discardableResult
    public func putMessage(_ queue: String, text: String, visibilityTimeout: Int, timeToLive: Int?) async throws
        -> QueueMessageReceipt
    {
        guard text.utf8.count <= QueueLimits.maxMessageBytes else {
            throw StorageError.badRequest(
                .messageTooLarge,
                "Put Message to queue \(queue): \(text.utf8.count) bytes of text; a message holds at most \(QueueLimits.maxMessageBytes)"
            )
        }
        var query = [("visibilitytimeout", String(visibilityTimeout))]
        if let timeToLive { query.append(("messagettl", String(timeToLive))) }
        // Not idempotent: a repeated Put Message enqueues a duplicate (docs/azure-rest.md, "Retries and
        // idempotency").
        let response = try await client.send(
            AzureRequest(
                "POST", "/\(AzurePath.encode(queue))/messages", query: query, body: Self.messageBody(text),
                contentType: "application/xml",
                safety: .unsafe, subject: "queue \(queue)"))
        let messages = try Self.messages(response.body, queue: queue)
        guard let message = messages.first, let id = message.value("MessageId"),
            let popReceipt = message.value("PopReceipt"),
            let visible = message.value("TimeNextVisible").flatMap(AzureDate.parseRFC1123)
        else {
            throw StorageError(
                .invalidXML, status: 0,
                "Put Message to queue \(queue): the answer lacks MessageId, PopReceipt or TimeNextVisible")
        }
        return QueueMessageReceipt(id: id, popReceipt: popReceipt, timeNextVisible: visible)
    }

    public func getMessages(_ queue: String, count: Int, visibilityTimeout: Int) async throws -> [QueueMessage] {
        // Repeating a lost Get Messages only leaves the first answer's messages hidden until their timeout.
        let response = try await client.send(
            AzureRequest(
                "GET", "/\(AzurePath.encode(queue))/messages",
                query: [("numofmessages", String(count)), ("visibilitytimeout", String(visibilityTimeout))],
                maxResponseBytes: 8 << 20, safety: .idempotent, subject: "queue \(queue)"))
        return try Self.messages(response.body, queue: queue).map { element in
            guard let id = element.value("MessageId"), let popReceipt = element.value("PopReceipt"),
                let dequeueCount = element.value("DequeueCount").flatMap({ Int($0) }),
                let inserted = element.value("InsertionTime").flatMap(AzureDate.parseRFC1123),
                let expires = element.value("ExpirationTime").flatMap(AzureDate.parseRFC1123),
                let visible = element.value("TimeNextVisible").flatMap(AzureDate.parseRFC1123)
            else {
                throw StorageError(
                    .invalidXML, status: 0, "Get Messages of queue \(queue): a <QueueMessage> lacks a field")
            }
            return QueueMessage(
                id: id, popReceipt: popReceipt, text: element.value("MessageText") ?? "", dequeueCount: dequeueCount,
                insertionTime: inserted, expirationTime: expires, timeNextVisible: visible)
        }
    }

    public func deleteMessage(_ queue: String, id: String, popReceipt: String) async throws {
        _ = try await client.send(
            AzureRequest(
                "DELETE", "/\(AzurePath.encode(queue))/messages/\(AzurePath.encode(id))",
                query: [("popreceipt", popReceipt)],
                safety: .idempotent, successAfterUnknownOutcome: [.messageNotFound],
                subject: "message \(id) of queue \(queue)"))
    }

    public func updateMessage(_ queue: String, id: String, popReceipt: String, visibilityTimeout: Int, text: String?)
        async throws -> QueueMessageReceipt
    {
        if let text, text.utf8.count > QueueLimits.maxMessageBytes {
            throw StorageError.badRequest(
                .messageTooLarge,
                "Update Message \(id) of queue \(queue): \(text.utf8.count) bytes of text; at most \(QueueLimits.maxMessageBytes)"
            )
        }
        // A repeat after a silent success would hold a stale pop receipt: not retried on unknown outcomes.
        let response = try await client.send(
            AzureRequest(
                "PUT", "/\(AzurePath.encode(queue))/messages/\(AzurePath.encode(id))",
                query: [("popreceipt", popReceipt), ("visibilitytimeout", String(visibilityTimeout))],
                body: text.map(Self.messageBody) ?? [], contentType: text == nil ? nil : "application/xml",
                safety: .unsafe, subject: "message \(id) of queue \(queue)"))
        guard let newReceipt = response.header("x-ms-popreceipt"),
            let visible = response.header("x-ms-time-next-visible").flatMap(AzureDate.parseRFC1123)
        else {
            throw StorageError(
                .invalidHeaderValue, status: response.status,
                "Update Message \(id) of queue \(queue): the answer lacks x-ms-popreceipt or x-ms-time-next-visible")
        }
        return QueueMessageReceipt(id: id, popReceipt: newReceipt, timeNextVisible: visible)
    }

    public func approximateMessageCount(_ queue: String) async throws -> Int {
        let response = try await client.send(
            AzureRequest(
                "HEAD", "/" + AzurePath.encode(queue), query: [("comp", "metadata")], safety: .idempotent,
                subject: "queue \(queue)"))
        guard let count = response.header("x-ms-approximate-messages-count").flatMap({ Int($0) }) else {
            throw StorageError(
                .invalidHeaderValue, status: response.status,
                "Get Queue Metadata of \(queue): no x-ms-approximate-messages-count")
        }
        return count
    }

    static func messageBody(_ text: String) -> [UInt8] {
        Array(
            "\(XMLText.declaration)<QueueMessage><MessageText>\(XMLText.escape(text))</MessageText></QueueMessage>".utf8
        )
    }

    static func messages(_ body: [UInt8], queue: String) throws -> [XMLTree] {
        let root = try XMLTree.parseResponse(body, what: "messages of queue \(queue)")
        guard root.name == "QueueMessagesList" else {
            throw StorageError(
                .invalidXML, status: 0,
                "messages of queue \(queue): the root element is <\(root.name)>, not <QueueMessagesList>")
        }
        return root.children("QueueMessage")
    }
}
