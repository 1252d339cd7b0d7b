import Foundation
import Synchronization
import Testing

@testable import RelayShared

@Suite(.timeLimit(.minutes(3)))
struct FaultInjectionTests {
    /// Runs a fixed script of puts and gets through a faulty queue over a fresh local store and returns
    /// what the caller saw: each call's outcome (texts delivered, or the error's status and code).
    static func script(seed: UInt64) async throws -> [String] {
        try await Backend<any QueueService>.local.withFreshService { base in
            try await base.createQueue("jobs")
            let plan = FaultPlan(
                FaultConfiguration(seed: seed, serverBusyRate: 0.2, timeoutRate: 0.1, duplicateRate: 0.2, shuffle: true)
            )
            let queue = faulty(base, plan)
            var outcomes: [String] = []
            func record(_ body: () async throws -> String) async {
                do { outcomes.append(try await body()) } catch let error as StorageError {
                    outcomes.append(error.shortDescription)
                } catch {
                    outcomes.append("unexpected \(error)")
                }
            }
            for index in 0..<100 {
                await record {
                    try await queue.putMessage("jobs", text: "m\(index)", visibilityTimeout: 0, timeToLive: nil).id
                        .isEmpty ? "?" : "put"
                }
            }
            for _ in 0..<20 {
                await record {
                    try await queue.getMessages("jobs", count: 8, visibilityTimeout: 60).map(\.text).joined(
                        separator: ",")
                }
            }
            return outcomes
        }
    }

    @Test func theSameSeedGivesTheSameFaults() async throws {
        let first = try await Self.script(seed: 7)
        let again = try await Self.script(seed: 7)
        let other = try await Self.script(seed: 8)
        #expect(first == again)
        #expect(first != other)
        // The script did meet faults of every kind it asked for.
        #expect(first.contains("503 ServerBusy"))
        #expect(first.contains("500 OperationTimedOut"))
    }

    @Test func ratesAreRoughlyHonoured() async throws {
        try await Backend<any QueueService>.local.withFreshService { base in
            try await base.createQueue("jobs")
            let plan = FaultPlan(FaultConfiguration(seed: 1, serverBusyRate: 0.1, timeoutRate: 0.05))
            let queue = faulty(base, plan)
            var busy = 0
            var timedOut = 0
            var succeeded = 0
            for _ in 0..<2000 {
                do {
                    _ = try await queue.approximateMessageCount("jobs")
                    succeeded += 1
                } catch let error as StorageError {
                    #expect(error.isRetryable)
                    if error.code == .serverBusy && error.status == 503 { busy += 1 }
                    if error.code == .operationTimedOut && error.status == 500 { timedOut += 1 }
                }
            }
            // Expected 200 and 2000 × 0.9 × 0.05 = 90; the bounds are more than four standard deviations wide.
            #expect((140...260).contains(busy), "busy \(busy)")
            #expect((50...130).contains(timedOut), "timed out \(timedOut)")
            #expect(busy + timedOut + succeeded == 2000)
            #expect(plan.counts.serverBusy == busy && plan.counts.timedOut == timedOut)
        }
    }

    @Test func busyMeansNotDoneAndTimedOutMeansDone() async throws {
        try await Backend<any QueueService>.local.withFreshService { base in
            try await base.createQueue("jobs")
            let busy = faulty(base, FaultPlan(FaultConfiguration(seed: 1, serverBusyRate: 1)))
            await expectStorageError(.serverBusy, 503) {
                try await busy.putMessage("jobs", text: "a", visibilityTimeout: 0, timeToLive: nil)
            }
            #expect(try await base.approximateMessageCount("jobs") == 0)
            let timedOut = faulty(base, FaultPlan(FaultConfiguration(seed: 1, timeoutRate: 1)))
            await expectStorageError(.operationTimedOut, 500) {
                try await timedOut.putMessage("jobs", text: "a", visibilityTimeout: 0, timeToLive: nil)
            }
            #expect(try await base.approximateMessageCount("jobs") == 1)
        }
        try await Backend<any TableService>.local.withFreshService { base in
            try await base.createTable("rows")
            let tables = faulty(base, FaultPlan(FaultConfiguration(seed: 1, timeoutRate: 1)))
            let entity = TableEntity(partitionKey: "p", rowKey: "r")
            await expectStorageError(.operationTimedOut, 500) { try await tables.insert("rows", entity) }
            // The lost answer hid a success: retrying the insert meets its own row.
            await expectStorageError(.entityAlreadyExists, 409) { try await base.insert("rows", entity) }
        }
    }

    @Test func duplicatesComeLaterWithAStaleReceipt() async throws {
        try await Backend<any QueueService>.local.withFreshService { base in
            try await base.createQueue("jobs")
            let plan = FaultPlan(FaultConfiguration(seed: 3, duplicateRate: 1))
            let queue = faulty(base, plan)
            for index in 0..<3 {
                try await queue.putMessage("jobs", text: "m\(index)", visibilityTimeout: 0, timeToLive: nil)
            }
            let originals = try await queue.getMessages("jobs", count: 32, visibilityTimeout: 60)
            #expect(originals.count == 3)
            let duplicates = try await queue.getMessages("jobs", count: 32, visibilityTimeout: 60)
            #expect(duplicates == originals)
            #expect(try await queue.getMessages("jobs", count: 32, visibilityTimeout: 60).isEmpty)
            #expect(plan.counts.duplicates == 3)
            for message in originals {
                try await queue.deleteMessage("jobs", id: message.id, popReceipt: message.popReceipt)
            }
            for message in duplicates {
                await expectStorageError(.messageNotFound, 404) {
                    try await queue.deleteMessage("jobs", id: message.id, popReceipt: message.popReceipt)
                }
            }
        }
    }

    @Test func reappearingMessagesAreRedeliveredEarly() async throws {
        try await Backend<any QueueService>.local.withFreshFixture { fixture in
            let base = fixture.service
            try await base.createQueue("jobs")
            let queue = faulty(base, FaultPlan(FaultConfiguration(seed: 5, reappearRate: 1, reappearDelay: 1)))
            try await queue.putMessage("jobs", text: "slow", visibilityTimeout: 0, timeToLive: nil)
            let first = try #require(try await queue.getMessages("jobs", count: 1, visibilityTimeout: 600).first)
            #expect(first.timeNextVisible.timeIntervalSinceNow < 5)
            #expect(try await base.getMessages("jobs", count: 1, visibilityTimeout: 60).isEmpty)
            try await fixture.elapse(.milliseconds(2100))
            let again = try #require(try await base.getMessages("jobs", count: 1, visibilityTimeout: 60).first)
            #expect(again.id == first.id)
            #expect(again.dequeueCount == 2)
            await expectStorageError(.messageNotFound, 404) {
                try await queue.deleteMessage("jobs", id: first.id, popReceipt: first.popReceipt)
            }
        }
    }

    @Test func shuffleReordersBatches() async throws {
        try await Backend<any QueueService>.local.withFreshService { base in
            try await base.createQueue("jobs")
            for index in 0..<32 {
                try await base.putMessage("jobs", text: "\(index)", visibilityTimeout: 0, timeToLive: nil)
            }
            let queue = faulty(base, FaultPlan(FaultConfiguration(seed: 11, shuffle: true)))
            let texts = try await queue.getMessages("jobs", count: 32, visibilityTimeout: 60).map(\.text)
            let inOrder = (0..<32).map(String.init)
            #expect(Set(texts) == Set(inOrder))
            #expect(texts != inOrder)
        }
    }

    @Test func latencyIsAdded() async throws {
        try await Backend<any TableService>.local.withFreshService { base in
            try await base.createTable("rows")
            let tables = faulty(
                base, FaultPlan(FaultConfiguration(seed: 1, latency: .milliseconds(30) ... .milliseconds(40))))
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                for index in 0..<5 {
                    try await tables.upsert("rows", TableEntity(partitionKey: "p", rowKey: "\(index)"), mode: .replace)
                }
            }
            #expect(elapsed >= .milliseconds(150))
        }
    }

    /// A consumer that retries transient failures and treats a 404 on delete as done still processes
    /// every message, whatever the faults; and it does see duplicates, which is why it must be idempotent.
    @Test func anAtLeastOnceConsumerSurvivesEveryFault() async throws {
        try await Backend<any QueueService>.local.withFreshFixture { fixture in
            let base = fixture.service
            try await base.createQueue("jobs")
            let total = 200
            for index in 0..<total {
                try await base.putMessage("jobs", text: "\(index)", visibilityTimeout: 0, timeToLive: nil)
            }
            let plan = FaultPlan(
                FaultConfiguration(
                    seed: 21, serverBusyRate: 0.1, timeoutRate: 0.1, latency: .zero ... .milliseconds(2),
                    duplicateRate: 0.1, reappearRate: 0.05, reappearDelay: 1, shuffle: true))
            let queue = faulty(base, plan)
            var processed: [String] = []
            let giveUp = ContinuousClock.now + .seconds(45)
            while try await base.approximateMessageCount("jobs") > 0, ContinuousClock.now < giveUp {
                let batch: [QueueMessage]
                do { batch = try await queue.getMessages("jobs", count: 16, visibilityTimeout: 1) } catch let error
                    as StorageError where error.isRetryable
                { continue }
                // Nothing visible: the rest waits out a visibility timeout or a reappearance delay.
                if batch.isEmpty { try await fixture.elapse(.seconds(1)) }
                for message in batch {
                    processed.append(message.text)
                    do {
                        try await queue.deleteMessage("jobs", id: message.id, popReceipt: message.popReceipt)
                    } catch let error as StorageError where error.isRetryable || error.code == .messageNotFound {
                        // Redelivered later, or already deleted through a fresher receipt.
                    }
                }
            }
            #expect(Set(processed) == Set((0..<total).map(String.init)))
            #expect(processed.count > total, "no message was delivered twice")
            let counts = plan.counts
            #expect(
                counts.serverBusy > 0 && counts.timedOut > 0 && counts.duplicates > 0 && counts.reappearances > 0
                    && counts.shuffles > 0)
        }
    }

    @Test func blobOperationsFailTransientlyBeforeOrAfterRunning() async throws {
        let base = CountingBlobService()
        let busy = FaultyBlobService(base, plan: FaultPlan(FaultConfiguration(seed: 1, serverBusyRate: 1)))
        await expectStorageError(.serverBusy, 503) { try await busy.createContainer("disks") }
        #expect(base.calls == 0)
        let timedOut = FaultyBlobService(base, plan: FaultPlan(FaultConfiguration(seed: 1, timeoutRate: 1)))
        await expectStorageError(.operationTimedOut, 500) { try await timedOut.createContainer("disks") }
        #expect(base.calls == 1)
        let calm = FaultyBlobService(base, plan: FaultPlan(FaultConfiguration(seed: 1)))
        try await calm.createContainer("disks")
        #expect(base.calls == 2)
    }
}

/// Wraps a service held as an existential (opened here), as callers holding `any QueueService` do.
private func faulty(_ base: some QueueService, _ plan: FaultPlan) -> any QueueService {
    FaultyQueueService(base, plan: plan)
}
private func faulty(_ base: some TableService, _ plan: FaultPlan) -> any TableService {
    FaultyTableService(base, plan: plan)
}

/// A blob service that only counts Create Container calls; the wrapper's forwarding is what is tested.
private final class CountingBlobService: BlobService {
    private let count = Mutex(0)
    var calls: Int { count.withLock { $0 } }

    struct NotUsed: Error {}

    func createContainer(_ container: String) async throws { count.withLock { $0 += 1 } }
    func putBlockBlob(_ blob: BlobAddress, data: [UInt8], metadata: [String: String], conditions: BlobConditions)
        async throws -> BlobWriteResult
    { throw NotUsed() }
    func getBlob(_ blob: BlobAddress, range: ByteRange?, snapshot: String?, conditions: BlobConditions) async throws
        -> BlobContent
    { throw NotUsed() }
    func blobProperties(_ blob: BlobAddress, snapshot: String?, conditions: BlobConditions) async throws
        -> BlobProperties
    { throw NotUsed() }
    func deleteBlob(
        _ blob: BlobAddress, snapshot: String?, deleteSnapshots: DeleteSnapshots?, conditions: BlobConditions
    ) async throws { throw NotUsed() }
    func listBlobs(container: String, prefix: String, marker: String?, maxResults: Int) async throws -> BlobListing {
        throw NotUsed()
    }
    func setMetadata(_ blob: BlobAddress, _ metadata: [String: String], conditions: BlobConditions) async throws
        -> BlobWriteResult
    { throw NotUsed() }
    func createPageBlob(
        _ blob: BlobAddress, size: UInt64, sequenceNumber: Int64, metadata: [String: String], conditions: BlobConditions
    ) async throws -> BlobWriteResult { throw NotUsed() }
    func putPages(
        _ blob: BlobAddress, offset: UInt64, data: [UInt8], checksum: PageChecksum?, conditions: BlobConditions
    )
        async throws -> BlobWriteResult
    { throw NotUsed() }
    func clearPages(_ blob: BlobAddress, range: ByteRange, conditions: BlobConditions) async throws -> BlobWriteResult {
        throw NotUsed()
    }
    func pageRanges(
        _ blob: BlobAddress, range: ByteRange?, snapshot: String?, previousSnapshot: String?, conditions: BlobConditions
    ) async throws -> PageRangeList { throw NotUsed() }
    func resizePageBlob(_ blob: BlobAddress, size: UInt64, conditions: BlobConditions) async throws -> BlobWriteResult {
        throw NotUsed()
    }
    func setSequenceNumber(_ blob: BlobAddress, _ action: SequenceNumberAction, conditions: BlobConditions) async throws
        -> BlobWriteResult
    { throw NotUsed() }
    func lease(_ blob: BlobAddress, _ action: LeaseAction, conditions: BlobConditions) async throws -> LeaseResult {
        throw NotUsed()
    }
    func snapshot(_ blob: BlobAddress, metadata: [String: String]?, conditions: BlobConditions) async throws -> String {
        throw NotUsed()
    }
}
