import Foundation
import RelayShared
import RelayWorkerKit
import TestSupport
import Testing

/// A temp blob damaged after it was enqueued: the worker poisons its seq and the target stops there;
/// `relay-client sync` of the same generation resends the seq (same extents, another digest) and the
/// target then equals the source. When the source changed meanwhile the resend is refused, and abandon
/// plus a full sync repairs the target instead (docs/replication-contract.md, "Segment rows and poison").
@Suite(.timeLimit(.minutes(5))) struct PoisonResendTests {
    typealias EndToEnd = WorkerEndToEndTests

    /// The names of the temp blobs of `seq` (generation `generation`).
    static func tempBlobs(seq: UInt64, generation: UInt64, services: StorageServices) async throws -> [String] {
        let prefix =
            ControlNames.generationBlobPrefix(target: EndToEnd.target, generation: generation)
            + "s" + ControlNames.segmentRow(seq).dropFirst("seg-".count)
        return try await services.blob.listBlobs(
            container: ControlNames.defaultContainer, prefix: prefix, marker: nil, maxResults: 10
        ).items.map(\.name)
    }

    /// Flips a byte in the middle of the temp blob of `seq` (generation `generation`).
    static func damageTempBlob(seq: UInt64, generation: UInt64, services: StorageServices) async throws {
        let blobs = try await tempBlobs(seq: seq, generation: generation, services: services)
        let name = try #require(blobs.first)
        let address = BlobAddress(container: ControlNames.defaultContainer, name: name)
        var bytes = try await services.blob.getBlob(address, range: nil, snapshot: nil, conditions: .none).data
        bytes[bytes.count / 2] ^= 0x5A
        _ = try await services.blob.putBlockBlob(address, data: bytes, metadata: [:], conditions: .none)
    }

    static func poisonedSeqs(_ services: StorageServices) async throws -> [UInt64] {
        try await TargetStatus.load(TargetControl(services: services, target: EndToEnd.target)).poisoned.map(\.seq)
    }

    @Test func aResendOfTheSameGenerationRepairsAPoisonedSeq() async throws {
        let storage = try await LocalStorage()
        let source = try await EndToEnd.Source(format: .dynamic, in: storage.directory)
        let first = try await EndToEnd.sync(source, services: storage.services)
        try await Self.damageTempBlob(seq: first.firstSeq, generation: 1, services: storage.services)

        guard case .drainedWithPoison = try await drain(storage.services) else {
            Issue.record("the damaged segment was not poisoned")
            return
        }
        #expect(try await Self.poisonedSeqs(storage.services) == [first.firstSeq])
        let control = TargetControl(services: storage.services, target: EndToEnd.target)
        let refused = try #require(try await control.segmentRows().first { $0.message.seq == first.firstSeq })

        // The same generation, resent: not a new one.
        let resend = try await EndToEnd.sync(source, services: storage.services)
        #expect(resend.generation == 1 && resend.resentSeqs == [first.firstSeq])
        // Another temp blob (the name ends with the segment's digest), the same plain bytes.
        let blobs = try await Self.tempBlobs(seq: first.firstSeq, generation: 1, services: storage.services)
        #expect(blobs.count == 2 && blobs.contains(refused.message.blob))
        #expect(resend.plainBytes == refused.message.plainBytes)

        #expect(try await drain(storage.services) == .drained)
        try await EndToEnd.expectTargetEqualsSource(source, services: storage.services)
        #expect(try await control.generationRow(1)?.state == .applied)
        #expect(try await Self.poisonedSeqs(storage.services).isEmpty)

        // The next sync is generation 2, incremental, continuing the seqs.
        var random = SplitMix64(seed: 31)
        try await source.change(at: 6 << 20, random.bytes(200_000))
        let second = try await EndToEnd.sync(source, services: storage.services)
        #expect(
            second.generation == 2 && !second.full && second.firstSeq == first.lastSeq + 1 && second.resentSeqs.isEmpty)
        #expect(try await drain(storage.services) == .drained)
        try await EndToEnd.expectTargetEqualsSource(source, services: storage.services)
    }

    @Test func aSourceChangedSinceIsRefusedThenAbandonAndAFullSyncRepair() async throws {
        let storage = try await LocalStorage()
        let source = try await EndToEnd.Source(format: .fixed, in: storage.directory)
        let first = try await EndToEnd.sync(source, services: storage.services)
        try await Self.damageTempBlob(seq: first.lastSeq, generation: 1, services: storage.services)
        guard case .drainedWithPoison = try await drain(storage.services) else {
            Issue.record("the damaged segment was not poisoned")
            return
        }
        // The last segment covers the end of the data: change a block it sent.
        let control = TargetControl(services: storage.services, target: EndToEnd.target)
        let refused = try #require(try await control.segmentRows().first { $0.message.seq == first.lastSeq })
        var random = SplitMix64(seed: 32)
        try await source.change(at: refused.message.span.offset, random.bytes(4096))

        do {
            _ = try await EndToEnd.sync(source, services: storage.services)
            Issue.record("a resend of bytes the source no longer holds was not refused")
        } catch let error as SyncError {
            #expect(error.code == .targetMismatch && error.message.contains("relay-client abandon"))
        }
        #expect(try await Self.poisonedSeqs(storage.services) == [first.lastSeq])

        let report = try await GenerationAbandoner(control: control, pollInterval: .milliseconds(100))
            .abandon(holder: ClientLockHolder(host: "test", processID: 1, startedAt: Date()))
        #expect(report.generation == 1 && report.lastSeq == first.lastSeq - 1)
        let full = try await EndToEnd.sync(source, services: storage.services)
        #expect(full.generation == 2 && full.full && full.firstSeq == first.lastSeq)
        #expect(try await drain(storage.services) == .drained)
        try await EndToEnd.expectTargetEqualsSource(source, services: storage.services)
    }
}
