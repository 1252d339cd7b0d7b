import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Damaged variants of a qemu-written dynamic VHDX (`VHDXSample`): the file identifier, every header and
/// region table field in turn. Each is refused with the right code, structure, field and absolute
/// offset, or (where the format keeps a second copy) opened with a warning. Metadata, BAT, truncation
/// and the log are in `VHDXTableCorruptionTests`.
@Suite(.ownThreads)
struct VHDXCorruptionTests {
    // MARK: Headers

    static let headerFields = [
        VHDXHeader.Field.signature, VHDXHeader.Field.checksum, VHDXHeader.Field.sequenceNumber,
        VHDXHeader.Field.dataWriteGUID, VHDXHeader.Field.logGUID, VHDXHeader.Field.version,
        VHDXHeader.Field.logLength, VHDXHeader.Field.logOffset, 3000,
    ]

    /// Any byte of either header flipped breaks its CRC: the other header is used, with a warning.
    @Test(arguments: [0, 1], headerFields)
    func oneDamagedHeaderFallsBackToTheOther(copy: Int, field: Int) async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        let offset = VHDXHeader.offsets[copy] + UInt64(field)
        let byte = try SystemFile.openForReading(sample.path).readExactly(1, at: offset)[0]
        try patch(sample.path, at: offset, with: [byte ^ 0x5A])
        let disk = try DiskImage.open(sample.path)
        #expect(try readAll(disk) == sample.expected)
        #expect(disk.warnings.count == 1)
        #expect(disk.warnings.first?.hasPrefix("\(sample.path): header field '") == true)
        #expect(
            disk.warnings.first?.contains("at byte offset \(VHDXHeader.offsets[copy] + UInt64(field == 0 ? 0 : 4))")
                == true)
    }

    @Test func bothHeadersDamagedIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        try patch(sample.path, at: VHDXHeader.offsets[0] + 100, with: [0xFF])
        try patch(sample.path, at: VHDXHeader.offsets[1], with: Array("HEAD".utf8))
        let error = try #require(vhdxOpenError(sample.path))
        #expect(error.code == .badChecksum)
        #expect(error.structure == .vhdxHeader)
        #expect(error.offset == VHDXHeader.offsets[0] + 4)
        #expect(error.description.contains("the other copy is damaged too (signature at byte offset 131072"))
    }

    /// Valid checksums, values out of the format: refused naming the field of the current header.
    @Test(
        arguments: [
            (VHDXHeader.Field.version, [2, 0], VHDError.Code.unsupportedVersion, "version"),
            (VHDXHeader.Field.logVersion, [1, 0], .unsupportedVersion, "log version"),
            (VHDXHeader.Field.logLength, [0x39, 0x30, 0, 0], .badField, "log length"),
            (VHDXHeader.Field.logOffset, [0, 0x10, 0, 0, 0, 0, 0, 0], .badField, "log offset"),
            (VHDXHeader.Field.logOffset, [0, 0, 0, 0, 0, 1, 0, 0], .outOfBounds, "log offset"),
        ] as [(Int, [UInt8], VHDError.Code, String)])
    func headerValuesAreChecked(field: Int, bytes: [UInt8], code: VHDError.Code, name: String) async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        try patchHeaders(sample.path, field: field, with: bytes)
        let error = try #require(vhdxOpenError(sample.path))
        #expect(error.code == code)
        #expect(error.structure == .vhdxHeader)
        #expect(error.field == name)
        #expect(VHDXHeader.offsets.map { $0 + UInt64(field) }.contains(error.offset ?? 0))
    }

    @Test func logOverlappingTheBATIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        try patchHeaders(sample.path, field: VHDXHeader.Field.logOffset, with: le(sample.regions.bat.range.offset))
        let error = try #require(vhdxOpenError(sample.path))
        #expect(error.code == .overlappingStructures)
        #expect(error.description.contains("overlaps the log"))
    }

    @Test func headersWithTheSameSequenceNumberMustAgree() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        // Both copies the same header, sequence number 7: either is current.
        try patchHeaders(
            sample.path, at: [sample.header.offset], field: VHDXHeader.Field.sequenceNumber, with: le(UInt64(7)))
        let current = try SystemFile.openForReading(sample.path).readExactly(VHDXHeader.size, at: sample.header.offset)
        for offset in VHDXHeader.offsets { try patch(sample.path, at: offset, with: current) }
        #expect(try readAll(DiskImage.open(sample.path)) == sample.expected)
        try patchHeaders(
            sample.path, at: [VHDXHeader.offsets[0]], field: VHDXHeader.Field.dataWriteGUID, with: guidBytes(UUID()))
        #expect(vhdxOpenError(sample.path)?.code == .copiesDiffer)
    }

    /// The header with the greater sequence number is current, whichever copy it is.
    @Test func currentHeaderIsTheGreaterSequenceNumber() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        let other = VHDXHeader.offsets.first { $0 != sample.header.offset }!
        try patchHeaders(
            sample.path, at: [other], field: VHDXHeader.Field.sequenceNumber, with: le(sample.header.sequenceNumber + 1)
        )
        try patchHeaders(sample.path, at: [other], field: VHDXHeader.Field.version, with: [9, 0])
        // The other header is now current and valid by its checksum, but its version is wrong.
        let error = try #require(vhdxOpenError(sample.path))
        #expect(error.code == .unsupportedVersion)
        #expect(error.offset == other + UInt64(VHDXHeader.Field.version))
    }

    // MARK: File identifier

    @Test func damagedIdentifierIsRefusedNotReadAsRaw() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        try patch(sample.path, at: 0, with: Array("VHDXFILE".utf8))
        let error = try #require(vhdxOpenError(sample.path))
        #expect(error.code == .badCookie)
        #expect(error.structure == .fileIdentifier)
        #expect(error.offset == 0)
    }

    // MARK: Region table

    @Test(arguments: [0, 1])
    func oneDamagedRegionTableFallsBackToTheOther(copy: Int) async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        try patch(sample.path, at: VHDXRegionTable.offsets[copy] + 20, with: [0xA5])
        let disk = try DiskImage.open(sample.path)
        #expect(try readAll(disk) == sample.expected)
        #expect(disk.warnings.count == 1)
        #expect(
            disk.warnings.first?.hasSuffix("using the region table at byte offset \(VHDXRegionTable.offsets[1 - copy])")
                == true)
        #expect(
            disk.warnings.first?.contains(
                "region table field 'checksum' at byte offset \(VHDXRegionTable.offsets[copy] + 4)") == true)
    }

    @Test func bothRegionTablesDamagedIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        for offset in VHDXRegionTable.offsets { try patch(sample.path, at: offset, with: Array("rege".utf8)) }
        let error = try #require(vhdxOpenError(sample.path))
        #expect(error.code == .badCookie)
        #expect(error.structure == .regionTable)
        #expect(error.offset == VHDXRegionTable.offsets[0])
    }

    @Test func regionTablesThatDisagreeAreRefused() async throws {
        let directory = try TemporaryDirectory()
        let sample = try await VHDXSample(directory)
        let batEntry = Int(sample.regions.bat.entryOffset - VHDXRegionTable.offsets[0])
        try patchRegionTables(
            sample.path, at: [VHDXRegionTable.offsets[1]], field: batEntry + VHDXRegionTable.Field.entryFileOffset,
            with: le(sample.regions.bat.range.offset + (64 << 20)))
        #expect(vhdxOpenError(sample.path)?.code == .copiesDiffer)
    }

    @Test func regionTableFieldsAreChecked() async throws {
        let directory = try TemporaryDirectory()
        let table = VHDXRegionTable.offsets[0]
        var samples = 0
        func check(
            _ patches: [(field: Int, bytes: [UInt8])], _ code: VHDError.Code, _ name: String, at offset: Int,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            samples += 1
            let sample = try await VHDXSample(directory, name: "regions-\(samples).vhdx")
            for (field, bytes) in patches { try patchRegionTables(sample.path, field: field, with: bytes) }
            let error = try #require(vhdxOpenError(sample.path), sourceLocation: sourceLocation)
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.structure == .regionTable, "\(error)", sourceLocation: sourceLocation)
            #expect(error.field == name, "\(error)", sourceLocation: sourceLocation)
            #expect(error.offset == table + UInt64(offset), "\(error)", sourceLocation: sourceLocation)
        }
        let probe = try await VHDXSample(directory, name: "probe.vhdx")
        let bat = Int(probe.regions.bat.entryOffset - table)
        let metadata = Int(probe.regions.metadata.entryOffset - table)
        let batOffset = probe.regions.bat.range.offset
        let count = VHDXRegionTable.Field.entryCount
        let batFileOffset = bat + VHDXRegionTable.Field.entryFileOffset
        let batLength = bat + VHDXRegionTable.Field.entryLength
        let metadataGUID = metadata + VHDXRegionTable.Field.entryGUID
        let metadataRequired = metadata + VHDXRegionTable.Field.entryRequired
        try await check([(count, le(UInt32(2048)))], .badField, "entry count", at: count)
        try await check([(count, le(UInt32(0)))], .badField, "entry count", at: count)
        try await check(
            [(batFileOffset, le(batOffset + 4096))], .badField, "entry \(bat / 32) file offset", at: batFileOffset)
        try await check([(batFileOffset, le(UInt64(0)))], .badField, "entry \(bat / 32) file offset", at: batFileOffset)
        try await check([(batFileOffset, le(UInt64(1) << 40))], .outOfBounds, "BAT file offset", at: batFileOffset)
        try await check(
            [(batFileOffset, le(probe.regions.metadata.range.offset))], .overlappingStructures,
            "metadata region file offset", at: metadata + VHDXRegionTable.Field.entryFileOffset)
        try await check([(batLength, le(UInt32(0)))], .badField, "entry \(bat / 32) length", at: batLength)
        try await check([(batLength, le(UInt32(12345)))], .badField, "entry \(bat / 32) length", at: batLength)
        try await check(
            [(metadataGUID, guidBytes(VHDXRegionTable.batGUID))], .badField, "entry \(metadata / 32) GUID",
            at: metadataGUID)
        // An unknown region: refused when required; skipped when not, which leaves no metadata region.
        try await check(
            [(metadataGUID, guidBytes(UUID())), (metadataRequired, le(UInt32(1)))], .unknownRequired,
            "entry \(metadata / 32) GUID", at: metadataGUID)
        try await check(
            [(metadataGUID, guidBytes(UUID())), (metadataRequired, le(UInt32(0)))], .badField, "entry count", at: count)
    }
}
