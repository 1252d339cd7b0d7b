import Foundation
import RelayShared
import RelayWorkerKit
import TestSupport
import Testing

/// The worker against the local store, fed by the test producer; the reference applier is the oracle.
@Suite(.timeLimit(.minutes(3))) struct WorkerApplyTests {
    static let target = try! TargetName("disks/vm1.vhd")
    /// Not a whole MiB, so the data area is rounded up as for qemu's dynamic VHDs.
    static let virtualSize: UInt64 = (6 << 20) + 512 * 7

    /// Three generations of overlapping writes and clears, delivered in order.
    static func threeGenerations(_ producer: inout Producer) async throws -> [Producer.Sent] {
        let g1 = try await producer.generation([
            [.write(0, pattern(1 << 20, seed: 1)), .write(1 << 20, pattern(300 << 10, seed: 2))],
            [.write(2 << 20, pattern(3 << 20, seed: 3))],
        ])
        let g2 = try await producer.generation([
            [.write(512, pattern(4096, seed: 4)), .clear(1 << 20, 64 << 10)],
            [.write(4096, pattern(8192, seed: 5)), .write((5 << 20) + 4096, pattern(512, seed: 6))],
            [.clear(0, 512)],
        ])
        let g3 = try await producer.generation([[]])  // a generation without change still ends
        return g1 + g2 + g3
    }

    @Test func appliesInOrderTakesRecoveryPointsAndCleansUp() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let segments = try await Self.threeGenerations(&producer)
        for segment in segments { try await producer.send(segment) }
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)

        #expect(try await drain(storage.services) == .drained)

        let (data, footer) = try await producer.readTarget()
        #expect(data == (try oracle.bytes))
        #expect(footer == producer.footer)
        let cursor = try CursorRow(
            entity: try await storage.table.get(producer.table, partitionKey: Self.target.key, rowKey: "cursor"))
        #expect(cursor.appliedSeq == 6)
        #expect(cursor.appliedBytes == segments.reduce(0) { $0 + $1.message.plainBytes })
        for generation in 1...3 as ClosedRange<UInt64> {
            let row = try GenerationRow(
                entity: try await storage.table.get(
                    producer.table, partitionKey: Self.target.key, rowKey: ControlNames.generationRow(generation)))
            #expect(row.state == .applied)
            let snapshot = try #require(row.snapshot)
            // The recovery point holds exactly the disk as of the generation's last seq.
            let partial = try Oracle(target: Self.target, diskSize: producer.diskSize)
            try partial.apply(segments.filter { $0.message.generation <= generation })
            let snapped = try await storage.blob.getBlob(
                Self.target.address, range: nil, snapshot: snapshot, conditions: .none
            ).data
            #expect(Array(snapped[..<Int(producer.diskSize)]) == (try partial.bytes))
        }
        // Cleanup: rows below the cursor and temp blobs at or below it are gone.
        let rows = try await storage.table.query(
            producer.table, partitionKey: Self.target.key, rowKeyFrom: "seg-", rowKeyTo: "seg-~",
            pageSize: 100, continuation: nil)
        #expect(rows.entities.map(\.rowKey) == [ControlNames.segmentRow(6)])
        let blobs = try await storage.blob.listBlobs(
            container: producer.container, prefix: Self.target.key + "/g", marker: nil, maxResults: 100)
        #expect(blobs.items.isEmpty)
    }

    /// Shuffled, duplicated deliveries (each message enqueued twice, and the queue duplicating and
    /// reordering on top) give the same target as in-order delivery.
    @Test func shuffledAndDuplicatedDeliveryAppliesInSeqOrder() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let segments = try await Self.threeGenerations(&producer)
        var random = SplitMix64(seed: 42)
        for segment in segments { try await producer.upload(segment) }
        for segment in (segments + segments).shuffled(using: &random) {
            try await producer.enqueue(segment.message.encoded())
        }
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)

        let (services, plan) = storage.faulty(FaultConfiguration(seed: 7, duplicateRate: 0.5, shuffle: true))
        #expect(try await drain(services) == .drained)
        #expect(plan.counts.duplicates > 0)
        #expect(plan.counts.shuffles > 0)
        #expect(try await producer.readTarget().data == (try oracle.bytes))
    }

    /// Transient 503 and 500 (after the operation took effect) on every kind of operation.
    @Test func transientFailuresOnEveryOperation() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let segments = try await Self.threeGenerations(&producer)
        for segment in segments { try await producer.send(segment) }
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)

        let (services, plan) = storage.faulty(FaultConfiguration(seed: 11, serverBusyRate: 0.15, timeoutRate: 0.1))
        #expect(try await drain(services) == .drained)
        #expect(plan.counts.serverBusy > 5)
        #expect(plan.counts.timedOut > 2)
        #expect(try await producer.readTarget().data == (try oracle.bytes))
    }

    /// Put Pages that get no answer and land later, after a later write to the same pages: the worker
    /// raises the epoch before repeating each one, so every stale copy is refused and the target is exact.
    @Test func aDelayedCopyOfAWriteOfUnknownOutcomeIsFencedOff() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        // Every generation rewrites the same pages with other bytes (two Put Pages, one of them a clear
        // next time), so a held-up copy of one generation's write is overtaken by the next one's.
        var segments: [Producer.Sent] = []
        for generation in 0..<8 as Range<UInt64> {
            let second: Producer.Extent =
                generation % 2 == 0
                ? .write(3 << 20, pattern(128 << 10, seed: 200 + generation)) : .clear(3 << 20, 128 << 10)
            segments += try await producer.generation([
                [.write(0, pattern(256 << 10, seed: 100 + generation)), second]
            ])
        }
        for segment in segments { try await producer.send(segment) }
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)

        let (services, plan) = storage.faulty(FaultConfiguration(seed: 23, delayedWriteRate: 0.4))
        #expect(try await drain(services) == .drained)
        let counts = plan.counts
        // Which Put Pages the seeded plan holds up depends on the order concurrent writes reach it, so only
        // the floor the refusals below need is fixed: at least two held up, each copy refused.
        #expect(counts.delayedWrites >= 2)
        #expect(counts.staleCopiesRefused > 1)
        #expect(counts.staleCopiesLanded == 0)
        #expect(try await producer.readTarget().data == (try oracle.bytes))
        // Each unknown outcome raised the epoch: the blob's sequence number is past the claim's first one.
        let cursor = try CursorRow(
            entity: try await storage.table.get(producer.table, partitionKey: Self.target.key, rowKey: "cursor"))
        #expect(cursor.epoch > 1)
    }

    /// Forged messages go to the poison queue with their reason; the target is not touched by them.
    @Test func forgedMessagesArePoisoned() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let segments = try await producer.generation([[.write(0, pattern(8192, seed: 9))]])
        try await producer.send(segments[0])
        var forged = segments[0].message
        forged.seq = 2  // never reserved: the target row's next free seq is 2
        try await producer.enqueue(forged.encoded())
        try await producer.enqueue("{\"v\":1,\"target\":\"disks/vm1.vhd\"}")
        try await producer.enqueue("not json")
        let unknown = try ControlMessage(
            parsing: segments[0].message.encoded().replacingOccurrences(of: "vm1.vhd", with: "vm2.vhd"))
        try await producer.enqueue(unknown.encoded())
        var giant = segments[0].message  // decodes to more than any segment may: it would be held whole
        giant.extentCount = 17
        giant.plainBytes = 65 << 20
        giant.span = ByteRange(offset: 0, length: 65 << 20)
        try await producer.enqueue(giant.encoded())
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)

        #expect(try await drain(storage.services) == .drained)

        #expect(try await producer.readTarget().data == (try oracle.bytes))
        let poison = try await drainQueue(storage.queue, ControlNames.poisonQueue(for: producer.queue))
        let reasons = try poison.map { text -> String in
            let record = try JSONValue.parse(Array(text.utf8))
            return try #require(record["reason"]?.stringValue)
        }.sorted()
        #expect(reasons.count == 5)
        #expect(reasons.contains { $0.contains("\(65 << 20) plain bytes, more than") })
        #expect(reasons.contains { $0.contains("seq 2 was never reserved") })
        #expect(reasons.contains { $0.contains("message.gen") || $0.contains("missing") || $0.contains("required") })
        #expect(reasons.contains { $0.contains("not JSON") })
        #expect(reasons.contains { $0.contains("disks/vm2.vhd has no 'target' row") })
    }

    /// A tampered temp blob is refused before any write: the target stops at the seq before it, the
    /// row records why, the poison queue says so. A duplicate of the refused message leaves the row
    /// poisoned; a resend of the seq (other bytes, so another digest) repairs the target.
    @Test func tamperedTempBlobStopsTheTargetUntilResent() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let second: [Producer.Extent] = [
            .write(4096, pattern(65536, seed: 21)), .write(1 << 20, pattern(4096, seed: 22)),
        ]
        var segments = try await producer.generation([
            [.write(0, pattern(65536, seed: 20))],
            second,
            [.write(2 << 20, pattern(4096, seed: 23))],
        ])
        var tampered = segments[1]
        tampered.bytes[SegmentFormat.headerSize + 2 * SegmentFormat.extentEntrySize + 10] ^= 0x40
        for segment in [segments[0], tampered, segments[2]] { try await producer.send(segment) }
        let before = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try before.apply([segments[0]])

        let outcome = try await drain(storage.services)
        guard case .drainedWithPoison(let waiting) = outcome else {
            Issue.record("expected the target to wait for a poisoned segment, got \(outcome)")
            return
        }
        #expect(waiting.count == 1 && waiting[0].contains("seq 2"))
        #expect(try await producer.readTarget().data == (try before.bytes))
        let row = try SegmentRow(
            entity: try await storage.table.get(
                producer.table, partitionKey: Self.target.key, rowKey: ControlNames.segmentRow(2)))
        #expect(row.poisonReason?.contains("digest") == true)
        let poison = try await drainQueue(storage.queue, ControlNames.poisonQueue(for: producer.queue))
        #expect(poison.count == 1 && poison[0].contains("segment 2 of disks/vm1.vhd"))

        // The same message delivered again (the queue's duplicate, or a resend of the same bytes) does
        // not re-arm the row, even with the right bytes in the temp blob now.
        try await producer.send(segments[1])
        #expect(try await drain(storage.services) == .drainedWithPoison(waiting))
        let still = try SegmentRow(
            entity: try await storage.table.get(
                producer.table, partitionKey: Self.target.key, rowKey: ControlNames.segmentRow(2)))
        #expect(still.poisonReason == row.poisonReason && still.message == row.message)
        #expect(try await drainQueue(storage.queue, ControlNames.poisonQueue(for: producer.queue)).isEmpty)
        #expect(try await producer.readTarget().data == (try before.bytes))

        // The client's resend: the same seq and extents, encoded again into other bytes.
        segments[1] = try producer.build(second, generation: 1, seq: 2, generationSegmentCount: nil, codec: .lz4)
        #expect(segments[1].message.segmentDigest != row.message.segmentDigest)
        try await producer.send(segments[1])
        #expect(try await drain(storage.services) == .drained)
        let after = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try after.apply(segments)
        #expect(try await producer.readTarget().data == (try after.bytes))
    }

    /// Restoring the target from a recovery point (a copy from the snapshot restores the snapshot's
    /// sequence number) lowers the blob's sequence number; the next claim still takes an epoch above
    /// every earlier claim's, so a stalled holder of an earlier epoch stays fenced off.
    @Test func epochNeverGoesBackWhenTheSequenceNumberDoes() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let g1 = try await producer.generation([[.write(0, pattern(8192, seed: 30))]])
        try await producer.send(g1[0])
        #expect(try await drain(storage.services) == .drained)
        func cursorEpoch() async throws -> Int64 {
            try CursorRow(
                entity: try await storage.table.get(
                    producer.table, partitionKey: Self.target.key, rowKey: ControlNames.cursorRow)
            ).epoch
        }
        let first = try await cursorEpoch()
        #expect(first >= 1)

        try await storage.blob.setSequenceNumber(Self.target.address, .update(0), conditions: .none)
        let g2 = try await producer.generation([[.write(8192, pattern(8192, seed: 31))]])
        try await producer.send(g2[0])
        #expect(try await drain(storage.services) == .drained)
        let second = try await cursorEpoch()
        #expect(second > first)
        #expect(
            try await storage.blob.blobProperties(Self.target.address, snapshot: nil, conditions: .none).sequenceNumber
                == second)
        await #expect(throws: StorageError.self) {
            try await storage.blob.putPages(
                Self.target.address, offset: 0, data: [UInt8](repeating: 7, count: 512), checksum: nil,
                conditions: BlobConditions(ifSequenceNumberEqual: first))
        }
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(g1 + g2)
        #expect(try await producer.readTarget().data == (try oracle.bytes))
    }

    /// A segment that needs more memory than the whole budget is not applied (it would be held whole,
    /// past the budget), nor poisoned: the target waits for an instance with a budget it fits in.
    @Test func aSegmentOverTheMemoryBudgetWaitsForALargerBudget() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let segments = try await producer.generation([
            [.write(0, pattern(8192, seed: 40))], [.write(1 << 20, pattern(256 << 10, seed: 41))],
        ])
        for segment in segments { try await producer.send(segment) }
        var small = WorkerConfiguration.forTests(drain: false)
        small.memoryBudget = 64 << 10
        let worker = Worker(services: storage.services, configuration: small, logger: testLogger())
        let running = Task { try await worker.run() }
        func cursor() async throws -> UInt64? {
            guard
                let entity = try? await storage.table.get(
                    producer.table, partitionKey: Self.target.key, rowKey: ControlNames.cursorRow)
            else { return nil }
            return try CursorRow(entity: entity).appliedSeq
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while try await cursor() != 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .seconds(1))  // rounds in which the second segment is tried and not applied
        worker.stop()
        #expect(try await running.value == .stopped)
        #expect(try await cursor() == 1)
        let row = try SegmentRow(
            entity: try await storage.table.get(
                producer.table, partitionKey: Self.target.key, rowKey: ControlNames.segmentRow(2)))
        #expect(row.poisonReason == nil)
        let first = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try first.apply([segments[0]])
        #expect(try await producer.readTarget().data == (try first.bytes))

        #expect(try await drain(storage.services) == .drained)
        let all = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try all.apply(segments)
        #expect(try await producer.readTarget().data == (try all.bytes))
    }
}
