import Foundation
import RelayShared
import RelayWorkerKit
import TestSupport
import Testing

/// Random segment sets with overlapping extents, random delivery order and duplication, and workers
/// killed at random moments: the target always ends equal to the reference applier's result.
@Suite(.timeLimit(.minutes(5))) struct WorkerPropertyTests {
    static let target = try! TargetName("disks/property.vhd")
    static let virtualSize: UInt64 = 4 << 20

    /// One random segment: 1...4 extents in disk order, writes and clears, anywhere on the disk.
    static func randomSegment(_ random: inout SplitMix64, diskSize: UInt64) -> [Producer.Extent] {
        let sectors = diskSize / 512
        let count = Int(random.next() % 4) + 1
        let starts = (0..<count).map { _ in random.next() % sectors }.sorted()
        var extents: [Producer.Extent] = []
        var nextFree: UInt64 = 0
        for start in starts where start >= nextFree {
            let length = min(UInt64(random.next() % 512 + 1), sectors - start) * 512
            if random.next() % 4 == 0 {
                extents.append(.clear(start * 512, Int(length)))
            } else {
                extents.append(.write(start * 512, pattern(Int(length), seed: random.next())))
            }
            nextFree = start + length / 512
        }
        return extents
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func targetEqualsOracleWhateverTheQueueAndCrashes(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        var segments: [Producer.Sent] = []
        for _ in 0..<(Int(random.next() % 3) + 2) {
            let count = Int(random.next() % 6) + 1
            segments += try await producer.generation(
                (0..<count).map { _ in Self.randomSegment(&random, diskSize: producer.diskSize) })
        }
        for segment in segments { try await producer.upload(segment) }
        var deliveries = segments.map { $0.message.encoded() }
        deliveries += deliveries.filter { _ in random.next() % 3 == 0 }
        for text in deliveries.shuffled(using: &random) { try await producer.enqueue(text) }
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)

        let (services, _) = storage.faulty(FaultConfiguration(seed: seed, duplicateRate: 0.2, shuffle: true))
        var configuration = WorkerConfiguration.forTests(drain: false)
        configuration.applyWindow = Int(random.next() % 8) + 1
        for _ in 0..<3 {
            // A worker killed at a random moment: no graceful stop, its lease left to lapse (broken here
            // to save the wait), its messages left invisible until their timeout.
            let worker = Worker(services: services, configuration: configuration, logger: testLogger())
            let run = Task { try await worker.run() }
            try await Task.sleep(for: .milliseconds(Int(random.next() % 400) + 20))
            run.cancel()
            _ = try? await run.value
            _ = try? await storage.blob.lease(Self.target.address, .break(period: 0), conditions: .none)
        }
        configuration.drain = true
        #expect(try await drain(services, configuration) == .drained)
        let (data, footer) = try await producer.readTarget()
        #expect(data == (try oracle.bytes))
        #expect(footer == producer.footer)
    }
}
