import Foundation

/// A VHDX ([MS-VHDX]): fixed, dynamic or differencing, read without ever writing to the file.
///
/// At open: the file identifier, the current header (both CRC-32C checked, a damaged one replaced by the
/// other), the region table (or its copy), the log (refused unless empty, see `VHDXLog`), the metadata
/// items, then the BAT. Every structure and every present block is checked to lie inside the file and
/// to overlap nothing else before anything is read from it, and only the BAT entries inside the
/// virtual size are kept (8 bytes per block). Everything is immutable afterwards.
///
/// Blocks read as: FULLY_PRESENT from the file; PARTIALLY_PRESENT (differencing) sector by sector from
/// the file or the parent, by the sector bitmap; NOT_PRESENT from the parent, or zeros without one;
/// UNDEFINED, ZERO and UNMAPPED as zeros ([MS-VHDX] 2.5.1.1 lets a reader return zeros for all three).
public final class VHDXDisk: VirtualDisk {
    public static let fileSignature: [UInt8] = Array("vhdxfile".utf8)
    /// The file identifier, the two headers and the two region tables: the first MiB.
    static let headerSectionSize: UInt64 = 1 << 20
    /// A sector bitmap block's size, for every block and sector size.
    static let sectorBitmapBlockSize: UInt64 = 1 << 20

    public let path: String
    public let format: DiskFormat
    public let virtualSize: UInt64
    public let header: VHDXHeader
    public let metadata: VHDXMetadata
    public let parent: (any VirtualDisk)?
    public let warnings: [String]
    public var uniqueID: UUID? { metadata.page83 }
    public var blockSize: UInt32? { metadata.blockSize }
    public var logicalSectorSize: UInt32 { metadata.logicalSectorSize }
    public var physicalSectorSize: UInt32 { metadata.physicalSectorSize }

    private let file: SystemFile
    /// The payload entries of the blocks inside the virtual size, in block order.
    private let blocks: [VHDXBATEntry]
    /// The sector bitmap entry of each chunk; empty unless differencing.
    private let bitmaps: [VHDXBATEntry]
    private let blockBytes: UInt64
    private let chunkRatio: UInt64

    /// `openParent` is called for a differencing disk once everything else is checked.
    init(file: SystemFile, openParent: (VHDXParentLocator) throws -> any VirtualDisk) throws {
        let path = file.path
        let fileSize = try file.size()
        guard fileSize >= Self.headerSectionSize else {
            throw VHDError(
                .outOfBounds, path: path, structure: .fileIdentifier, offset: 0,
                "the file is \(fileSize) bytes, shorter than the 1 MiB header section of every VHDX "
                    + "(truncated file?)")
        }
        let identifier = try file.readExactly(8, at: 0)
        guard identifier == Self.fileSignature else {
            throw VHDError(
                .badCookie, path: path, structure: .fileIdentifier, field: "signature", offset: 0,
                "expected 'vhdxfile', found \(String(decoding: identifier, as: UTF8.self).debugDescription)")
        }
        let (header, headerWarnings) = try VHDXHeader.current(of: file)
        let (regions, regionWarnings) = try VHDXRegionTable.read(from: file)

        // The fixed structures, each inside the file and overlapping no other; blocks are added below.
        var layout = Layout(path: path, fileSize: fileSize, batOffset: regions.bat.range.offset)
        try layout.add(
            ByteRange(offset: 0, length: Self.headerSectionSize),
            .structure(name: "header section", structure: .fileIdentifier, field: "signature", offset: 0))
        if header.logLength > 0 {
            try layout.add(
                ByteRange(offset: header.logOffset, length: UInt64(header.logLength)),
                .structure(
                    name: "log", structure: .vhdxHeader, field: "log offset",
                    offset: header.offset + UInt64(VHDXHeader.Field.logOffset)))
        }
        for (name, region) in [("BAT", regions.bat), ("metadata region", regions.metadata)] {
            try layout.add(
                region.range,
                .structure(
                    name: name, structure: .regionTable, field: "\(name) file offset",
                    offset: region.entryOffset + UInt64(VHDXRegionTable.Field.entryFileOffset)))
        }
        // Nothing is parsed out of structures that overlap: checked now, and again once blocks are added.
        try layout.checkOverlaps()
        try VHDXLog.checkEmpty(file, header: header)
        let metadata = try VHDXMetadata(file: file, region: regions.metadata)

        let blockBytes = UInt64(metadata.blockSize)
        let virtualSize = metadata.virtualSize
        let chunkRatio = metadata.chunkRatio
        let blockCount = virtualSize == 0 ? 0 : (virtualSize - 1) / blockBytes + 1
        let chunkCount = blockCount == 0 ? 0 : (blockCount - 1) / chunkRatio + 1
        // Payload entries come in chunks of `chunkRatio`, each followed by its sector bitmap entry; a
        // differencing disk needs the last chunk's bitmap entry too.
        let neededEntries =
            blockCount == 0
            ? 0
            : metadata.hasParent ? chunkCount * (chunkRatio + 1) : blockCount + (blockCount - 1) / chunkRatio
        guard neededEntries * 8 <= regions.bat.range.length else {
            throw VHDError(
                .tooFewTableEntries, path: path, structure: .regionTable, field: "BAT length",
                offset: regions.bat.entryOffset + UInt64(VHDXRegionTable.Field.entryLength),
                "the \(regions.bat.range.length)-byte BAT cannot hold the \(neededEntries) entries that "
                    + "\(blockCount) blocks of \(blockBytes) bytes (virtual size \(virtualSize)) need")
        }

        // The BAT in 1 MiB pieces; its length was checked against the file above, so the arrays are too.
        var blocks: [VHDXBATEntry] = []
        var bitmaps: [VHDXBATEntry] = []
        blocks.reserveCapacity(Int(blockCount))
        var batIndex: UInt64 = 0
        while batIndex < neededEntries {
            let count = min(neededEntries - batIndex, 1 << 17)
            let bytes = try file.readExactly(Int(count) * 8, at: regions.bat.range.offset + batIndex * 8)
            // Loaded in place: a BAT has millions of entries (a 64 TiB disk of 1 MiB blocks, 64 Mi).
            bytes.withUnsafeBytes { raw in
                for position in 0..<Int(count) {
                    let entry = VHDXBATEntry(
                        raw: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * position, as: UInt64.self)))
                    let index = batIndex + UInt64(position)
                    if index % (chunkRatio + 1) == chunkRatio {
                        if metadata.hasParent { bitmaps.append(entry) }
                    } else if UInt64(blocks.count) < blockCount {
                        blocks.append(entry)
                    }
                }
            }
            batIndex += count
        }

        let batOffset = regions.bat.range.offset
        func entryError(_ code: VHDError.Code, batIndex: UInt64, _ detail: String) -> VHDError {
            VHDError(
                code, path: path, structure: .bat, field: "entry \(batIndex)", offset: batOffset + 8 * batIndex, detail)
        }
        for (index, entry) in blocks.enumerated() {
            let block = UInt64(index)
            let entryIndex = block + block / chunkRatio
            guard let state = entry.state else {
                throw entryError(.badField, batIndex: entryIndex, "block \(index) has the reserved state 4")
            }
            switch state {
            case .partiallyPresent where !metadata.hasParent:
                throw entryError(
                    .badField, batIndex: entryIndex,
                    "block \(index) is PARTIALLY_PRESENT, which only a differencing disk may have")
            case .partiallyPresent where bitmaps[Int(block / chunkRatio)].state != .fullyPresent:
                throw entryError(
                    .badField, batIndex: entryIndex,
                    "block \(index) is PARTIALLY_PRESENT but its chunk's sector bitmap block is not present")
            case .fullyPresent, .partiallyPresent:
                let length = min(blockBytes, virtualSize - block * blockBytes)
                try layout.add(ByteRange(offset: entry.fileOffset, length: length), .block(index, batIndex: entryIndex))
            default:
                break
            }
        }
        for (chunk, entry) in bitmaps.enumerated() {
            let entryIndex = UInt64(chunk) * (chunkRatio + 1) + chunkRatio
            switch entry.state {
            case .notPresent:
                break
            case .fullyPresent:
                try layout.add(
                    ByteRange(offset: entry.fileOffset, length: Self.sectorBitmapBlockSize),
                    .sectorBitmap(chunk: chunk, batIndex: entryIndex))
            default:
                throw entryError(
                    .badField, batIndex: entryIndex,
                    "sector bitmap block \(chunk) has state \(entry.raw & 7), neither NOT_PRESENT (0) "
                        + "nor PRESENT (6)")
            }
        }
        try layout.checkOverlaps()

        var warnings = headerWarnings + regionWarnings
        if metadata.logicalSectorSize != 512 {
            warnings.append(
                "\(path): the guest sees \(metadata.logicalSectorSize)-byte logical sectors; the target "
                    + "is a fixed VHD, whose sectors are 512 bytes, so a partition table written for "
                    + "\(metadata.logicalSectorSize)-byte sectors (GPT at byte \(metadata.logicalSectorSize)) "
                    + "is not where a 512-byte-sector guest looks for it")
        }

        let parent: (any VirtualDisk)?
        if let place = metadata.parentLocator {
            let locator = try VHDXParentLocator(
                bytes: try file.readExactly(Int(place.length), at: place.offset),
                place: place, path: path)
            parent = try openParent(locator)
        } else {
            parent = nil
        }

        self.file = file
        self.path = path
        self.format = metadata.hasParent ? .vhdxDifferencing : metadata.leaveBlocksAllocated ? .vhdxFixed : .vhdxDynamic
        self.virtualSize = virtualSize
        self.header = header
        self.metadata = metadata
        self.blocks = blocks
        self.bitmaps = bitmaps
        self.blockBytes = blockBytes
        self.chunkRatio = chunkRatio
        self.parent = parent
        self.warnings = warnings + (parent?.warnings ?? [])
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try checkReadRange(path: path, virtualSize: virtualSize, offset: offset, count: buffer.count)
        // Fully present blocks that follow each other in the file too are read in one call: the pieces
        // of the buffer read from the file and not read yet.
        var pending: (start: Int, fileOffset: UInt64, length: UInt64)?
        func readPending() throws {
            guard let run = pending else { return }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[run.start..<(run.start + Int(run.length))])
            try readFully(file, into: target, at: run.fileOffset, structure: .block)
            pending = nil
        }
        for piece in BlockPieces(of: ByteRange(offset: offset, length: UInt64(buffer.count)), blockBytes: blockBytes) {
            let entry = blocks[piece.block]
            if entry.state == .fullyPresent {
                let fileOffset = entry.fileOffset + piece.inBlock
                if let run = pending, run.fileOffset + run.length == fileOffset {
                    pending?.length += piece.length
                } else {
                    try readPending()
                    pending = (piece.start, fileOffset, piece.length)
                }
                continue
            }
            try readPending()
            switch entry.state {
            case .partiallyPresent:
                try readByBitmap(
                    into: piece.part(of: buffer), inBlock: piece.inBlock, blockStart: piece.blockStart,
                    bitmap: try bitmap(piece.block), file: file, dataStart: entry.fileOffset)
            case .notPresent:
                try readBelow(into: piece.part(of: buffer), at: piece.offset)
            default:
                piece.part(of: buffer).initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
        try readPending()
    }

    /// The runs of sectors this file holds, from the BAT and the sector bitmaps.
    public func ownAllocatedExtents() throws -> [ByteRange] {
        var extents: [ByteRange] = []
        for block in BlockPieces(of: ByteRange(offset: 0, length: virtualSize), blockBytes: blockBytes) {
            switch blocks[block.block].state {
            case .fullyPresent:
                extents.append(ByteRange(offset: block.offset, length: block.length))
            case .partiallyPresent:
                extents += try bitmap(block.block).presentExtents(length: block.length, at: block.offset)
            default:
                break
            }
        }
        return coalesced(extents)
    }

    /// This file's runs plus, for a differencing disk, the parent's extents inside this disk's size.
    public func allocatedExtents() throws -> [ByteRange] {
        try withInheritedExtents(try ownAllocatedExtents())
    }

    /// The part of the sector bitmap that covers block `index` (present: checked at open).
    private func bitmap(_ index: Int) throws -> SectorBitmap {
        let sectorSize = UInt64(metadata.logicalSectorSize)
        let bytesPerBlock = blockBytes / sectorSize / 8
        let block = UInt64(index)
        var bytes = [UInt8](repeating: 0, count: Int(bytesPerBlock))
        try bytes.withUnsafeMutableBytes { buffer in
            try readFully(
                file, into: buffer,
                at: bitmaps[Int(block / chunkRatio)].fileOffset + (block % chunkRatio) * bytesPerBlock,
                structure: .sectorBitmap)
        }
        return SectorBitmap(bytes: bytes, sectorSize: sectorSize, leastSignificantBitFirst: true)
    }

    /// The file's structures and blocks: each must lie inside the file and overlap no other. Blocks are
    /// kept as numbers, not text, since a large disk has millions.
    private struct Layout {
        enum Owner {
            case structure(name: String, structure: VHDError.Structure, field: String, offset: UInt64)
            case block(Int, batIndex: UInt64)
            case sectorBitmap(chunk: Int, batIndex: UInt64)
        }

        let path: String
        let fileSize: UInt64
        let batOffset: UInt64
        /// In the order added, so of two overlapping ranges the later one is blamed.
        var placed: [(range: ByteRange, owner: Owner, order: Int)] = []

        func name(_ owner: Owner) -> String {
            switch owner {
            case .structure(let name, _, _, _): name
            case .block(let index, _): "block \(index)"
            case .sectorBitmap(let chunk, _): "sector bitmap block \(chunk)"
            }
        }

        func error(_ owner: Owner, _ code: VHDError.Code, _ detail: String) -> VHDError {
            switch owner {
            case .structure(_, let structure, let field, let offset):
                VHDError(code, path: path, structure: structure, field: field, offset: offset, detail)
            case .block(_, let batIndex), .sectorBitmap(_, let batIndex):
                VHDError(
                    code, path: path, structure: .bat, field: "entry \(batIndex)", offset: batOffset + 8 * batIndex,
                    detail)
            }
        }

        mutating func add(_ range: ByteRange, _ owner: Owner) throws {
            guard fits(range.offset, range.length, within: fileSize) else {
                throw error(
                    owner, .outOfBounds,
                    "the \(name(owner)) at \(range.offset) (\(range.length) bytes) passes "
                        + "the end of the \(fileSize)-byte file (truncated file?)")
            }
            placed.append((range, owner, placed.count))
        }

        func checkOverlaps() throws {
            let sorted = placed.sorted { $0.range.offset < $1.range.offset }
            for (previous, next) in zip(sorted, sorted.dropFirst()) where overlaps(previous.range, next.range) {
                let (culprit, other) = next.order > previous.order ? (next, previous) : (previous, next)
                throw error(
                    culprit.owner, .overlappingStructures,
                    "the \(name(culprit.owner)) at \(culprit.range) overlaps the \(name(other.owner)) at \(other.range)"
                )
            }
        }
    }
}
