import Foundation
import RelayShared
import TestSupport
import Testing

/// Generations 1 to 4 of ext4 disks as raw images and as fixed and dynamic VHDs, into the local store:
/// after each, the segments enqueued so far, applied in seq order by the reference applier, give the
/// source's bytes exactly.
@Suite struct SyncGenerationTests {
    enum Format: String, CaseIterable, Sendable {
        case raw, fixed, dynamic
    }

    static let mib = 1 << 20

    /// Writes the master raw image's current bytes into `source` in the format under test.
    static func export(_ master: String, to source: String, format: Format, first: Bool) async throws {
        switch format {
        case .raw:
            if master != source { try FileManager.default.copyItem(atPath: master, toPath: source) }
        case .fixed, .dynamic:
            // `-n` writes into the existing VHD, which keeps its unique id (the target's identity).
            let subformat = format == .fixed ? "fixed" : "dynamic"
            try await runOK(
                "qemu-img",
                first
                    ? ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=\(subformat)", master, source]
                    : ["convert", "-n", "-f", "raw", "-O", "vpc", master, source])
        }
    }

    @Test(arguments: Format.allCases)
    func generationsReproduceTheSource(format: Format) async throws {
        let harness = try await SyncHarness()
        let master = harness.directory.file("master.img")
        // A raw image of a size that is not whole MiB (raw images are whole sectors): the target rounds it up.
        let size = UInt64(24 * Self.mib) + (format == .raw ? 7 * 512 : 0)
        try await makeExt4Image(at: master, size: size, in: harness.directory, seed: 11)
        let source = format == .raw ? master : harness.directory.file("source.vhd")
        try await Self.export(master, to: source, format: format, first: true)
        let virtualSize = try DiskImage.open(source).virtualSize

        // Generation 1: every non-zero block, no zero block.
        let first = try await harness.sync(source)
        #expect(first.generation == 1 && first.firstSeq == 1 && first.full && !first.resumed)
        if format == .raw {
            #expect(first.plainBytes == (try nonZeroBytes(ofRaw: master, blockSize: 64 << 10)))
        }
        #expect(first.clearedBytes == 0)
        try await harness.applyEnqueued(virtualSize: virtualSize)
        try harness.expectOracleMatches(source)
        try await harness.expectTargetBlob(virtualSize: virtualSize)

        // Generation 2: new data in a few places, one of them 256 KiB at 12 MiB.
        var random = SplitMix64(seed: 2)
        try patch(master, at: UInt64(12 * Self.mib), with: random.bytes(256 << 10))
        try patch(master, at: UInt64(3 * Self.mib + 512), with: random.bytes(100_000))
        try patch(master, at: UInt64(20 * Self.mib), with: random.bytes(4096))
        try await Self.export(master, to: source, format: format, first: false)
        let second = try await harness.sync(source)
        #expect(second.generation == 2 && second.firstSeq == first.lastSeq + 1 && !second.full)
        #expect(second.changedBytes >= 256 << 10 && second.changedBytes <= 640 << 10)
        try await harness.applyEnqueued(virtualSize: virtualSize)
        try harness.expectOracleMatches(source)

        // Generation 3: the 256 KiB become zero again: sent as clears.
        try patch(master, at: UInt64(12 * Self.mib), with: [UInt8](repeating: 0, count: 256 << 10))
        try await Self.export(master, to: source, format: format, first: false)
        let third = try await harness.sync(source)
        #expect(third.generation == 3 && third.firstSeq == second.lastSeq + 1 && !third.full)
        #expect(third.clearedBytes >= 256 << 10 && third.changedBytes == 0)
        try await harness.applyEnqueued(virtualSize: virtualSize)
        try harness.expectOracleMatches(source)

        // Generation 4: nothing changed: one segment without extents still ends the generation.
        let fourth = try await harness.sync(source)
        #expect(fourth.generation == 4 && fourth.segments == 1 && fourth.plainBytes == 0 && fourth.clearedBytes == 0)
        try await harness.applyEnqueued(virtualSize: virtualSize)
        try harness.expectOracleMatches(source)
        let last = try #require(harness.messages[fourth.lastSeq])
        #expect(last.extentCount == 0 && last.generationSegmentCount == 1)

        // The control rows say what was sent.
        let control = TargetControl(services: harness.services, target: harness.target)
        let rows = try await control.generationRows()
        #expect(rows.map(\.generation) == [1, 2, 3, 4])
        #expect(rows.allSatisfy { $0.state == .sent && !$0.sourceChanged })
        #expect(rows.map(\.lastSeq) == [first.lastSeq, second.lastSeq, third.lastSeq, fourth.lastSeq])
        let targetRow = try #require(try await control.targetRow())
        #expect(targetRow.nextSeq == fourth.lastSeq + 1 && targetRow.lastGeneration == 4)
    }

    /// Small segments and blocks: a generation spans many segments, the last one carries the count.
    @Test func manySegmentsCarryTheirCountOnTheLast() async throws {
        let harness = try await SyncHarness()
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: UInt64(16 * Self.mib), in: harness.directory, seed: 5)
        var random = SplitMix64(seed: 6)
        try patch(source, at: UInt64(4 * Self.mib), with: random.bytes(10 * Self.mib))
        let options = SyncOptions(
            blockSize: 4096, codec: .lz4, threads: 2, connections: 3, segmentPlainBytes: 4 << 20,
            maxInFlightBytes: 32 << 20)
        let summary = try await harness.sync(source, options)
        #expect(summary.segments > 1)
        try await harness.applyEnqueued(virtualSize: 16 << 20)
        try harness.expectOracleMatches(source)
        let last = try #require(harness.messages[summary.lastSeq])
        #expect(last.generationSegmentCount == summary.segments)
        #expect(harness.messages.values.filter(\.isLastOfGeneration).count == 1)
    }
}
