import Foundation

// Internal VHDX pieces (little-endian and GUID setters) build the file; CRC32C is public.
@testable import RelayShared

/// A test-only writer of fixed, dynamic and differencing VHDX files with 512- or 4096-byte logical sectors
/// (qemu-img writes neither differencing VHDX nor 4096-byte sectors), with partially present blocks and
/// their sector bitmaps, chosen block states and parent locators.
///
/// Layout: file identifier · headers at 64 and 128 KiB (log GUID zero, an empty 1 MiB log at 1 MiB) ·
/// region tables at 192 and 256 KiB · metadata region at 2 MiB · BAT at 3 MiB · then, each at a whole MiB,
/// the sector bitmap blocks and the payload blocks, in block order. The file is sparse: only what holds
/// bytes is written. In a partially present block the sectors whose bit is clear hold `unsetSectorFill`,
/// bytes a correct reader never returns.
public struct TestVHDXWriter {
    public static let unsetSectorFill: UInt8 = 0xA5
    static let mib: UInt64 = 1 << 20

    /// What a differencing child says about its parent: the linkage and the locator's key/value pairs.
    public struct Parent {
        public var linkage: UUID
        public var entries: [(key: String, value: String)]

        public init(linkage: UUID, entries: [(key: String, value: String)]) {
            self.linkage = linkage
            self.entries = entries
        }

        /// The parent at `parentPath` as Hyper-V names it: `relative_path` `.\NAME` (or `relative`),
        /// `absolute_win32_path` `C:` followed by the path with backslashes.
        public static func at(_ parentPath: String, linkage: UUID, relative: String? = nil) -> Parent {
            let name = parentPath.split(separator: "/").last.map(String.init) ?? parentPath
            return Parent(
                linkage: linkage,
                entries: [
                    ("parent_linkage", "{\(linkage.uuidString.lowercased())}"),
                    ("relative_path", relative ?? ".\\" + name),
                    ("absolute_win32_path", "C:" + parentPath.replacingOccurrences(of: "/", with: "\\")),
                ])
        }
    }

    /// Where the writer put things, for tests that damage files.
    public struct Layout {
        public var metadataOffset: UInt64
        public var batOffset: UInt64
        /// The parent locator item's absolute offset, for a differencing disk.
        public var locatorOffset: UInt64?
        public var blockOffsets: [Int: UInt64]
        public var bitmapOffsets: [Int: UInt64]
        /// BAT index of payload block `i`, and of the sector bitmap entry of chunk `c`.
        public var payloadEntry: (Int) -> Int
        public var bitmapEntry: (Int) -> Int
    }

    public var virtualSize: UInt64
    public var blockSize: UInt32
    public var logicalSectorSize: UInt32
    public var dataWriteGUID = UUID()
    public var page83 = UUID()
    public var parent: Parent?
    /// Sector-aligned writes, applied in order.
    public var writes: [(offset: UInt64, bytes: [UInt8])] = []
    /// States for blocks no write touches: 1 UNDEFINED, 2 ZERO, 3 UNMAPPED (read as zeros).
    public var states: [Int: UInt8] = [:]
    /// A fixed VHDX (LeaveBlocksAllocated): every block present, written or not. Not with a parent.
    public var fixed = false

    public init(virtualSize: UInt64, blockSize: UInt32 = 1 << 20, logicalSectorSize: UInt32 = 512) {
        self.virtualSize = virtualSize
        self.blockSize = blockSize
        self.logicalSectorSize = logicalSectorSize
    }

    /// A dynamic (or `fixed`) disk holding `image`, whose size must be whole logical sectors: one write per
    /// non-zero 64 KiB piece, so that blocks without data stay absent.
    public static func holding(_ image: [UInt8], blockSize: UInt32, logicalSectorSize: UInt32, fixed: Bool = false)
        -> TestVHDXWriter
    {
        precondition(image.count % Int(logicalSectorSize) == 0)
        var writer = TestVHDXWriter(
            virtualSize: UInt64(image.count), blockSize: blockSize, logicalSectorSize: logicalSectorSize)
        writer.fixed = fixed
        for start in stride(from: 0, to: image.count, by: 64 << 10) {
            let piece = image[start..<min(start + (64 << 10), image.count)]
            if piece.contains(where: { $0 != 0 }) { writer.writes.append((UInt64(start), Array(piece))) }
        }
        return writer
    }

    var blockCount: Int { Int((virtualSize + UInt64(blockSize) - 1) / UInt64(blockSize)) }
    var chunkRatio: Int { Int((UInt64(1) << 23) * UInt64(logicalSectorSize) / UInt64(blockSize)) }

    /// What a correct reader returns for this file, given the bytes of its parent (empty without one):
    /// the parent's bytes cut or zero-extended to the virtual size, chosen states zeroed, writes on top.
    public func model(below: [UInt8] = []) -> [UInt8] {
        var bytes = Array(below.prefix(Int(virtualSize)))
        bytes += [UInt8](repeating: 0, count: Int(virtualSize) - bytes.count)
        for (block, _) in states {
            let start = block * Int(blockSize)
            let end = min(start + Int(blockSize), Int(virtualSize))
            bytes.replaceSubrange(start..<end, with: [UInt8](repeating: 0, count: end - start))
        }
        for (offset, data) in writes {
            bytes.replaceSubrange(Int(offset)..<(Int(offset) + data.count), with: data)
        }
        return bytes
    }

    @discardableResult
    public func write(to path: String) throws -> Layout {
        let sector = Int(logicalSectorSize)
        let block = Int(blockSize)
        precondition(writes.allSatisfy { $0.offset % UInt64(sector) == 0 && $0.bytes.count % sector == 0 })
        let ratio = chunkRatio
        let chunks = (blockCount + ratio - 1) / ratio
        let entryCount = parent == nil ? blockCount + max(0, blockCount - 1) / ratio : chunks * (ratio + 1)
        let batLength = max(Self.mib, (UInt64(entryCount * 8) + Self.mib - 1) / Self.mib * Self.mib)
        let metadataOffset = 2 * Self.mib
        let batOffset = 3 * Self.mib
        var next = batOffset + batLength

        // Which sectors of which block this file holds.
        var present: [Int: [Bool]] = [:]
        let sectorsPerBlock = block / sector
        if fixed {
            precondition(parent == nil, "a fixed VHDX has no parent")
            for index in 0..<blockCount { present[index] = [Bool](repeating: false, count: sectorsPerBlock) }
        }
        for (offset, data) in writes {
            for s in stride(from: Int(offset), to: Int(offset) + data.count, by: sector) {
                present[s / block, default: [Bool](repeating: false, count: sectorsPerBlock)][(s % block) / sector] =
                    true
            }
        }
        func sectorsInDisk(_ index: Int) -> Int {
            min(sectorsPerBlock, (Int(virtualSize) - index * block + sector - 1) / sector)
        }
        func isFull(_ index: Int) -> Bool { present[index]!.prefix(sectorsInDisk(index)).allSatisfy { $0 } }

        var bitmapOffsets: [Int: UInt64] = [:]
        if parent != nil {
            for chunk in Set(present.keys.filter { !isFull($0) }.map { $0 / ratio }).sorted() {
                bitmapOffsets[chunk] = next
                next += Self.mib
            }
        }
        var blockOffsets: [Int: UInt64] = [:]
        for index in present.keys.sorted() {
            blockOffsets[index] = next
            next += UInt64(block)
        }

        let file = try SystemFile.create(path)
        func put(_ bytes: [UInt8], at offset: UInt64) throws {
            try bytes.withUnsafeBytes { try file.write($0, at: offset) }
        }

        var identifier = Array("vhdxfile".utf8)
        identifier += Array("vhd-relay tests".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        try put(identifier, at: 0)

        for (copy, offset) in [64 << 10, 128 << 10].enumerated() {
            var header = [UInt8](repeating: 0, count: 4096)
            header.replaceSubrange(0..<4, with: Array("head".utf8))
            header.setLittleEndian(UInt64(copy + 1), at: 8)
            header.setMSGUID(UUID(), at: 16)
            header.setMSGUID(dataWriteGUID, at: 32)
            header.setLittleEndian(UInt16(1), at: 66)
            header.setLittleEndian(UInt32(Self.mib), at: 68)
            header.setLittleEndian(Self.mib, at: 72)
            header.setLittleEndian(CRC32C.checksum(header), at: 4)
            try put(header, at: UInt64(offset))
        }

        var regions = [UInt8](repeating: 0, count: 64 << 10)
        regions.replaceSubrange(0..<4, with: Array("regi".utf8))
        regions.setLittleEndian(UInt32(2), at: 8)
        for (index, region) in [
            (VHDXRegionTable.batGUID, batOffset, UInt32(batLength)),
            (VHDXRegionTable.metadataGUID, metadataOffset, UInt32(Self.mib)),
        ].enumerated() {
            let entry = 16 + 32 * index
            regions.setMSGUID(region.0, at: entry)
            regions.setLittleEndian(region.1, at: entry + 16)
            regions.setLittleEndian(region.2, at: entry + 24)
            regions.setLittleEndian(UInt32(1), at: entry + 28)
        }
        regions.setLittleEndian(CRC32C.checksum(regions), at: 4)
        try put(regions, at: 192 << 10)
        try put(regions, at: 256 << 10)

        // Metadata: the table, then the items from 64 KiB on.
        var items: [(id: UUID, flags: UInt32, data: [UInt8])] = []
        var parameters = [UInt8](repeating: 0, count: 8)
        parameters.setLittleEndian(blockSize, at: 0)
        parameters.setLittleEndian(UInt32(parent != nil ? 2 : fixed ? 1 : 0), at: 4)
        items.append((VHDXMetadata.Item.fileParameters, 4, parameters))
        var size = [UInt8](repeating: 0, count: 8)
        size.setLittleEndian(virtualSize, at: 0)
        items.append((VHDXMetadata.Item.virtualDiskSize, 6, size))
        var page = [UInt8](repeating: 0, count: 16)
        page.setMSGUID(page83, at: 0)
        items.append((VHDXMetadata.Item.page83Data, 6, page))
        var logical = [UInt8](repeating: 0, count: 4)
        logical.setLittleEndian(logicalSectorSize, at: 0)
        items.append((VHDXMetadata.Item.logicalSectorSize, 6, logical))
        items.append((VHDXMetadata.Item.physicalSectorSize, 6, logical))
        if let parent { items.append((VHDXMetadata.Item.parentLocator, 4, Self.locator(parent))) }
        var table = [UInt8](repeating: 0, count: 64 << 10)
        table.replaceSubrange(0..<8, with: Array("metadata".utf8))
        table.setLittleEndian(UInt16(items.count), at: 10)
        var itemOffset = 64 << 10
        var locatorOffset: UInt64?
        for (index, item) in items.enumerated() {
            let entry = 32 + 32 * index
            table.setMSGUID(item.id, at: entry)
            table.setLittleEndian(UInt32(itemOffset), at: entry + 16)
            table.setLittleEndian(UInt32(item.data.count), at: entry + 20)
            table.setLittleEndian(item.flags, at: entry + 24)
            try put(item.data, at: metadataOffset + UInt64(itemOffset))
            if item.id == VHDXMetadata.Item.parentLocator { locatorOffset = metadataOffset + UInt64(itemOffset) }
            itemOffset += (item.data.count + 7) / 8 * 8
        }
        try put(table, at: metadataOffset)

        // BAT, bitmaps and blocks.
        let payloadEntry = { (index: Int) in index + index / ratio }
        let bitmapEntry = { (chunk: Int) in chunk * (ratio + 1) + ratio }
        var bat = [UInt8](repeating: 0, count: entryCount * 8)
        for (index, state) in states where present[index] == nil {
            bat.setLittleEndian(UInt64(state), at: 8 * payloadEntry(index))
        }
        var bitmaps: [Int: [UInt8]] = [:]
        for index in present.keys.sorted() {
            let full = parent == nil || isFull(index)
            bat.setLittleEndian(blockOffsets[index]! | (full ? 6 : 7), at: 8 * payloadEntry(index))
            var data = [UInt8](repeating: full ? 0 : Self.unsetSectorFill, count: block)
            for (offset, bytes) in writes {
                let start = max(Int(offset), index * block)
                let end = min(Int(offset) + bytes.count, (index + 1) * block)
                guard start < end else { continue }
                data.replaceSubrange(
                    (start - index * block)..<(end - index * block),
                    with: bytes[(start - Int(offset))..<(end - Int(offset))])
            }
            // Sparse: zero pieces of a block whose unwritten sectors are zeros are left as holes.
            for start in stride(from: 0, to: block, by: 64 << 10)
            where !full || data[start..<(start + (64 << 10))].contains(where: { $0 != 0 }) {
                try put(Array(data[start..<(start + (64 << 10))]), at: blockOffsets[index]! + UInt64(start))
            }
            guard !full else { continue }
            let chunk = index / ratio
            var bitmap = bitmaps[chunk] ?? [UInt8](repeating: 0, count: Int(Self.mib))
            let firstBit = (index % ratio) * sectorsPerBlock
            for (s, set) in present[index]!.enumerated() where set {
                bitmap[(firstBit + s) / 8] |= 1 << UInt8((firstBit + s) % 8)
            }
            bitmaps[chunk] = bitmap
        }
        for (chunk, bitmap) in bitmaps {
            bat.setLittleEndian(bitmapOffsets[chunk]! | 6, at: 8 * bitmapEntry(chunk))
            try put(bitmap, at: bitmapOffsets[chunk]!)
        }
        try put(bat, at: batOffset)
        try file.truncate(to: next)
        return Layout(
            metadataOffset: metadataOffset, batOffset: batOffset, locatorOffset: locatorOffset,
            blockOffsets: blockOffsets, bitmapOffsets: bitmapOffsets, payloadEntry: payloadEntry,
            bitmapEntry: bitmapEntry)
    }

    /// The parent locator item: VHDX locator type, the pairs, then their UTF-16LE texts.
    static func locator(_ parent: Parent) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20 + 12 * parent.entries.count)
        bytes.setMSGUID(VHDXParentLocator.vhdxLocatorType, at: 0)
        bytes.setLittleEndian(UInt16(parent.entries.count), at: 18)
        for (index, entry) in parent.entries.enumerated() {
            let key = Array(entry.key.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            let value = Array(entry.value.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            bytes.setLittleEndian(UInt32(bytes.count), at: 20 + 12 * index)
            bytes.setLittleEndian(UInt16(key.count), at: 20 + 12 * index + 8)
            bytes += key
            bytes.setLittleEndian(UInt32(bytes.count), at: 20 + 12 * index + 4)
            bytes.setLittleEndian(UInt16(value.count), at: 20 + 12 * index + 10)
            bytes += value
        }
        return bytes
    }
}
