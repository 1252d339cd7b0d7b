import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// A dynamic VHD whose every block holds a garbage sector bitmap (alternate sectors set) and no data (a
/// sparse file: bitmaps only): the extents stay one per block instead of one per sector run, so memory
/// follows the BAT, not what the bitmaps claim.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct HostileBitmapTests {
    @Test func garbageBitmapsGiveOneExtentPerBlock() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("hostile.vhd")
        let blockBytes: UInt64 = 2 << 20
        let virtualSize: UInt64 = 16 << 30
        let blocks = Int(virtualSize / blockBytes)
        let tableOffset: UInt64 = 1536
        let tableLength = UInt64((blocks * 4 + 511) / 512 * 512)
        let firstBlock = tableOffset + tableLength
        let footerOffset = firstBlock + UInt64(blocks) * (512 + blockBytes)

        let file = try SystemFile.create(path)
        try file.truncate(to: footerOffset + 512)
        let footer = VHDFooter(
            dataOffset: 512, timestamp: 0, creatorApplication: "test", creatorVersion: 0x0001_0000,
            creatorHostOS: "Wi2k",
            originalSize: virtualSize, currentSize: virtualSize, geometry: DiskGeometry(forSize: virtualSize),
            diskType: .dynamic,
            uniqueID: UUID()
        ).serialized()
        try footer.withUnsafeBytes { try file.write($0, at: 0) }
        try footer.withUnsafeBytes { try file.write($0, at: footerOffset) }
        var header = [UInt8](repeating: 0, count: DynamicHeader.size)
        header.replaceSubrange(0..<8, with: DynamicHeader.cookie)
        header.setBigEndian(UInt64.max, at: 8)
        header.setBigEndian(tableOffset, at: DynamicHeader.Field.tableOffset)
        header.setBigEndian(DynamicHeader.headerVersion, at: DynamicHeader.Field.headerVersion)
        header.setBigEndian(UInt32(blocks), at: DynamicHeader.Field.maxTableEntries)
        header.setBigEndian(UInt32(blockBytes), at: DynamicHeader.Field.blockSize)
        header.setBigEndian(
            header.vhdChecksum(skipping: DynamicHeader.Field.checksum), at: DynamicHeader.Field.checksum)
        try header.withUnsafeBytes { try file.write($0, at: 512) }
        var table = [UInt8](repeating: 0, count: blocks * 4)
        let bitmap = [UInt8](repeating: 0x55, count: 512)
        for index in 0..<blocks {
            let offset = firstBlock + UInt64(index) * (512 + blockBytes)
            table.setBigEndian(UInt32(offset / 512), at: 4 * index)
            try bitmap.withUnsafeBytes { try file.write($0, at: offset) }
        }
        try table.withUnsafeBytes { try file.write($0, at: tableOffset) }

        let disk = try DiskImage.open(path)
        let extents = try disk.allocatedExtents()
        #expect(extents.count == blocks)
        // Each extent spans the block's set sectors: the second to the last.
        #expect(extents.first == ByteRange(offset: 512, length: blockBytes - 512))
    }
}
