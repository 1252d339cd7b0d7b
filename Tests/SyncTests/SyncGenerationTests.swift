import Foundation
import RelayShared
import TestSupport
import Testing

/// Generations 1 to 4 of ext4 disks as raw images, as fixed, dynamic and differencing VHDs and as dynamic
/// VHDXs, into the local store: after each, the segments enqueued so far, applied in seq order by the
/// reference applier, give the source's bytes exactly.
@Suite struct SyncGenerationTests {
    enum Format: String, CaseIterable, Sendable {
        case raw, fixed, dynamic, differencing, vhdx
    }

    /// The differencing source's unique id, the same in every generation (it is the target's identity).
    static let childID = UUID(uuidString: "6F1C7A52-3D4B-4E0A-9B7C-2A1E5D8F0C13")!

    static let mib = 1 << 20

    /// Writes the master raw image's current bytes into `source` in the format under test. A differencing
    /// source is a child (`TestVHDWriter`) over a qemu dynamic VHD of the master as generation 1 saw it,
    /// holding every sector that differs from the parent since, zeros included.
    static func export(_ master: String, to source: String, format: Format, first: Bool) async throws {
        switch format {
        case .differencing:
            let parentPath = source + ".parent.vhd"
            if first {
                try await runOK(
                    "qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", master, parentPath])
            }
            let parent = try DiskImage.open(parentPath)
            var base = [UInt8](repeating: 0, count: Int(parent.virtualSize))
            try base.withUnsafeMutableBytes { try parent.read(into: $0, at: 0) }
            let current = try Array(Data(contentsOf: URL(fileURLWithPath: master)))
            var child = TestVHDWriter(virtualSize: parent.virtualSize)
            child.uniqueID = childID
            child.parent = .windows(parentPath: parentPath, uniqueID: try #require(parent.uniqueID))
            var sector = 0
            while sector * 512 < min(current.count, base.count) {
                let range = sector * 512..<sector * 512 + 512
                if current[range] != base[range] {
                    child.writes.append((offset: UInt64(range.lowerBound), bytes: Array(current[range])))
                }
                sector += 1
            }
            _ = try child.write(to: source)
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
        case .vhdx:
            // 1 MiB blocks, so that later generations allocate new blocks and zero old ones in place.
            try await runOK(
                "qemu-img",
                first
                    ? ["convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=1M", master, source]
                    : ["convert", "-n", "-f", "raw", "-O", "vhdx", master, source])
        }
    }

    @Test(arguments: Format.allCases)
    func generationsReproduceTheSource(format: Format) async throws {
        let harness = try await SyncHarness()
        let master = harness.directory.file("master.img")
        // A raw image of a size that is not whole MiB (raw images are whole sectors): the target rounds it up.
        let size = UInt64(24 * Self.mib) + (format == .raw ? 7 * 512 : 0)
        try await makeExt4Image(at: master, size: size, in: harness.directory, seed: 11)
        let source = format == .raw ? master : harness.directory.file(format == .vhdx ? "source.vhdx" : "source.vhd")
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
        // Judged by the raw image too, not only by our own reader of the source.
        try harness.expectOracleMatches(master)
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
        try harness.expectOracleMatches(master)

        // Generation 3: the 256 KiB become zero again: sent as clears.
        try patch(master, at: UInt64(12 * Self.mib), with: [UInt8](repeating: 0, count: 256 << 10))
        try await Self.export(master, to: source, format: format, first: false)
        let third = try await harness.sync(source)
        #expect(third.generation == 3 && third.firstSeq == second.lastSeq + 1 && !third.full)
        #expect(third.clearedBytes >= 256 << 10 && third.changedBytes == 0)
        try await harness.applyEnqueued(virtualSize: virtualSize)
        try harness.expectOracleMatches(source)
        try harness.expectOracleMatches(master)

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
