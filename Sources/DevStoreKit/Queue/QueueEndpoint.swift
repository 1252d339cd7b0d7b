import Foundation
import RelayShared

/// The Queue service REST API (docs/azure-rest.md, "Queue service") over an account's `QueueService`;
/// listing and deleting queues, peeking and clearing messages over the local store (docs/azure-rest.md,
/// "Operators' calls").
public struct QueueEndpoint: StorageEndpoint {
    let kind = StorageKind.queue
    /// Seeded delays of new messages (`--fault-delay-rate`), or nil.
    let delay: DeliveryDelay?

    /// A 64 KiB message may grow several times when XML-escaped; the service checks the text itself.
    static let maxMessageBodyBytes = 8 * QueueLimits.maxMessageBytes + 1024

    func route(_ request: StorageRequest) throws -> Route {
        let segments = request.segments
        let method = request.method
        let comp = request.query["comp"]
        guard let queue = segments.first else {
            guard method == "GET", comp == "list" else {
                throw StorageError.unsupported("the account-level operation \(method) comp=\(comp ?? "-")")
            }
            return Route(name: "List Queues", permission: "l", resourceType: "s", bodyLimit: 0, allowsServiceSAS: false)
            { request, account in
                try await Self.listQueues(request, account: account)
            }
        }
        switch (segments.count, method, comp) {
        case (1, "PUT", nil):
            return Route(
                name: "Create Queue", permission: "c", resourceType: "c", bodyLimit: 0, allowsServiceSAS: false
            ) { _, account in
                // Azure answers 204 when the queue exists already (with the same metadata), 201 when created.
                let existed: Bool
                do {
                    _ = try await account.queue.approximateMessageCount(queue)
                    existed = true
                } catch let error as StorageError where error.code == .queueNotFound {
                    existed = false
                }
                try await account.queue.createQueue(queue)
                return StorageResponse(status: existed ? 204 : 201)
            }
        case (1, "DELETE", nil):
            return Route(
                name: "Delete Queue", permission: "d", resourceType: "c", bodyLimit: 0, allowsServiceSAS: false
            ) { _, account in
                try await account.local.queue.deleteQueue(queue)
                return StorageResponse(status: 204)
            }
        case (1, "GET", "metadata"), (1, "HEAD", "metadata"):
            return Route(name: "Get Queue Metadata", permission: "r", resourceType: "c", bodyLimit: 0) { _, account in
                let count = try await account.queue.approximateMessageCount(queue)
                var response = StorageResponse(status: 200)
                response.add("x-ms-approximate-messages-count", String(count))
                return response
            }
        case (2, "POST", nil) where segments[1] == "messages":
            return Route(name: "Put Message", permission: "a", resourceType: "o", bodyLimit: Self.maxMessageBodyBytes) {
                request, account in
                let text = try Self.messageText(request.body)
                guard let text else {
                    throw StorageError(.invalidXmlDocument, status: 400, "Put Message: the body has no <MessageText>")
                }
                let timeToLive = try request.query["messagettl"].map { value -> Int in
                    guard let seconds = Int(value), seconds == -1 || seconds >= 1 else {
                        throw StorageError(
                            .outOfRangeQueryParameterValue, status: 400,
                            "messagettl must be -1 or at least 1, not '\(value)'")
                    }
                    return seconds
                }
                var visibility = try request.intQuery(
                    "visibilitytimeout", default: 0, range: 0...QueueLimits.maxVisibilityTimeout)
                if let ttl = timeToLive ?? Optional(QueueLimits.defaultTimeToLive), ttl != -1, visibility >= ttl {
                    throw StorageError(
                        .invalidQueryParameterValue, status: 400,
                        "visibilitytimeout \(visibility) must be smaller than messagettl \(ttl)")
                }
                if let delay, let extra = delay.draw(),
                    visibility + extra < (timeToLive.map { $0 == -1 ? Int.max : $0 } ?? QueueLimits.defaultTimeToLive)
                {
                    visibility += extra
                }
                let receipt = try await account.queue.putMessage(
                    queue, text: text, visibilityTimeout: visibility, timeToLive: timeToLive)
                let inserted = Date()
                let expires =
                    timeToLive == -1
                    ? Self.never
                    : inserted.addingTimeInterval(TimeInterval(timeToLive ?? QueueLimits.defaultTimeToLive))
                let xml =
                    XMLText.declaration
                    + "<QueueMessagesList><QueueMessage><MessageId>\(XMLText.escape(receipt.id))</MessageId>"
                    + "<InsertionTime>\(AzureDate.rfc1123(inserted))</InsertionTime><ExpirationTime>\(AzureDate.rfc1123(expires))</ExpirationTime>"
                    + "<PopReceipt>\(XMLText.escape(receipt.popReceipt))</PopReceipt>"
                    + "<TimeNextVisible>\(AzureDate.rfc1123(receipt.timeNextVisible))</TimeNextVisible></QueueMessage></QueueMessagesList>"
                var response = StorageResponse(status: 201, body: Array(xml.utf8))
                response.add("content-type", "application/xml")
                return response
            }
        case (2, "GET", nil) where segments[1] == "messages" && request.query["peekonly"]?.lowercased() == "true":
            return Route(name: "Peek Messages", permission: "r", resourceType: "o", bodyLimit: 0) { request, account in
                let count = try request.intQuery("numofmessages", default: 1, range: 1...QueueLimits.maxMessagesPerGet)
                let messages = try await account.local.queue.peekMessages(queue, count: count)
                return Self.messageList(messages, peeked: true)
            }
        case (2, "DELETE", nil) where segments[1] == "messages":
            return Route(
                name: "Clear Messages", permission: "d", resourceType: "c", bodyLimit: 0, allowsServiceSAS: false
            ) { _, account in
                try await account.local.queue.clearMessages(queue)
                return StorageResponse(status: 204)
            }
        case (2, "GET", nil) where segments[1] == "messages":
            return Route(name: "Get Messages", permission: "p", resourceType: "o", bodyLimit: 0) { request, account in
                let count = try request.intQuery("numofmessages", default: 1, range: 1...QueueLimits.maxMessagesPerGet)
                let visibility = try request.intQuery(
                    "visibilitytimeout", default: 30, range: 1...QueueLimits.maxVisibilityTimeout)
                let messages = try await account.queue.getMessages(queue, count: count, visibilityTimeout: visibility)
                return Self.messageList(messages, peeked: false)
            }
        case (3, "DELETE", nil) where segments[1] == "messages":
            return Route(name: "Delete Message", permission: "p", resourceType: "o", bodyLimit: 0) { request, account in
                let popReceipt = try Self.popReceipt(request)
                try await account.queue.deleteMessage(queue, id: segments[2], popReceipt: popReceipt)
                return StorageResponse(status: 204)
            }
        case (3, "PUT", nil) where segments[1] == "messages":
            return Route(
                name: "Update Message", permission: "u", resourceType: "o", bodyLimit: Self.maxMessageBodyBytes
            ) { request, account in
                let popReceipt = try Self.popReceipt(request)
                guard request.query["visibilitytimeout"] != nil else {
                    throw StorageError(
                        .missingRequiredQueryParameter, status: 400, "Update Message needs visibilitytimeout")
                }
                let visibility = try request.intQuery(
                    "visibilitytimeout", default: 0, range: 0...QueueLimits.maxVisibilityTimeout)
                let text = request.body.isEmpty ? nil : try Self.messageText(request.body)
                let receipt = try await account.queue.updateMessage(
                    queue, id: segments[2], popReceipt: popReceipt, visibilityTimeout: visibility, text: text)
                var response = StorageResponse(status: 204)
                response.add("x-ms-popreceipt", receipt.popReceipt)
                response.add("x-ms-time-next-visible", AzureDate.rfc1123(receipt.timeNextVisible))
                return response
            }
        default:
            throw StorageError.unsupported(
                "the queue operation \(method) /\(segments.joined(separator: "/")) comp=\(comp ?? "-")")
        }
    }

    /// The answer of Get Messages, or of Peek Messages, whose messages carry no pop receipt and no next
    /// visibility.
    static func messageList(_ messages: [QueueMessage], peeked: Bool) -> StorageResponse {
        var xml = XMLText.declaration + "<QueueMessagesList>"
        for message in messages {
            xml +=
                "<QueueMessage><MessageId>\(XMLText.escape(message.id))</MessageId>"
                + "<InsertionTime>\(AzureDate.rfc1123(message.insertionTime))</InsertionTime>"
                + "<ExpirationTime>\(AzureDate.rfc1123(message.expirationTime))</ExpirationTime>"
            if !peeked {
                xml +=
                    "<PopReceipt>\(XMLText.escape(message.popReceipt))</PopReceipt>"
                    + "<TimeNextVisible>\(AzureDate.rfc1123(message.timeNextVisible))</TimeNextVisible>"
            }
            xml +=
                "<DequeueCount>\(message.dequeueCount)</DequeueCount>"
                + "<MessageText>\(XMLText.escape(message.text))</MessageText></QueueMessage>"
        }
        xml += "</QueueMessagesList>"
        var response = StorageResponse(status: 200, body: Array(xml.utf8))
        response.add("content-type", "application/xml")
        return response
    }

    /// List Queues (`GET /?comp=list`): `prefix`, `marker`, `maxresults` (1–5000, default 5000) and
    /// `include=metadata` (queues keep none here, so each lists an empty `<Metadata />`).
    static func listQueues(_ request: StorageRequest, account: Account) async throws -> StorageResponse {
        let query = try ListingQuery(request)
        let page = try await account.local.queue.listQueues(
            prefix: query.prefix, marker: query.marker, maxResults: query.maxResults)
        let items = page.items.map {
            "<Queue><Name>\(XMLText.escape($0))</Name>" + (query.includeMetadata ? "<Metadata />" : "") + "</Queue>"
        }
        return query.answer(account: account.name, collection: "Queues", items: items.joined(), next: page.next)
    }

    /// What a never-expiring message reports (`messagettl=-1`).
    static let never = Date(timeIntervalSince1970: 253_402_300_799)

    static func popReceipt(_ request: StorageRequest) throws -> String {
        guard let popReceipt = request.query["popreceipt"], !popReceipt.isEmpty else {
            throw StorageError(
                .missingRequiredQueryParameter, status: 400, "the request needs the popreceipt query parameter")
        }
        return popReceipt
    }

    /// The text of `<QueueMessage><MessageText>…</MessageText></QueueMessage>`, nil if absent. Markup
    /// inside the text (`a<b>c</b>d`) is refused, not flattened.
    public static func messageText(_ body: [UInt8]) throws -> String? {
        let root = try XMLTree.parseRequest(body)
        guard let element = root.child("MessageText") else { return nil }
        guard element.children.isEmpty else {
            throw StorageError(
                .invalidXmlDocument, status: 400,
                "MessageText must hold text only, not the element <\(element.children[0].name)>")
        }
        return element.text
    }
}
