import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Damaged metadata, BAT entries, truncated files, a non-empty log and random damage, on the qemu-written
/// `VHDXSample`: refused with the right code, structure, field and offset, or read as the states say;
/// never a crash.
@Suite(.ownThreads)
struct VHDXTableCorruptionTests {
    /// Applies `patches` (absolute offset, bytes) to a fresh sample and returns the refusal.
    private func refusal(
        _ directory: TemporaryDirectory, _ name: String, _ patches: (VHDXSample) throws -> [(UInt64, [UInt8])],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (VHDXSample, VHDError) {
        let sample = try await VHDXSample(directory, name: name + ".vhdx")
        for (offset, bytes) in try patches(sample) { try patch(sample.path, at: offset, with: bytes) }
        return (
            sample,
            try #require(vhdxOpenError(sample.path, sourceLocation: sourceLocation), sourceLocation: sourceLocation)
        )
    }

    private func expect(
        _ error: VHDError, _ code: VHDError.Code, _ structure: VHDError.Structure, _ field: String, at offset: UInt64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.structure == structure, "\(error)", sourceLocation: sourceLocation)
        #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
        #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation)
    }

    // MARK: Metadata

    @Test func metadataTableIsChecked() async throws {
        let directory = try TemporaryDirectory()
        var (sample, error) = try await refusal(directory, "signature") {
            [($0.regions.metadata.range.offset, Array("metadatX".utf8))]
        }
        expect(error, .badCookie, .metadataTable, "signature", at: sample.regions.metadata.range.offset)
        (sample, error) = try await refusal(directory, "count") {
            [($0.regions.metadata.range.offset + UInt64(VHDXMetadata.Field.entryCount), le(UInt16(2048)))]
        }
        expect(error, .badField, .metadataTable, "entry count", at: sample.regions.metadata.range.offset + 10)
    }

    /// Each system item's value out of the format, one at a time.
    @Test(
        arguments: [
            (VHDXMetadata.Item.fileParameters, 0, le(UInt32(3 << 20)), VHDError.Code.badBlockSize, "block size"),
            (VHDXMetadata.Item.fileParameters, 0, le(UInt32(512 << 10)), .badBlockSize, "block size"),
            (VHDXMetadata.Item.fileParameters, 0, le(UInt32(512 << 20)), .badBlockSize, "block size"),
            (VHDXMetadata.Item.fileParameters, 4, le(UInt32(0x10)), .badField, "file parameter flags"),
            (VHDXMetadata.Item.logicalSectorSize, 0, le(UInt32(1024)), .badField, "logical sector size"),
            (VHDXMetadata.Item.physicalSectorSize, 0, le(UInt32(0)), .badField, "physical sector size"),
            (VHDXMetadata.Item.virtualDiskSize, 0, le(UInt64(513)), .badField, "virtual disk size"),
            (VHDXMetadata.Item.virtualDiskSize, 0, le((UInt64(64) << 40) + 512), .badField, "virtual disk size"),
        ] as [(UUID, Int, [UInt8], VHDError.Code, String)])
    func metadataItemValuesAreChecked(item: UUID, field: Int, bytes: [UInt8], code: VHDError.Code, name: String)
        async throws
    {
        let directory = try TemporaryDirectory()
        var place: UInt64 = 0
        let (_, error) = try await refusal(directory, "item") { sample in
            place = try metadataItem(sample, item).data + UInt64(field)
            return [(place, bytes)]
        }
        expect(error, code, .metadataItem, name, at: place)
    }

    /// A virtual size the BAT region cannot describe, and HasParent without a parent locator.
    @Test func metadataThatContradictsTheFileIsRefused() async throws {
        let directory = try TemporaryDirectory()
        var (sample, error) = try await refusal(directory, "huge") {
            [(try metadataItem($0, VHDXMetadata.Item.virtualDiskSize).data, le(UInt64(64) << 40))]
        }
        expect(
            error, .tooFewTableEntries, .regionTable, "BAT length",
            at: sample.regions.bat.entryOffset + UInt64(VHDXRegionTable.Field.entryLength))
        (sample, error) = try await refusal(directory, "parent") {
            [(try metadataItem($0, VHDXMetadata.Item.fileParameters).data + 4, le(UInt32(2)))]
        }
        expect(error, .badField, .metadataTable, "entry count", at: sample.regions.metadata.range.offset + 10)
        #expect(error.detail.contains("no parent locator item"))
    }

    /// Table entries: place, length, duplicates, unknown required items, a missing system item.
    @Test func metadataEntriesAreChecked() async throws {
        let directory = try TemporaryDirectory()
        func entryRefusal(_ name: String, _ item: UUID, _ field: Int, _ bytes: [UInt8]) async throws -> (
            VHDError, UInt64, Int
        ) {
            var entry: UInt64 = 0
            let (sample, error) = try await refusal(directory, name) { sample in
                entry = try metadataItem(sample, item).entry
                return [(entry + UInt64(field), bytes)]
            }
            return (error, entry, Int(entry - sample.regions.metadata.range.offset - 32) / 32)
        }
        var (error, entry, index) = try await entryRefusal(
            "low", VHDXMetadata.Item.page83Data, VHDXMetadata.Field.entryOffset, le(UInt32(4096)))
        expect(error, .outOfBounds, .metadataTable, "entry \(index) offset", at: entry + 16)
        (error, entry, index) = try await entryRefusal(
            "past", VHDXMetadata.Item.page83Data, VHDXMetadata.Field.entryOffset, le(UInt32(64 << 20)))
        expect(error, .outOfBounds, .metadataTable, "entry \(index) offset", at: entry + 16)
        (error, entry, index) = try await entryRefusal(
            "long", VHDXMetadata.Item.page83Data, VHDXMetadata.Field.entryLength, le(UInt32(2 << 20)))
        expect(error, .badField, .metadataTable, "entry \(index) length", at: entry + 20)
        (error, entry, _) = try await entryRefusal(
            "short", VHDXMetadata.Item.fileParameters, VHDXMetadata.Field.entryLength, le(UInt32(4)))
        expect(error, .badField, .metadataTable, "file parameters length", at: entry + 20)
        (error, _, _) = try await entryRefusal(
            "twice", VHDXMetadata.Item.virtualDiskSize, 0, guidBytes(VHDXMetadata.Item.fileParameters))
        #expect(error.code == .badField)
        #expect(error.detail.contains("appears twice"))

        // An unknown item in place of page 83: refused when required, else page 83 is missing.
        for required in [true, false] {
            let sample = try await VHDXSample(directory, name: "unknown-\(required).vhdx")
            let page83 = try metadataItem(sample, VHDXMetadata.Item.page83Data).entry
            try patch(sample.path, at: page83, with: guidBytes(UUID()))
            try patch(
                sample.path, at: page83 + UInt64(VHDXMetadata.Field.entryFlags), with: le(UInt32(required ? 6 : 2)))
            let unknown = try #require(vhdxOpenError(sample.path))
            if required {
                let index = (Int(page83 - sample.regions.metadata.range.offset) - 32) / 32
                expect(unknown, .unknownRequired, .metadataTable, "entry \(index) item id", at: page83)
            } else {
                expect(unknown, .badField, .metadataTable, "entry count", at: sample.regions.metadata.range.offset + 10)
                #expect(unknown.detail.contains("the page 83 data item"))
            }
        }
    }

    // MARK: BAT

    private func batEntry(_ state: UInt64, offsetMiB: UInt64) -> [UInt8] { le(offsetMiB << 20 | state) }

    /// The BAT entry of block `index` (chunk ratio 4096: the first entries are blocks 0, 1, 2 …).
    private func entry(_ sample: VHDXSample, _ index: UInt64) throws -> (offset: UInt64, raw: UInt64) {
        let offset = sample.regions.bat.range.offset + 8 * index
        return (
            offset,
            try SystemFile.openForReading(sample.path).readExactly(8, at: offset).littleEndian(UInt64.self, at: 0)
        )
    }

    @Test func batEntriesAreChecked() async throws {
        let directory = try TemporaryDirectory()
        var batEntryOffset: UInt64 = 0
        func damaged(_ name: String, _ make: @escaping (VHDXSample) throws -> (UInt64, [UInt8])) async throws
            -> VHDError
        {
            let (_, error) = try await refusal(directory, name) { sample in
                let patch = try make(sample)
                batEntryOffset = patch.0
                return [patch]
            }
            return error
        }
        var error = try await damaged("past") { (try entry($0, 2).offset, batEntry(6, offsetMiB: 1 << 20)) }
        expect(error, .outOfBounds, .bat, "entry 2", at: batEntryOffset)
        #expect(error.detail.contains("passes the end of the"))
        error = try await damaged("reserved") { (try entry($0, 2).offset, batEntry(4, offsetMiB: 0)) }
        expect(error, .badField, .bat, "entry 2", at: batEntryOffset)
        error = try await damaged("partial") { sample in
            let (offset, raw) = try entry(sample, 3)
            return (offset, le(raw & ~7 | 7))
        }
        expect(error, .badField, .bat, "entry 3", at: batEntryOffset)
        #expect(error.detail.contains("only a differencing disk"))
        error = try await damaged("metadata") {
            (try entry($0, 1).offset, batEntry(6, offsetMiB: $0.regions.metadata.range.offset >> 20))
        }
        expect(error, .overlappingStructures, .bat, "entry 1", at: batEntryOffset)
        #expect(error.detail.contains("overlaps the metadata region"))
        error = try await damaged("twice") { sample in (try entry(sample, 4).offset, le(try entry(sample, 3).raw)) }
        expect(error, .overlappingStructures, .bat, "entry 4", at: batEntryOffset)
        #expect(error.detail.contains("overlaps the block 3"))
    }

    /// NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED (and the draft's 5) read as zeros and are not allocated.
    @Test(arguments: [0, 1, 2, 3, 5] as [UInt64])
    func absentBlockStatesReadAsZeros(state: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        let (offset, raw) = try entry(sample, 2)
        try patch(sample.path, at: offset, with: le(raw & ~7 | state))
        let disk = try DiskImage.open(sample.path)
        var expected = sample.expected
        expected.replaceSubrange((2 << 20)..<(3 << 20), with: [UInt8](repeating: 0, count: 1 << 20))
        #expect(try readAll(disk) == expected)
        #expect(
            try disk.allocatedExtents() == [
                ByteRange(offset: 0, length: 2 << 20),
                ByteRange(offset: 3 << 20, length: UInt64(VHDXSample.size) - (3 << 20)),
            ])
    }

    // MARK: Truncation

    @Test func truncatedFilesAreRefused() async throws {
        let directory = try TemporaryDirectory()
        let pristine = try await VHDXSample(directory)
        let bytes = try contents(of: pristine.path)
        let lastBlock = try (0..<6).map { (try entry(pristine, $0).raw >> 20) << 20 }.max()!
        let cuts: [UInt64] = [
            1000, 300 << 10, (1 << 20) - 1, pristine.regions.metadata.range.offset + 100,
            pristine.regions.bat.range.offset + 8, lastBlock + 1000,
        ]
        for cut in cuts where cut < UInt64(bytes.count) {
            let path = directory.file("cut-\(cut).vhdx")
            try write(Array(bytes[0..<Int(cut)]), to: path)
            let error = vhdxOpenError(path)
            #expect(error?.code == .outOfBounds, "cut at \(cut): \(String(describing: error))")
        }
    }

    // MARK: Log

    /// One 4 KiB log entry (no descriptors) of `guid` at the start of the log, its CRC right unless `damaged`.
    private func writeLogEntry(_ sample: VHDXSample, guid: UUID, damaged: Bool = false) throws {
        var entry = [UInt8](repeating: 0, count: 4096)
        entry.replaceSubrange(0..<4, with: Array("loge".utf8))
        entry.setLittleEndian(UInt32(4096), at: 8)
        entry.setLittleEndian(UInt64(1), at: 16)
        entry.setMSGUID(guid, at: 32)
        let size = try SystemFile.openForReading(sample.path).size()
        entry.setLittleEndian(size, at: 48)
        entry.setLittleEndian(size, at: 56)
        entry.setLittleEndian(CRC32C.checksum(entry) ^ (damaged ? 1 : 0), at: 4)
        try patch(sample.path, at: sample.header.logOffset, with: entry)
        try patchHeaders(sample.path, field: VHDXHeader.Field.logGUID, with: guidBytes(guid))
    }

    @Test func nonEmptyLogIsRefusedWithHowToRepair() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        try writeLogEntry(sample, guid: UUID())
        let error = try #require(vhdxOpenError(sample.path))
        #expect(error.code == .logNotEmpty)
        #expect(error.structure == .log)
        #expect(error.offset == sample.header.logOffset)
        #expect(error.detail.contains("qemu-img check -r all"))
        #expect(error.detail.contains("Hyper-V"))
    }

    /// A log GUID with no valid entry (a damaged one, or one of another GUID) is an empty log.
    @Test func logWithoutValidEntriesIsEmpty() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        try writeLogEntry(sample, guid: UUID(), damaged: true)
        #expect(try readAll(DiskImage.open(sample.path)) == sample.expected)
        try writeLogEntry(sample, guid: UUID())
        try patchHeaders(sample.path, field: VHDXHeader.Field.logGUID, with: guidBytes(UUID()))
        #expect(try readAll(DiskImage.open(sample.path)) == sample.expected)
    }

    // MARK: Random damage

    /// Random bytes of the structures overwritten, many times: every outcome is a refusal or a disk that
    /// reads to the end, never a crash or another kind of error.
    @Test func randomDamageIsRefusedOrRead() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        let metadata = sample.regions.metadata.range.offset
        let areas: [Range<UInt64>] = [
            0..<(320 << 10), metadata..<(metadata + (64 << 10) + 256),
            sample.regions.bat.range.offset..<(sample.regions.bat.range.offset + 64),
        ]
        var generator = SplitMix64(seed: 2026)
        var refused = 0
        for _ in 0..<150 {
            var saved: [(UInt64, [UInt8])] = []
            for _ in 0..<(1 + generator.next() % 4) {
                let area = areas[Int(generator.next() % UInt64(areas.count))]
                let offset = area.lowerBound + generator.next() % UInt64(area.count)
                let original = try SystemFile.openForReading(sample.path).readExactly(8, at: offset)
                saved.append((offset, original))
                try patch(sample.path, at: offset, with: generator.bytes(Int(1 + generator.next() % 8)))
            }
            do {
                _ = try readAll(DiskImage.open(sample.path))
            } catch is VHDError {
                refused += 1
            }
            for (offset, original) in saved.reversed() { try patch(sample.path, at: offset, with: original) }
        }
        #expect(refused > 0)
        #expect(try readAll(DiskImage.open(sample.path)) == sample.expected)
    }
}
