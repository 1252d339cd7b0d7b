import Foundation
import Testing

@testable import RelayShared

/// The queue backends every conformance test runs against; the Azure backend joins by one entry.
enum QueueBackends {
    static let all: [Backend<any QueueService>] = [.local] + Backend<any QueueService>.azure
}

/// Azure Queue semantics (docs/storage.md, "Queue service") that every backend must show.
@Suite(.timeLimit(.minutes(2)))
struct QueueConformanceTests {
    /// Long enough for a 1 s visibility timeout or TTL to run out on a backend with whole-second clocks.
    static let pastOneSecond: Duration = .milliseconds(2100)

    @Test(arguments: QueueBackends.all)
    func createIsIdempotentAndNamesAreChecked(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshService { queue in
            try await queue.createQueue("jobs")
            try await queue.createQueue("jobs")
            #expect(try await queue.approximateMessageCount("jobs") == 0)
            for name in ["ab", "Jobs", "-jobs", "jobs-", "jo--bs", "jo_bs", String(repeating: "a", count: 64)] {
                await expectStorageError(.invalidResourceName, 400) { try await queue.createQueue(name) }
            }
        }
    }

    @Test(arguments: QueueBackends.all)
    func everyOperationOnAMissingQueueIsQueueNotFound(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshService { queue in
            await expectStorageError(.queueNotFound, 404) {
                try await queue.putMessage("absent", text: "x", visibilityTimeout: 0, timeToLive: nil)
            }
            await expectStorageError(.queueNotFound, 404) {
                _ = try await queue.getMessages("absent", count: 1, visibilityTimeout: 30)
            }
            await expectStorageError(.queueNotFound, 404) {
                try await queue.deleteMessage("absent", id: UUID().uuidString, popReceipt: "r")
            }
            await expectStorageError(.queueNotFound, 404) {
                _ = try await queue.updateMessage(
                    "absent", id: UUID().uuidString, popReceipt: "r", visibilityTimeout: 0, text: nil)
            }
            await expectStorageError(.queueNotFound, 404) { _ = try await queue.approximateMessageCount("absent") }
        }
    }

    @Test(arguments: QueueBackends.all)
    func putGetDeleteRoundTrip(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshFixture { fixture in
            let queue = fixture.service
            try await queue.createQueue("jobs")
            let text = "seg-42 ✓ <xml & \"quotes\"> \u{1F600}"
            let before = fixture.now
            let put = try await queue.putMessage("jobs", text: text, visibilityTimeout: 0, timeToLive: nil)
            #expect(try await queue.approximateMessageCount("jobs") == 1)

            let got = try await queue.getMessages("jobs", count: 32, visibilityTimeout: 30)
            let message = try #require(got.first)
            #expect(got.count == 1)
            #expect(message.id == put.id)
            #expect(message.text == text)
            #expect(message.dequeueCount == 1)
            #expect(message.popReceipt != put.popReceipt)
            #expect(abs(message.insertionTime.timeIntervalSince(before)) < 5)
            #expect(
                abs(
                    message.expirationTime.timeIntervalSince(message.insertionTime)
                        - Double(QueueLimits.defaultTimeToLive)) < 2)
            #expect(message.timeNextVisible.timeIntervalSince(before) > 25)
            // Received and hidden: a second getter sees nothing, but the count still includes it.
            #expect(try await queue.getMessages("jobs", count: 32, visibilityTimeout: 30).isEmpty)
            #expect(try await queue.approximateMessageCount("jobs") == 1)

            try await queue.deleteMessage("jobs", id: message.id, popReceipt: message.popReceipt)
            #expect(try await queue.approximateMessageCount("jobs") == 0)
            await expectStorageError(.messageNotFound, 404) {
                try await queue.deleteMessage("jobs", id: message.id, popReceipt: message.popReceipt)
            }
        }
    }

    @Test(arguments: QueueBackends.all)
    func getReturnsAtMostCountDistinctMessages(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshService { queue in
            try await queue.createQueue("jobs")
            for index in 0..<40 {
                try await queue.putMessage("jobs", text: "m\(index)", visibilityTimeout: 0, timeToLive: nil)
            }
            let first = try await queue.getMessages("jobs", count: 32, visibilityTimeout: 60)
            let second = try await queue.getMessages("jobs", count: 32, visibilityTimeout: 60)
            #expect(first.count == 32)
            #expect(second.count == 8)
            #expect(Set((first + second).map(\.text)) == Set((0..<40).map { "m\($0)" }))
            #expect(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 60).isEmpty)
        }
    }

    @Test(arguments: QueueBackends.all)
    func numericLimitsAreRefused(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshService { queue in
            try await queue.createQueue("jobs")
            for count in [0, 33, -1] {
                await expectStorageError(.outOfRangeQueryParameterValue, 400) {
                    _ = try await queue.getMessages("jobs", count: count, visibilityTimeout: 30)
                }
            }
            for timeout in [0, 604_801] {
                await expectStorageError(.outOfRangeQueryParameterValue, 400) {
                    _ = try await queue.getMessages("jobs", count: 1, visibilityTimeout: timeout)
                }
            }
            await expectStorageError(.outOfRangeQueryParameterValue, 400) {
                try await queue.putMessage("jobs", text: "x", visibilityTimeout: -1, timeToLive: nil)
            }
            await expectStorageError(.outOfRangeQueryParameterValue, 400) {
                try await queue.putMessage("jobs", text: "x", visibilityTimeout: 604_801, timeToLive: -1)
            }
            await expectStorageError(.outOfRangeQueryParameterValue, 400) {
                try await queue.putMessage("jobs", text: "x", visibilityTimeout: 0, timeToLive: 0)
            }
            await expectStorageError(.invalidQueryParameterValue, 400) {
                try await queue.putMessage("jobs", text: "x", visibilityTimeout: 10, timeToLive: 10)
            }
            let put = try await queue.putMessage("jobs", text: "x", visibilityTimeout: 0, timeToLive: nil)
            await expectStorageError(.outOfRangeQueryParameterValue, 400) {
                _ = try await queue.updateMessage(
                    "jobs", id: put.id, popReceipt: put.popReceipt, visibilityTimeout: 604_801, text: nil)
            }
            #expect(try await queue.approximateMessageCount("jobs") == 1)
        }
    }

    @Test(arguments: QueueBackends.all)
    func messageTextIsLimitedTo64KiBOfUTF8(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshService { queue in
            try await queue.createQueue("jobs")
            // 21,845 three-byte characters and one ASCII byte: exactly 65,536 bytes of UTF-8.
            let largest = String(repeating: "€", count: 21_845) + "a"
            #expect(largest.utf8.count == QueueLimits.maxMessageBytes)
            try await queue.putMessage("jobs", text: largest, visibilityTimeout: 0, timeToLive: nil)
            let message = try #require(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 30).first)
            #expect(message.text == largest)

            await expectStorageError(.messageTooLarge, 400) {
                try await queue.putMessage("jobs", text: largest + "b", visibilityTimeout: 0, timeToLive: nil)
            }
            await expectStorageError(.messageTooLarge, 400) {
                _ = try await queue.updateMessage(
                    "jobs", id: message.id, popReceipt: message.popReceipt, visibilityTimeout: 0, text: largest + "b")
            }
            #expect(try await queue.approximateMessageCount("jobs") == 1)
        }
    }

    @Test(arguments: QueueBackends.all)
    func visibilityTimeoutExpiryRedeliversWithANewReceipt(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshFixture { fixture in
            let queue = fixture.service
            try await queue.createQueue("jobs")
            try await queue.putMessage("jobs", text: "work", visibilityTimeout: 0, timeToLive: nil)
            // Forty seconds of invisibility: room for the check below over HTTP on a loaded machine (3 s were
            // not, nor 20 s in a full parallel run). The local store's manual clock stands still meanwhile.
            let first = try #require(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 40).first)
            #expect(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 1).isEmpty)

            try await fixture.elapse(.milliseconds(40_600))
            let second = try #require(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 30).first)
            #expect(second.id == first.id)
            #expect(second.dequeueCount == 2)
            #expect(second.popReceipt != first.popReceipt)
            // Only the latest receipt is valid.
            await expectStorageError(.messageNotFound, 404) {
                try await queue.deleteMessage("jobs", id: first.id, popReceipt: first.popReceipt)
            }
            await expectStorageError(.messageNotFound, 404) {
                _ = try await queue.updateMessage(
                    "jobs", id: first.id, popReceipt: first.popReceipt, visibilityTimeout: 0, text: nil)
            }
            try await queue.deleteMessage("jobs", id: second.id, popReceipt: second.popReceipt)
            #expect(try await queue.approximateMessageCount("jobs") == 0)
        }
    }

    @Test(arguments: QueueBackends.all)
    func putWithVisibilityTimeoutHidesTheMessageUntilThen(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshFixture { fixture in
            let queue = fixture.service
            try await queue.createQueue("jobs")
            // Forty seconds of invisibility: room for the checks below over HTTP on a loaded machine (3 s were
            // not, nor 20 s in a full parallel run). The local store's manual clock stands still meanwhile.
            let put = try await queue.putMessage("jobs", text: "later", visibilityTimeout: 40, timeToLive: nil)
            #expect(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 60).isEmpty)
            #expect(try await queue.approximateMessageCount("jobs") == 1)
            try await fixture.elapse(.milliseconds(40_600))
            let message = try #require(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 30).first)
            #expect(message.id == put.id)
            #expect(message.dequeueCount == 1)
        }
    }

    @Test(arguments: QueueBackends.all)
    func updateChangesTextAndVisibilityAndReceipt(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshService { queue in
            try await queue.createQueue("jobs")
            try await queue.putMessage("jobs", text: "v1", visibilityTimeout: 0, timeToLive: nil)
            let got = try #require(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 60).first)
            let updated = try await queue.updateMessage(
                "jobs", id: got.id, popReceipt: got.popReceipt, visibilityTimeout: 0, text: "v2")
            #expect(updated.id == got.id)
            #expect(updated.popReceipt != got.popReceipt)
            await expectStorageError(.messageNotFound, 404) {
                try await queue.deleteMessage("jobs", id: got.id, popReceipt: got.popReceipt)
            }

            // Visible again at once, with the new text; an update is not a delivery.
            let again = try #require(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 60).first)
            #expect(again.text == "v2")
            #expect(again.dequeueCount == 2)
            // Updating only the visibility keeps the text.
            let hidden = try await queue.updateMessage(
                "jobs", id: again.id, popReceipt: again.popReceipt, visibilityTimeout: 60, text: nil)
            #expect(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 60).isEmpty)
            _ = try await queue.updateMessage(
                "jobs", id: again.id, popReceipt: hidden.popReceipt, visibilityTimeout: 0, text: nil)
            #expect(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 60).first?.text == "v2")
        }
    }

    @Test(arguments: QueueBackends.all)
    func expiredMessagesAreNeverDelivered(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshFixture { fixture in
            let queue = fixture.service
            try await queue.createQueue("jobs")
            try await queue.putMessage("jobs", text: "short", visibilityTimeout: 0, timeToLive: 1)
            let forever = try await queue.putMessage("jobs", text: "forever", visibilityTimeout: 0, timeToLive: -1)
            try await fixture.elapse(Self.pastOneSecond)
            let messages = try await queue.getMessages("jobs", count: 32, visibilityTimeout: 30)
            #expect(messages.map(\.id) == [forever.id])
            #expect(
                Calendar(identifier: .gregorian).dateComponents(
                    in: TimeZone(identifier: "UTC")!, from: messages[0].expirationTime
                ).year == 9999)
            #expect(try await queue.approximateMessageCount("jobs") == 1)
        }
    }

    @Test(arguments: QueueBackends.all)
    func concurrentGettersNeverShareAVisibleMessage(_ backend: Backend<any QueueService>) async throws {
        try await backend.withFreshService { queue in
            try await queue.createQueue("jobs")
            for index in 0..<300 {
                try await queue.putMessage("jobs", text: "\(index)", visibilityTimeout: 0, timeToLive: nil)
            }
            let received = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        var texts: [String] = []
                        while true {
                            let batch = try await queue.getMessages("jobs", count: 7, visibilityTimeout: 120)
                            if batch.isEmpty { return texts }
                            texts += batch.map(\.text)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(received.count == 300)
            #expect(Set(received) == Set((0..<300).map(String.init)))
        }
    }
}
