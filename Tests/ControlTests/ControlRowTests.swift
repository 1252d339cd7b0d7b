import Foundation
import RelayShared
import Testing

@Suite(.ownThreads) struct ControlRowTests {
    static let target = try! TargetName("disks/dir/vm1.vhd")
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// What a table answers: the entity as written, plus an ETag.
    static func stored(_ entity: TableEntity) -> TableEntity {
        var entity = entity
        entity.etag = "W/\"datetime'2026-12-02T00%3A00%3A00.0000000Z'\""
        return entity
    }

    @Test func targetRowRoundTrips() throws {
        let row = TargetRow(
            target: Self.target, identity: TargetIdentity(sourceID: UUID(), virtualSize: 10 << 30),
            nextSeq: 42, lastGeneration: 3, fullSyncRequired: true)
        let entity = row.entity
        #expect(entity.partitionKey == "disks:dir%2Fvm1.vhd")
        #expect(entity.rowKey == "target")
        var expected = row
        expected.etag = Self.stored(entity).etag
        #expect(try TargetRow(entity: Self.stored(entity)) == expected)
    }

    @Test(arguments: [GenerationRow.State.sending, .sent, .applied, .abandoned])
    func generationRowRoundTrips(_ state: GenerationRow.State) throws {
        let row = GenerationRow(
            target: Self.target, generation: 7, state: state, firstSeq: 100, lastSeq: state == .sending ? nil : 120,
            full: true, sourceChanged: true, host: "backup-01", startedAt: Self.now,
            sentAt: state == .sending ? nil : Self.now, appliedAt: state == .applied ? Self.now : nil,
            plainBytes: 1 << 30, storedBytes: 300 << 20,
            snapshot: state == .applied ? "2026-12-02T17:00:00.1234567Z" : nil)
        #expect(row.entity.rowKey == "gen-0000000007")
        var expected = row
        expected.etag = Self.stored(row.entity).etag
        #expect(try GenerationRow(entity: Self.stored(row.entity)) == expected)
        #expect(row.segmentCount == (state == .sending ? nil : 21))
    }

    @Test func segmentRowRoundTripsThroughTheMessageChecks() throws {
        let row = SegmentRow(message: ControlMessageTests.sample(), poisonReason: "segment digest mismatch")
        #expect(row.entity.rowKey == "seg-00000000000000000017")
        var expected = row
        expected.etag = Self.stored(row.entity).etag
        #expect(try SegmentRow(entity: Self.stored(row.entity)) == expected)
    }

    @Test func cursorRowRoundTrips() throws {
        let row = CursorRow(target: Self.target, appliedSeq: 99, epoch: 5, appliedBytes: 12345, updatedAt: Self.now)
        var expected = row
        expected.etag = Self.stored(row.entity).etag
        #expect(try CursorRow(entity: Self.stored(row.entity)) == expected)
    }

    @Test func rowsOfAnotherPartitionOrKeyAreRefused() throws {
        var cursor = CursorRow(target: Self.target, updatedAt: Self.now).entity
        cursor.partitionKey = "disks:other.vhd"
        #expect(throws: ControlError.self) { try CursorRow(entity: cursor) }

        var generation = GenerationRow(
            target: Self.target, generation: 7, firstSeq: 1, full: false, host: "h",
            startedAt: Self.now
        ).entity
        generation.rowKey = ControlNames.generationRow(8)
        #expect(throws: ControlError.self) { try GenerationRow(entity: generation) }

        var segment = SegmentRow(message: ControlMessageTests.sample()).entity
        segment.rowKey = ControlNames.segmentRow(18)
        #expect(throws: ControlError.self) { try SegmentRow(entity: segment) }
    }

    @Test func tamperedValuesAreRefused() throws {
        var cursor = CursorRow(target: Self.target, updatedAt: Self.now).entity
        cursor["appliedSeq"] = .int64(-1)
        #expect(throws: ControlError.self) { try CursorRow(entity: cursor) }
        cursor["appliedSeq"] = .string("5")
        #expect(throws: ControlError.self) { try CursorRow(entity: cursor) }

        var sent = GenerationRow(
            target: Self.target, generation: 1, state: .sent, firstSeq: 1, lastSeq: 3, full: false,
            host: "h", startedAt: Self.now
        ).entity
        sent["lastSeq"] = nil
        let error = #expect(throws: ControlError.self) { try GenerationRow(entity: sent) }
        #expect(error?.code == .missingField)
        sent["lastSeq"] = .int64(3)
        sent["state"] = .string("done")
        #expect(throws: ControlError.self) { try GenerationRow(entity: sent) }

        var segment = SegmentRow(message: ControlMessageTests.sample()).entity
        segment["bytes"] = .int64(Int64(SegmentFormat.maxSegmentSize) + 1)
        #expect(throws: ControlError.self) { try SegmentRow(entity: segment) }
        segment["bytes"] = .int64(1000)
        segment["blob"] = .string("elsewhere")
        #expect(throws: ControlError.self) { try SegmentRow(entity: segment) }
    }

    @Test func rowKeysSortNumericallyAndParseBack() {
        #expect(ControlNames.generationRow(9) < ControlNames.generationRow(10))
        #expect(ControlNames.segmentRow(99) < ControlNames.segmentRow(100))
        #expect(ControlNames.generation(ofRow: "gen-0000000042") == 42)
        #expect(ControlNames.seq(ofRow: ControlNames.segmentRow(ControlNames.maxSeq)) == ControlNames.maxSeq)
        for bad in [
            "gen-42", "gen-000000004x", "seg-0000000000000000000", "cursor", "gen-0000000000",
            "seg-99999999999999999999",
        ] {
            #expect(ControlNames.generation(ofRow: bad) == nil && ControlNames.seq(ofRow: bad) == nil)
        }
    }

    @Test func segmentBlobNamesSortByGenerationAndSeq() throws {
        let digest = XXH128(high: 1, low: 2)
        let names = [(1, 1), (1, 2), (1, 10), (2, 11), (10, 12)].map {
            ControlNames.segmentBlob(target: Self.target, generation: UInt64($0.0), seq: UInt64($0.1), digest: digest)
        }
        #expect(names == names.sorted())
        #expect(names.allSatisfy { $0.hasPrefix(ControlNames.segmentBlobPrefix(target: Self.target)) })
        #expect(
            !ControlNames.clientLockBlob(target: Self.target).hasPrefix(
                ControlNames.segmentBlobPrefix(target: Self.target)))
    }

    @Test func identityRefusesAnotherSourceOrSize() throws {
        let identity = TargetIdentity(sourceID: UUID(), virtualSize: 1 << 30)
        let read = try TargetIdentity(metadata: identity.metadata, blob: "disks/x")
        #expect(read == identity)
        try read.check(matches: identity, target: Self.target)
        let otherSource = TargetIdentity(sourceID: UUID(), virtualSize: 1 << 30)
        #expect(throws: ControlError.self) { try read.check(matches: otherSource, target: Self.target) }
        let otherSize = TargetIdentity(sourceID: identity.sourceID, virtualSize: 2 << 30)
        let error = #expect(throws: ControlError.self) { try read.check(matches: otherSize, target: Self.target) }
        #expect(error?.code == .identityMismatch)
        #expect(throws: ControlError.self) { try TargetIdentity(metadata: [:], blob: "disks/x") }
    }

    @Test func lockHolderRoundTripsThroughMetadata() {
        let holder = ClientLockHolder(host: "backup-01", processID: 4242, startedAt: Self.now)
        #expect(ClientLockHolder(metadata: holder.metadata) == holder)
        #expect(ClientLockHolder(metadata: ["relayhost": "x"]) == nil)
    }
}
