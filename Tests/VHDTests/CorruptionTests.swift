import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Damaged variants of each kind of disk: each must be refused with the right code, structure and
/// absolute byte offset, or (where the format has a spare copy) opened with a warning.
@Suite(.ownThreads)
struct CorruptionTests {
    /// A small dynamic disk (64 KiB blocks, three allocated) and where its structures are.
    private func dynamicDisk(_ directory: TemporaryDirectory, name: String = "dyn.vhd") throws
        -> (path: String, layout: TestVHDWriter.Layout, writer: TestVHDWriter)
    {
        var writer = TestVHDWriter(virtualSize: 1 << 20, blockSize: 64 << 10)
        writer.writes = [
            (0, seededBytes(1, 4096)), (200 << 10, seededBytes(2, 8192)),
            ((1 << 20) - 1024, seededBytes(3, 1024)),
        ]
        let path = directory.file(name)
        return (path, try writer.write(to: path), writer)
    }

    /// Rewrites header bytes at `field` and fixes the header checksum, so only the intended check fails.
    private func patchHeader(_ path: String, at field: Int, with bytes: [UInt8]) throws {
        var header = try SystemFile.openForReading(path).readExactly(DynamicHeader.size, at: 512)
        header.replaceSubrange(field..<(field + bytes.count), with: bytes)
        header.setBigEndian(
            header.vhdChecksum(skipping: DynamicHeader.Field.checksum), at: DynamicHeader.Field.checksum)
        try patch(path, at: 512, with: header)
    }

    /// Rewrites both footers of a dynamic disk the same way, with right checksums.
    private func patchFooters(_ path: String, footerOffset: UInt64, at field: Int, with bytes: [UInt8]) throws {
        var footer = try SystemFile.openForReading(path).readExactly(VHDFooter.size, at: 0)
        footer.replaceSubrange(field..<(field + bytes.count), with: bytes)
        footer.setBigEndian(footer.vhdChecksum(skipping: VHDFooter.Field.checksum), at: VHDFooter.Field.checksum)
        try patch(path, at: 0, with: footer)
        try patch(path, at: footerOffset, with: footer)
    }

    private func openError(_ path: String) -> VHDError? {
        #expect(throws: VHDError.self) { try DiskImage.open(path) }
    }

    private func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: T.bitWidth / 8)
        bytes.setBigEndian(value, at: 0)
        return bytes
    }

    @Test func badFooterChecksumOfFixedDisk() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("fixed.vhd")
        let footer = VHDFooter.fixedTarget(virtualSize: 1 << 20, uniqueID: UUID())
        try write([UInt8](repeating: 7, count: 1 << 20) + footer.serialized(), to: path)
        #expect(try DiskImage.open(path).format == .fixed)
        try patch(path, at: (1 << 20) + 100, with: [1])
        let error = openError(path)
        #expect(error?.code == .badChecksum)
        #expect(error?.structure == .footer)
        #expect(error?.offset == (1 << 20) + 64)
        #expect(
            error?.description.hasPrefix("\(path): footer field 'checksum' at byte offset \((1 << 20) + 64): stored 0x")
                == true)
    }

    @Test func damagedFooterOfDynamicDiskFallsBackToTheOtherCopy() throws {
        let directory = try TemporaryDirectory()
        let (path, layout, writer) = try dynamicDisk(directory)
        try patch(path, at: layout.footerOffset + 100, with: [1])
        let fromCopy = try DiskImage.open(path)
        #expect(fromCopy.warnings.count == 1)
        #expect(
            fromCopy.warnings.first?.contains("footer field 'checksum' at byte offset \(layout.footerOffset + 64)")
                == true)
        #expect(fromCopy.warnings.first?.contains("using the footer copy at byte offset 0") == true)
        #expect(try readAll(fromCopy) == writer.expected())

        try patch(path, at: 30, with: [1])
        let error = openError(path)
        #expect(error?.code == .badChecksum)
        #expect(error?.offset == layout.footerOffset + 64)
    }

    @Test func damagedFooterCopyIsAWarning() throws {
        let directory = try TemporaryDirectory()
        let (path, _, writer) = try dynamicDisk(directory)
        try patch(path, at: 0, with: Array("XXXXXXXX".utf8))
        let disk = try DiskImage.open(path)
        #expect(disk.warnings.count == 1)
        #expect(disk.warnings.first?.contains("footer copy field 'cookie' at byte offset 0") == true)
        #expect(try readAll(disk) == writer.expected())
    }

    @Test func footerCopyThatDiffersIsRefused() throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory)
        var copy = try SystemFile.openForReading(path).readExactly(512, at: 0)
        copy.setBigEndian(UInt32(12345), at: 24)
        copy.setBigEndian(copy.vhdChecksum(skipping: 64), at: 64)
        try patch(path, at: 0, with: copy)
        let error = openError(path)
        #expect(error?.code == .footerMismatch)
        #expect(error?.structure == .footerCopy)
        #expect(error?.offset == 0)
    }

    @Test func badHeaderChecksum() throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory, name: "child.vhd")
        try patch(path, at: 512 + 700, with: [0x55])
        let error = openError(path)
        #expect(error?.code == .badChecksum)
        #expect(error?.structure == .dynamicHeader)
        #expect(error?.offset == 548)
        #expect(
            error?.description.hasPrefix("\(path): dynamic header field 'checksum' at byte offset 548: stored 0x")
                == true)
        #expect(error?.description.contains(", computed 0x") == true)
    }

    @Test func wrongHeaderCookie() throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory)
        try patchHeader(path, at: 0, with: Array("cxsparsX".utf8))
        let error = openError(path)
        #expect(error?.code == .badCookie)
        #expect(error?.offset == 512)
    }

    /// Without a cookie at either end a file is a raw image; a fixed VHD whose footer is gone is one.
    @Test func wrongFooterCookieOfFixedDiskMakesARawImage() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("fixed.vhd")
        try write(
            [UInt8](repeating: 7, count: 1 << 20)
                + VHDFooter.fixedTarget(virtualSize: 1 << 20, uniqueID: UUID()).serialized(), to: path)
        try patch(path, at: 1 << 20, with: Array("Conectix".utf8))
        let disk = try DiskImage.open(path)
        #expect(disk.format == .raw)
        #expect(disk.virtualSize == (1 << 20) + 512)
    }

    @Test func truncatedDynamicDisk() throws {
        let directory = try TemporaryDirectory()
        let (path, layout, _) = try dynamicDisk(directory)
        let lastBlock = try #require(layout.blockOffsets.max { $0.value < $1.value })
        #expect(truncate(path, off_t(lastBlock.value + 4096)) == 0)
        let error = openError(path)
        #expect(error?.code == .outOfBounds)
        #expect(error?.structure == .bat)
        #expect(error?.field == "entry \(lastBlock.key)")
        #expect(error?.offset == layout.tableOffset + 4 * UInt64(lastBlock.key))
    }

    @Test func truncatedFixedDiskTail() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("fixed.vhd")
        var footer = VHDFooter.fixedTarget(virtualSize: 2 << 20, uniqueID: UUID())
        footer.currentSize = 4 << 20
        try write([UInt8](repeating: 7, count: 2 << 20) + footer.serialized(), to: path)
        let error = openError(path)
        #expect(error?.code == .outOfBounds)
        #expect(error?.field == "current size")
        #expect(error?.offset == (2 << 20) + 48)
    }

    @Test func batPastEndOfFile() throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory)
        let size = try SystemFile.openForReading(path).size()
        try patchHeader(path, at: DynamicHeader.Field.tableOffset, with: be(size - 512))
        let error = openError(path)
        #expect(error?.code == .outOfBounds)
        #expect(error?.structure == .dynamicHeader)
        #expect(error?.field == "table offset")
        #expect(error?.offset == 512 + 16)
    }

    @Test func batOverlappingTheHeader() throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory)
        try patchHeader(path, at: DynamicHeader.Field.tableOffset, with: be(UInt64(1024)))
        let error = openError(path)
        #expect(error?.code == .overlappingStructures)
        #expect(error?.offset == 512 + 16)
    }

    @Test func hostileTableEntryCountIsRefusedBeforeAllocating() throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory)
        try patchHeader(path, at: DynamicHeader.Field.maxTableEntries, with: be(UInt32.max))
        let error = openError(path)
        #expect(error?.code == .tableTooLarge)
        #expect(error?.field == "max table entries")
        #expect(error?.offset == 512 + 28)
    }

    @Test func tooFewTableEntries() throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory)
        try patchHeader(path, at: DynamicHeader.Field.maxTableEntries, with: be(UInt32(15)))
        let error = openError(path)
        #expect(error?.code == .tooFewTableEntries)
        #expect(error?.offset == 512 + 28)
    }

    @Test(arguments: [UInt32(0), 256, 3 << 20, 512 << 20])
    func badBlockSize(blockSize: UInt32) throws {
        let directory = try TemporaryDirectory()
        let (path, _, _) = try dynamicDisk(directory)
        try patchHeader(path, at: DynamicHeader.Field.blockSize, with: be(blockSize))
        let error = openError(path)
        #expect(error?.code == .badBlockSize)
        #expect(error?.offset == 512 + 32)
    }

    @Test func overlappingBlocks() throws {
        let directory = try TemporaryDirectory()
        let (path, layout, _) = try dynamicDisk(directory)
        // Block 3 (the one at 200 KiB) made to start one sector into block 0.
        let first = try #require(layout.blockOffsets[0])
        try patch(path, at: layout.tableOffset + 4 * 3, with: be(UInt32(first / 512 + 1)))
        let error = openError(path)
        #expect(error?.code == .overlappingStructures)
        #expect(error?.structure == .bat)
        #expect(error?.field == "entry 3")
        #expect(error?.offset == layout.tableOffset + 12)
    }

    @Test func blockOverlappingTheBAT() throws {
        let directory = try TemporaryDirectory()
        let (path, layout, _) = try dynamicDisk(directory)
        try patch(path, at: layout.tableOffset, with: be(UInt32(layout.tableOffset / 512)))
        let error = openError(path)
        #expect(error?.code == .overlappingStructures)
        #expect(error?.field == "entry 0")
        #expect(error?.offset == layout.tableOffset)
    }

    @Test func dataOffsetOutsideTheFile() throws {
        let directory = try TemporaryDirectory()
        let (path, layout, _) = try dynamicDisk(directory)
        try patchFooters(
            path, footerOffset: layout.footerOffset, at: VHDFooter.Field.dataOffset,
            with: be(UInt64.max - 100))
        let error = openError(path)
        #expect(error?.code == .outOfBounds)
        #expect(error?.structure == .footer)
        #expect(error?.offset == layout.footerOffset + 16)
    }

    /// A child and its parent, for the parent-side failures.
    private func child(_ directory: TemporaryDirectory) throws -> (
        child: String, parent: String, layout: TestVHDWriter.Layout
    ) {
        let (parentPath, _, parent) = try dynamicDisk(directory, name: "parent.vhd")
        var child = TestVHDWriter(virtualSize: 1 << 20, blockSize: 64 << 10)
        child.parent = .windows(parentPath: parentPath, uniqueID: parent.uniqueID)
        child.writes = [(4096, seededBytes(9, 512))]
        let childPath = directory.file("child.vhd")
        return (childPath, parentPath, try child.write(to: childPath))
    }

    @Test func parentMissing() throws {
        let directory = try TemporaryDirectory()
        let (childPath, parentPath, layout) = try child(directory)
        unlink(parentPath)
        let error = openError(childPath)
        #expect(error?.code == .parentMissing)
        #expect(error?.structure == .parentLocator)
        #expect(error?.offset == layout.locatorEntryOffsets.first)
        #expect(error?.description.contains(parentPath) == true)
    }

    @Test func parentUniqueIDMismatch() throws {
        let directory = try TemporaryDirectory()
        let (childPath, parentPath, _) = try child(directory)
        try TestVHDWriter(virtualSize: 1 << 20, blockSize: 64 << 10).write(to: parentPath)
        let error = openError(childPath)
        #expect(error?.code == .parentMismatch)
        #expect(error?.structure == .dynamicHeader)
        #expect(error?.offset == 512 + 40)
    }

    @Test func parentLocatorOutsideTheFile() throws {
        let directory = try TemporaryDirectory()
        let (childPath, _, layout) = try child(directory)
        let entry = try #require(layout.locatorEntryOffsets.first)
        try patchHeader(childPath, at: Int(entry - 512) + 16, with: be(UInt64(1) << 40))
        let error = openError(childPath)
        #expect(error?.code == .badParentLocator)
        #expect(error?.offset == entry)
    }

    /// Old Virtual PC wrote 511-byte footers; they are read deliberately, with a warning.
    @Test func footerOf511Bytes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("old.vhd")
        let data = seededBytes(5, 1 << 20)
        try write(
            data + VHDFooter.fixedTarget(virtualSize: 1 << 20, uniqueID: UUID()).serialized().dropLast(), to: path)
        let disk = try DiskImage.open(path)
        #expect(disk.format == .fixed)
        #expect(disk.virtualSize == 1 << 20)
        #expect(disk.warnings.first?.contains("511 bytes") == true)
        #expect(try readAll(disk) == data)
    }
}
