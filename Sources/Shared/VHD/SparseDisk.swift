import Foundation

/// A dynamic or differencing VHD: footer, dynamic header, BAT and blocks (sector bitmap, then data).
///
/// Sectors whose bitmap bit is clear read as zeros (dynamic) or from the parent (differencing), so a
/// dynamic disk with partial bitmaps reads as Hyper-V reads it; writers such as qemu set every bit.
/// Everything is checked at open and immutable afterwards; only the BAT entries inside the virtual size
/// are kept, so memory is 4 bytes per block.
public final class SparseDisk: VirtualDisk {
    public let path: String
    public let format: DiskFormat
    public let virtualSize: UInt64
    public let footer: VHDFooter
    public let header: DynamicHeader
    public let parent: (any VirtualDisk)?
    public let warnings: [String]
    public var uniqueID: UUID? { footer.uniqueID }
    public var blockSize: UInt32? { header.blockSize }

    static let unallocated = UInt32.max

    private let file: SystemFile
    /// Sector offsets of the blocks inside the virtual size, or `unallocated`.
    private let bat: [UInt32]
    private let blockBytes: UInt64

    /// Checks the layout that `footer` (read at `footerOffset`) describes and reads the BAT.
    /// `dataLimit` is where the trailing footer starts (the file size when it is missing): no structure
    /// may reach past it. `openParent` is called for a differencing disk once its header and locators are
    /// checked, with a reader of a locator's path data.
    init(
        file: SystemFile, footer: VHDFooter, footerOffset: UInt64, dataLimit: UInt64, warnings: [String],
        openParent: (DynamicHeader, _ locatorData: (ParentLocator) throws -> [UInt8]) throws -> (any VirtualDisk)
    ) throws {
        let path = file.path
        let fileSize = try file.size()
        guard footer.dataOffset >= UInt64(VHDFooter.size),
            fits(footer.dataOffset, UInt64(DynamicHeader.size), within: dataLimit)
        else {
            throw VHDError(
                .outOfBounds, path: path, structure: .footer, field: "data offset",
                offset: footerOffset + UInt64(VHDFooter.Field.dataOffset),
                "\(hex(footer.dataOffset)) does not leave room for the 1024-byte dynamic header "
                    + "between the footer copy and byte \(dataLimit)")
        }
        let header = try DynamicHeader(
            parsing: try file.readExactly(DynamicHeader.size, at: footer.dataOffset), path: path,
            offset: footer.dataOffset)
        let blockBytes = UInt64(header.blockSize)
        let blocksNeeded = footer.currentSize / blockBytes + (footer.currentSize % blockBytes == 0 ? 0 : 1)
        let entriesField = header.offset + UInt64(DynamicHeader.Field.maxTableEntries)
        guard UInt64(header.maxTableEntries) >= blocksNeeded else {
            throw VHDError(
                .tooFewTableEntries, path: path, structure: .dynamicHeader, field: "max table entries",
                offset: entriesField,
                "\(header.maxTableEntries) entries of \(blockBytes) bytes cannot hold the current "
                    + "size \(footer.currentSize), which needs \(blocksNeeded)")
        }
        // The BAT's length is checked against the file size before anything is allocated for it.
        let tableLength = (UInt64(header.maxTableEntries) * 4 + 511) / 512 * 512
        guard tableLength <= fileSize else {
            throw VHDError(
                .tableTooLarge, path: path, structure: .dynamicHeader, field: "max table entries",
                offset: entriesField,
                "\(header.maxTableEntries) entries make a \(tableLength)-byte BAT, larger than the "
                    + "whole \(fileSize)-byte file")
        }
        let tableField = header.offset + UInt64(DynamicHeader.Field.tableOffset)
        guard fits(header.tableOffset, tableLength, within: dataLimit) else {
            throw VHDError(
                .outOfBounds, path: path, structure: .dynamicHeader, field: "table offset",
                offset: tableField,
                "the \(tableLength)-byte BAT at \(header.tableOffset) passes byte \(dataLimit), "
                    + "where the file's data ends (truncated file?)")
        }
        let metadata: [(name: String, range: ByteRange)] = [
            ("footer copy", ByteRange(offset: 0, length: UInt64(VHDFooter.size))),
            ("dynamic header", ByteRange(offset: header.offset, length: UInt64(DynamicHeader.size))),
            ("BAT", ByteRange(offset: header.tableOffset, length: tableLength)),
        ]
        for (name, range) in metadata.prefix(2) where overlaps(metadata[2].range, range) {
            throw VHDError(
                .overlappingStructures, path: path, structure: .dynamicHeader, field: "table offset",
                offset: tableField, "the BAT at \(metadata[2].range) overlaps the \(name) at \(range)")
        }

        let tableBytes = try file.readExactly(Int(blocksNeeded) * 4, at: header.tableOffset)
        let bat = (0..<Int(blocksNeeded)).map { tableBytes.bigEndian(UInt32.self, at: 4 * $0) }
        var blocks: [(range: ByteRange, index: Int)] = []
        for (index, entry) in bat.enumerated() where entry != Self.unallocated {
            let entryOffset = header.tableOffset + 4 * UInt64(index)
            let dataLength = min(blockBytes, footer.currentSize - UInt64(index) * blockBytes)
            let block = ByteRange(offset: UInt64(entry) * 512, length: header.bitmapSize + dataLength)
            guard fits(block.offset, block.length, within: dataLimit) else {
                throw VHDError(
                    .outOfBounds, path: path, structure: .bat, field: "entry \(index)",
                    offset: entryOffset,
                    "block \(index) at \(block) passes byte \(dataLimit), where the file's data ends "
                        + "(truncated file?)")
            }
            for (name, range) in metadata where overlaps(block, range) {
                throw VHDError(
                    .overlappingStructures, path: path, structure: .bat, field: "entry \(index)",
                    offset: entryOffset, "block \(index) at \(block) overlaps the \(name) at \(range)")
            }
            blocks.append((block, index))
        }
        blocks.sort { $0.range.offset < $1.range.offset }
        for (previous, next) in zip(blocks, blocks.dropFirst()) where overlaps(previous.range, next.range) {
            throw VHDError(
                .overlappingStructures, path: path, structure: .bat, field: "entry \(next.index)",
                offset: header.tableOffset + 4 * UInt64(next.index),
                "block \(next.index) at \(next.range) overlaps block \(previous.index) at "
                    + "\(previous.range)")
        }

        let parent: (any VirtualDisk)?
        if footer.diskType == .differencing {
            for locator in header.parentLocators where ParentLocator.preference.contains(locator.platformCode) {
                guard locator.dataLength <= ParentLocator.maximumDataLength,
                    fits(locator.dataOffset, UInt64(locator.dataLength), within: fileSize)
                else {
                    throw VHDError(
                        .badParentLocator, path: path, structure: .parentLocator,
                        field: "entry \(locator.index) (\(locator.platformCode))",
                        offset: locator.entryOffset,
                        "\(locator.dataLength) bytes of path data at \(locator.dataOffset) do not lie "
                            + "inside the \(fileSize)-byte file")
                }
            }
            parent = try openParent(header) { try file.readExactly(Int($0.dataLength), at: $0.dataOffset) }
        } else {
            parent = nil
        }

        self.file = file
        self.path = path
        self.format = footer.diskType == .differencing ? .differencing : .dynamic
        self.virtualSize = footer.currentSize
        self.footer = footer
        self.header = header
        self.bat = bat
        self.blockBytes = blockBytes
        self.parent = parent
        self.warnings = warnings + (parent?.warnings ?? [])
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try checkReadRange(path: path, virtualSize: virtualSize, offset: offset, count: buffer.count)
        for piece in BlockPieces(of: ByteRange(offset: offset, length: UInt64(buffer.count)), blockBytes: blockBytes) {
            let part = piece.part(of: buffer)
            let entry = bat[piece.block]
            if entry == Self.unallocated {
                try readBelow(into: part, at: piece.offset)
            } else {
                try readByBitmap(
                    into: part, inBlock: piece.inBlock, blockStart: piece.blockStart,
                    bitmap: try bitmap(piece.block), file: file, dataStart: UInt64(entry) * 512 + header.bitmapSize)
            }
        }
    }

    /// The runs of sectors this file holds, from the BAT and the sector bitmaps.
    public func ownAllocatedExtents() throws -> [ByteRange] {
        var extents: [ByteRange] = []
        for block in BlockPieces(of: ByteRange(offset: 0, length: virtualSize), blockBytes: blockBytes)
        where bat[block.block] != Self.unallocated {
            extents += try bitmap(block.block).presentExtents(length: block.length, at: block.offset)
        }
        return coalesced(extents)
    }

    /// This file's runs plus, for a differencing disk, the parent's extents inside this disk's size.
    public func allocatedExtents() throws -> [ByteRange] {
        try withInheritedExtents(try ownAllocatedExtents())
    }

    private func bitmap(_ index: Int) throws -> SectorBitmap {
        var bytes = [UInt8](repeating: 0, count: Int(header.bitmapSize))
        try bytes.withUnsafeMutableBytes { buffer in
            try readFully(file, into: buffer, at: UInt64(bat[index]) * 512, structure: .blockBitmap)
        }
        return SectorBitmap(bytes: bytes)
    }
}
