import Foundation
import Logging
import RelayShared

/// Intake (docs/worker.md, "Intake"): takes control messages off the queue, validates them, and makes
/// each durable as its `seg-` row before deleting it, so that the apply loop can put them back in seq
/// order. Duplicates (a seq at or below the cursor, or a row already stored) are dropped; a message that
/// fails validation or was delivered too often goes to the poison queue with its reason.
struct Intake: Sendable {
    let services: StorageServices
    let configuration: WorkerConfiguration
    let control: ControlTable
    let calls: StorageCalls
    let logger: Logger

    /// What one round did.
    struct Round {
        var received = 0
        /// Targets that got new rows: worth applying now.
        var targets: Set<TargetName> = []
    }

    /// Processes one Get Messages worth (up to 32). A failure of one message's storage calls leaves
    /// that message on the queue, where it reappears after its visibility timeout.
    func round() async throws -> Round {
        let messages = try await calls("Get Messages") {
            try await services.queue.getMessages(
                configuration.queue, count: QueueLimits.maxMessagesPerGet,
                visibilityTimeout: configuration.visibilityTimeout)
        }
        var round = Round(received: messages.count)
        try await withThrowingTaskGroup(of: TargetName?.self) { group in
            for message in messages {
                group.addTask {
                    do {
                        return try await process(message)
                    } catch let error as CancellationError {
                        throw error
                    } catch {
                        logger.warning(
                            "intake could not process a message; it will be delivered again",
                            metadata: ["message.id": "\(message.id)", "error": "\(error)"])
                        return nil
                    }
                }
            }
            for try await target in group {
                if let target { round.targets.insert(target) }
            }
        }
        return round
    }

    /// Handles one message; returns its target when a new row was stored.
    private func process(_ delivered: QueueMessage) async throws -> TargetName? {
        guard delivered.dequeueCount <= configuration.maxDequeueCount else {
            try await poison(
                delivered,
                reason: "dequeued \(delivered.dequeueCount) times (more than \(configuration.maxDequeueCount))")
            return nil
        }
        let message: ControlMessage
        do {
            message = try ControlMessage(parsing: delivered.text)
        } catch {
            try await poison(delivered, reason: "invalid control message: \(error)")
            return nil
        }
        if let reason = try await refusal(of: message) {
            try await poison(delivered, reason: reason)
            return nil
        }
        let stored = try await store(message)
        try await delete(delivered)
        WorkerMetrics.intake(stored ? "stored" : "duplicate")
        return stored ? message.target : nil
    }

    /// Why `message` cannot be accepted, or nil: its target must be allowed here and exist as the
    /// contract says, its seq reserved, its extents inside the disk.
    private func refusal(of message: ControlMessage) async throws -> String? {
        let target = message.target
        guard configuration.accepts(target) else {
            return "target \(target) is not among this worker's --targets \(configuration.targetPrefixes)"
        }
        let row: TargetRow
        do {
            guard let found = try await control.targetRow(target.key) else {
                return "target \(target) has no 'target' row in the control table (was it created by relay-client?)"
            }
            row = found
        } catch let error as ControlError {
            return "target \(target): its 'target' row is invalid: \(error)"
        }
        guard row.target == target else { return "the 'target' row of \(target.key) names \(row.target)" }
        guard message.seq < row.nextSeq else {
            return "seq \(message.seq) was never reserved (the target's next free seq is \(row.nextSeq))"
        }
        // Decoded whole, a segment may not decode to more than the largest segment (the client's hold 32 MiB).
        guard message.plainBytes <= UInt64(SegmentFormat.maxSegmentSize) else {
            return
                "\(message.plainBytes) plain bytes, more than the \(SegmentFormat.maxSegmentSize) a segment may decode to"
        }
        let diskSize = VHDFooter.targetSize(forVirtualSize: row.identity.virtualSize)
        guard message.span.end <= diskSize else {
            return "extents end at \(message.span.end), past the disk's \(diskSize) bytes"
        }
        return nil
    }

    /// Stores the `seg-` row unless the seq is already applied or stored. A poisoned row is replaced by a
    /// message for its seq with another segment digest: that is a resend (other bytes, another temp
    /// blob), which repairs a stopped target. A message with the poisoned row's digest is a duplicate
    /// delivery of the refused segment: applying it again could only be refused again.
    /// Returns whether a row was written.
    private func store(_ message: ControlMessage) async throws -> Bool {
        let target = message.target
        if let cursor = try await control.cursor(target), message.seq <= cursor.appliedSeq { return false }
        let row = SegmentRow(message: message)
        do {
            try await calls("Insert Entity") { try await services.table.insert(configuration.table, row.entity) }
            return true
        } catch let error as StorageError where error.code == .entityAlreadyExists {
            // Taken by an earlier delivery, or by this one whose answer was lost.
        }
        guard let existing = try await control.segment(target, seq: message.seq), existing.poisonReason != nil,
            existing.message.segmentDigest != message.segmentDigest, let etag = existing.etag
        else { return false }
        do {
            try await calls("Update Entity") {
                try await services.table.update(configuration.table, row.entity, mode: .replace, ifMatch: .etag(etag))
            }
            logger.notice(
                "a poisoned segment was sent again; its target resumes",
                metadata: ["target": "\(target)", "seq": "\(message.seq)"])
            return true
        } catch let error as StorageError where error.status == 412 {
            return false
        }
    }

    private func delete(_ message: QueueMessage) async throws {
        do {
            try await calls("Delete Message") {
                try await services.queue.deleteMessage(
                    configuration.queue, id: message.id, popReceipt: message.popReceipt)
            }
        } catch let error as StorageError where error.code == .messageNotFound {
            // Deleted through another delivery of the same message, or redelivered to someone else.
        }
    }

    /// Moves `message` to the poison queue with `reason`, then deletes it.
    private func poison(_ message: QueueMessage, reason: String) async throws {
        let text = PoisonRecord(reason: reason, message: message.text).encoded()
        try await calls("Put Message") {
            try await services.queue.putMessage(
                ControlNames.poisonQueue(for: configuration.queue), text: text,
                visibilityTimeout: 0, timeToLive: -1)
        }
        try await delete(message)
        WorkerMetrics.poisoned("message")
        logger.error("control message poisoned", metadata: ["message.id": "\(message.id)", "reason": "\(reason)"])
    }
}

/// What the poison queue holds: the reason and the original text (cut so the record fits a message).
struct PoisonRecord: Sendable {
    var reason: String
    var message: String

    /// Room left for the original text in a 64 KiB queue message, after the reason and JSON escaping
    /// (which at worst makes each byte six).
    static let maxMessageBytes = 8 * 1024

    func encoded() -> String {
        let original = String(decoding: message.utf8.prefix(Self.maxMessageBytes), as: UTF8.self)
        let shortReason = String(decoding: reason.utf8.prefix(1024), as: UTF8.self)
        return JSONValue.object([("reason", .string(shortReason)), ("message", .string(original))]).serialized()
    }
}
