import Foundation
import RelayShared
import TestSupport
import Testing

/// The same generations over real HTTP, through the Azure backend, to relay-devstore: clean, and with
/// 503s, 500s after the operation took effect, and duplicate deliveries injected.
@Suite(.serialized)
struct SyncDevStoreTests {
    static let mib = 1 << 20

    @Test(
        .enabled(if: DevStore.isBuilt, "relay-devstore is not built"), .timeLimit(.minutes(4)),
        arguments: [
            [],
            [
                "--fault-503-rate", "0.05", "--fault-500-rate", "0.05", "--fault-duplicate-rate", "0.2", "--fault-seed",
                "23",
            ],
        ])
    func generationsOverDevStore(faults: [String]) async throws {
        let directory = try TemporaryDirectory()
        let (process, connectionString) = try await DevStore.start(
            directory: directory.file("devstore"), arguments: faults)
        defer { withExtendedLifetime(process) {} }
        let harness = try await SyncHarness(
            configuration: .azure(try ConnectionString(connectionString)), directory: directory)
        let master = directory.file("master.img")
        try await makeExt4Image(at: master, size: UInt64(24 * Self.mib), in: directory, seed: 71)
        var random = SplitMix64(seed: 72)
        try patch(master, at: UInt64(12 * Self.mib), with: random.bytes(6 * Self.mib))
        let source = directory.file("source.vhd")
        try await SyncGenerationTests.export(master, to: source, format: .dynamic, first: true)
        let virtualSize = try DiskImage.open(source).virtualSize
        let options = SyncOptions(threads: 2, connections: 3, segmentPlainBytes: 4 << 20, maxInFlightBytes: 32 << 20)

        let first = try await harness.sync(source, options)
        #expect(first.generation == 1 && first.segments > 1)
        try await harness.applyEnqueued(virtualSize: virtualSize, through: first.lastSeq)
        try harness.expectOracleMatches(source)
        try await harness.expectTargetBlob(virtualSize: virtualSize)

        try patch(master, at: UInt64(6 * Self.mib), with: random.bytes(5 * Self.mib))
        try await SyncGenerationTests.export(master, to: source, format: .dynamic, first: false)
        let second = try await harness.sync(source, options)
        #expect(second.generation == 2 && !second.full && second.firstSeq == first.lastSeq + 1)
        try await harness.applyEnqueued(virtualSize: virtualSize, through: second.lastSeq)
        try harness.expectOracleMatches(source)

        try patch(master, at: UInt64(6 * Self.mib), with: [UInt8](repeating: 0, count: 2 * Self.mib))
        try await SyncGenerationTests.export(master, to: source, format: .dynamic, first: false)
        let third = try await harness.sync(source, options)
        #expect(third.generation == 3 && third.clearedBytes >= UInt64(2 * Self.mib))
        try await harness.applyEnqueued(virtualSize: virtualSize, through: third.lastSeq)
        try harness.expectOracleMatches(source)
        let row = try #require(try await TargetControl(services: harness.services, target: harness.target).targetRow())
        #expect(row.nextSeq == third.lastSeq + 1)
    }
}
