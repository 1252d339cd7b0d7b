import Foundation
import RelayShared
import RelayWorkerKit
import TestSupport
import Testing

/// Targets are shared out over the instances (docs/worker.md, "Claim"): each holds its share, the
/// surplus moves to an instance that starts, and an instance that stops leaves its share to the others.
@Suite(.timeLimit(.minutes(3))) struct WorkerSpreadTests {
    static let virtualSize: UInt64 = 2 << 20

    /// The shortest lease Azure grants (15 s): a census every 5 s.
    static func configuration() -> WorkerConfiguration { WorkerConfiguration.forTests(drain: false) }

    /// Polls `condition` every 100 ms until it holds; false after `seconds`.
    static func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    static func appliedSeq(_ storage: LocalStorage, _ producer: Producer) async throws -> UInt64 {
        guard
            let entity = try? await storage.table.get(
                producer.table, partitionKey: producer.target.key, rowKey: ControlNames.cursorRow)
        else { return 0 }
        return try CursorRow(entity: entity).appliedSeq
    }

    @Test func targetsAreSharedOutAndTakenBackWhenAnInstanceStops() async throws {
        let storage = try await LocalStorage()
        var producers: [Producer] = []
        var sent: [[Producer.Sent]] = []
        for index in 0..<4 {
            var producer = try await Producer.create(
                services: storage.services, target: try TargetName("disks/vm\(index).vhd"),
                virtualSize: Self.virtualSize)
            let segments = try await producer.generation([
                [.write(UInt64(index) * 4096, pattern(65536, seed: UInt64(index)))]
            ])
            for segment in segments { try await producer.send(segment) }
            producers.append(producer)
            sent.append(segments)
        }
        let first = Worker(services: storage.services, configuration: Self.configuration(), logger: testLogger())
        let firstRun = Task { try await first.run() }
        defer { first.stop() }
        // Alone, the first instance's share is every target.
        #expect(try await Self.eventually(within: 60) { first.claimedTargets.count == 4 })

        let second = Worker(services: storage.services, configuration: Self.configuration(), logger: testLogger())
        let secondRun = Task { try await second.run() }
        defer { second.stop() }
        // Two instances: two targets each, none held twice.
        #expect(
            try await Self.eventually(within: 60) {
                first.claimedTargets.count == 2 && second.claimedTargets.count == 2
            })
        #expect(first.claimedTargets.isDisjoint(with: second.claimedTargets))

        // Both apply what comes next, each its own targets.
        for index in producers.indices {
            let segments = try await producers[index].generation([
                [.write(8192, pattern(4096, seed: 100 + UInt64(index)))], [.clear(0, 512)],
            ])
            for segment in segments { try await producers[index].send(segment) }
            sent[index] += segments
        }
        for (producer, segments) in zip(producers, sent) {
            let last = segments.last!.message.seq
            #expect(try await Self.eventually(within: 60) { try await Self.appliedSeq(storage, producer) == last })
            let oracle = try Oracle(target: producer.target, diskSize: producer.diskSize)
            try oracle.apply(segments)
            #expect(try await producer.readTarget().data == (try oracle.bytes))
        }

        // The second stops: it gives its leases back and leaves the census; the first takes everything.
        second.stop()
        #expect(try await secondRun.value == .stopped)
        #expect(second.claimedTargets.isEmpty)
        #expect(try await Self.eventually(within: 60) { first.claimedTargets.count == 4 })
        let workers = try await storage.table.query(
            producers[0].table, partitionKey: InstanceRow.partition, rowKeyFrom: nil, rowKeyTo: nil,
            pageSize: 100, continuation: nil)
        #expect(workers.entities.count == 1)
        #expect(try workers.entities.map { try InstanceRow(entity: $0).claimed }.allSatisfy { $0 <= 4 })

        first.stop()
        #expect(try await firstRun.value == .stopped)
        let left = try await storage.table.query(
            producers[0].table, partitionKey: InstanceRow.partition, rowKeyFrom: nil, rowKeyTo: nil,
            pageSize: 100, continuation: nil)
        #expect(left.entities.isEmpty)
    }

    /// A heartbeat row is read back through the contract's checks: a forged row is refused, not counted.
    @Test func instanceRowsAreCheckedWhenRead() throws {
        let row = InstanceRow(id: "a", host: "h", pid: 7, claimed: 2, known: 5)
        #expect(try InstanceRow(entity: row.entity) == row)
        var forged = row.entity
        forged.properties["claimed"] = .string("many")
        #expect(throws: ControlError.self) { try InstanceRow(entity: forged) }
        forged = row.entity
        forged.partitionKey = "disks:vm1.vhd"
        #expect(throws: ControlError.self) { try InstanceRow(entity: forged) }
    }
}
