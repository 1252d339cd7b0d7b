import Foundation

// Internal VHD structures (DynamicHeader's fields, the big-endian setters, the checksum) build the file.
@testable import RelayShared

/// A test-only writer of dynamic and differencing VHDs with partial sector bitmaps (qemu-img cannot
/// create differencing VHDs). Layout: footer copy · dynamic header at 512 · BAT at 1536 · parent locator
/// data · blocks in `blockOrder` · footer. Sectors whose bit is clear are filled with `unsetSectorFill`,
/// bytes a correct reader never returns.
public struct TestVHDWriter {
    /// What a differencing child says about its parent.
    public struct ParentReference {
        public var uniqueID: UUID
        public var unicodeName: String
        public var locators: [(code: FourCharacterCode, data: [UInt8])]

        public init(uniqueID: UUID, unicodeName: String, locators: [(code: FourCharacterCode, data: [UInt8])]) {
            self.uniqueID = uniqueID
            self.unicodeName = unicodeName
            self.locators = locators
        }

        /// The usual pair: `W2ru` relative to the child, then `W2ku` absolute, as Windows writes them.
        public static func windows(parentPath: String, uniqueID: UUID, relative: String? = nil) -> ParentReference {
            let name = parentPath.split(separator: "/").last.map(String.init) ?? parentPath
            return ParentReference(
                uniqueID: uniqueID, unicodeName: name,
                locators: [("W2ru", utf16LE(".\\" + (relative ?? name))), ("W2ku", utf16LE(parentPath))])
        }
    }

    /// Where the writer put things, for tests that damage files.
    public struct Layout {
        public var headerOffset: UInt64
        public var tableOffset: UInt64
        public var locatorEntryOffsets: [UInt64]
        public var blockOffsets: [Int: UInt64]
        public var footerOffset: UInt64
    }

    public var virtualSize: UInt64
    public var blockSize: UInt32 = 2 << 20
    public var uniqueID = UUID()
    public var parent: ParentReference?
    /// Sector-aligned writes, later ones winning.
    public var writes: [(offset: UInt64, bytes: [UInt8])] = []
    public var unsetSectorFill: UInt8 = 0xEE
    /// Block indexes in file order; nil for ascending.
    public var blockOrder: [Int]?

    public init(virtualSize: UInt64, blockSize: UInt32 = 2 << 20) {
        self.virtualSize = virtualSize
        self.blockSize = blockSize
    }

    public static func utf16LE(_ text: String) -> [UInt8] {
        text.utf16.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
    }

    /// The sectors each write sets: sector index → its 512 bytes.
    private var sectors: [UInt64: [UInt8]] {
        var result: [UInt64: [UInt8]] = [:]
        for write in writes {
            precondition(write.offset % 512 == 0 && write.bytes.count % 512 == 0, "writes are sector-aligned")
            for index in 0..<(write.bytes.count / 512) {
                result[write.offset / 512 + UInt64(index)] = Array(write.bytes[(index * 512)..<(index * 512 + 512)])
            }
        }
        return result
    }

    /// What a reader must return: `base` (the parent's bytes, or nothing) sized to the disk, then the writes.
    public func expected(over base: [UInt8] = []) -> [UInt8] {
        var bytes = Array(base.prefix(Int(virtualSize)))
        bytes += [UInt8](repeating: 0, count: Int(virtualSize) - bytes.count)
        for (sector, data) in sectors {
            bytes.replaceSubrange(Int(sector * 512)..<Int(sector * 512 + 512), with: data)
        }
        return bytes
    }

    /// The byte ranges the writes set, coalesced: what `ownAllocatedExtents()` must return.
    public var writtenExtents: [ByteRange] {
        coalesced(sectors.keys.map { ByteRange(offset: $0 * 512, length: 512) })
    }

    @discardableResult
    public func write(to path: String) throws -> Layout {
        let blockBytes = UInt64(blockSize)
        let sectorsPerBlock = Int(blockBytes / 512)
        let bitmapSize = (sectorsPerBlock / 8 + 511) / 512 * 512
        let entries = Int((virtualSize + blockBytes - 1) / blockBytes)
        let tableOffset: UInt64 = 1536
        let tableLength = UInt64((entries * 4 + 511) / 512 * 512)

        var locatorOffsets: [UInt64] = []
        var next = tableOffset + tableLength
        for locator in parent?.locators ?? [] {
            locatorOffsets.append(next)
            next += UInt64((locator.data.count + 511) / 512 * 512)
        }

        let bySector = sectors
        let usedBlocks = Set(bySector.keys.map { Int($0 / UInt64(sectorsPerBlock)) })
        var blockOffsets: [Int: UInt64] = [:]
        for index in blockOrder ?? usedBlocks.sorted() where usedBlocks.contains(index) {
            blockOffsets[index] = next
            next += UInt64(bitmapSize) + blockBytes
        }
        let footerOffset = next

        var file = [UInt8](repeating: 0, count: Int(footerOffset) + 512)
        let footer = VHDFooter(
            dataOffset: 512, timestamp: 0, creatorApplication: "test", creatorVersion: 0x0001_0000,
            creatorHostOS: "Wi2k", originalSize: virtualSize, currentSize: virtualSize,
            geometry: DiskGeometry(forSize: virtualSize), diskType: parent == nil ? .dynamic : .differencing,
            uniqueID: uniqueID
        ).serialized()
        file.replaceSubrange(0..<512, with: footer)
        file.replaceSubrange(Int(footerOffset)..<Int(footerOffset) + 512, with: footer)

        var header = [UInt8](repeating: 0, count: DynamicHeader.size)
        header.replaceSubrange(0..<8, with: DynamicHeader.cookie)
        header.setBigEndian(UInt64.max, at: 8)
        header.setBigEndian(tableOffset, at: DynamicHeader.Field.tableOffset)
        header.setBigEndian(DynamicHeader.headerVersion, at: DynamicHeader.Field.headerVersion)
        header.setBigEndian(UInt32(entries), at: DynamicHeader.Field.maxTableEntries)
        header.setBigEndian(blockSize, at: DynamicHeader.Field.blockSize)
        var locatorEntryOffsets: [UInt64] = []
        if let parent {
            header.setUUID(parent.uniqueID, at: DynamicHeader.Field.parentUniqueID)
            for (index, unit) in parent.unicodeName.utf16.prefix(256).enumerated() {
                header.setBigEndian(unit, at: DynamicHeader.Field.parentUnicodeName + 2 * index)
            }
            for (index, locator) in parent.locators.enumerated() {
                let entry = DynamicHeader.Field.parentLocators + 24 * index
                header.setBigEndian(locator.code.rawValue, at: entry)
                header.setBigEndian(UInt32((locator.data.count + 511) / 512), at: entry + 4)
                header.setBigEndian(UInt32(locator.data.count), at: entry + 8)
                header.setBigEndian(locatorOffsets[index], at: entry + 16)
                locatorEntryOffsets.append(512 + UInt64(entry))
                file.replaceSubrange(
                    Int(locatorOffsets[index])..<Int(locatorOffsets[index]) + locator.data.count,
                    with: locator.data)
            }
        }
        header.setBigEndian(
            header.vhdChecksum(skipping: DynamicHeader.Field.checksum), at: DynamicHeader.Field.checksum)
        file.replaceSubrange(512..<1536, with: header)

        for index in 0..<entries {
            let entry = blockOffsets[index].map { UInt32($0 / 512) } ?? UInt32.max
            file.setBigEndian(entry, at: Int(tableOffset) + 4 * index)
        }
        for (index, blockOffset) in blockOffsets {
            let dataStart = Int(blockOffset) + bitmapSize
            for sector in 0..<sectorsPerBlock {
                let diskSector = UInt64(index * sectorsPerBlock + sector)
                let at = dataStart + sector * 512
                if let data = bySector[diskSector] {
                    file[Int(blockOffset) + sector / 8] |= 0x80 >> UInt8(sector % 8)
                    file.replaceSubrange(at..<at + 512, with: data)
                } else {
                    file.replaceSubrange(at..<at + 512, with: repeatElement(unsetSectorFill, count: 512))
                }
            }
        }
        try TestSupport.write(file, to: path)
        return Layout(
            headerOffset: 512, tableOffset: tableOffset, locatorEntryOffsets: locatorEntryOffsets,
            blockOffsets: blockOffsets, footerOffset: footerOffset)
    }
}
