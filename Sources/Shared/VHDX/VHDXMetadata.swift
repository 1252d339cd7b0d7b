import Foundation

/// The system metadata of a VHDX ([MS-VHDX] 2.6): the metadata table at the start of the metadata
/// region and the items it points to, each checked for place, length and allowed values.
public struct VHDXMetadata: Sendable {
    public static let tableSize = 64 << 10
    public static let signature: [UInt8] = Array("metadata".utf8)
    public static let maximumEntries = 2047
    /// An item is at most 1 MiB ([MS-VHDX] 2.6.1.2).
    public static let maximumItemLength: UInt32 = 1 << 20
    /// The largest virtual disk the format allows: 64 TiB.
    public static let maximumVirtualSize: UInt64 = 64 << 40

    public enum Item {
        public static let fileParameters = UUID(uuidString: "CAA16737-FA36-4D43-B3B6-33F0AA44E76B")!
        public static let virtualDiskSize = UUID(uuidString: "2FA54224-CD1B-4876-B211-5DBED83BF4B8")!
        public static let page83Data = UUID(uuidString: "BECA12AB-B2E6-4523-93EF-C309E000C746")!
        public static let logicalSectorSize = UUID(uuidString: "8141BF1D-A96F-4709-BA47-F233A8FAAB5F")!
        public static let physicalSectorSize = UUID(uuidString: "CDA348C7-445D-4471-9CC9-E9885251C556")!
        public static let parentLocator = UUID(uuidString: "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")!
    }

    public enum Field {
        public static let signature = 0
        public static let entryCount = 10
        public static let entries = 32
        /// Inside an entry of 32 bytes.
        public static let entryItemID = 0
        public static let entryOffset = 16
        public static let entryLength = 20
        public static let entryFlags = 24
    }

    /// Where an item lies: absolute file offset and length, and its table entry's offset.
    public struct Place: Sendable {
        public var offset: UInt64
        public var length: UInt32
        public var entryOffset: UInt64
    }

    /// Payload block size in bytes: a power of two from 1 MiB to 256 MiB.
    public let blockSize: UInt32
    /// LeaveBlocksAllocated: a fixed VHDX, every block allocated.
    public let leaveBlocksAllocated: Bool
    /// HasParent: a differencing VHDX.
    public let hasParent: Bool
    public let virtualSize: UInt64
    /// The SCSI page 83 identity of the disk, kept for its lifetime: the disk's unique id.
    public let page83: UUID
    public let logicalSectorSize: UInt32
    public let physicalSectorSize: UInt32
    /// The parent locator item of a differencing disk; nil otherwise.
    public let parentLocator: Place?

    /// Reads the table at the start of `region` and the system items. `region` lies inside the file.
    init(file: SystemFile, region: VHDXRegionTable.Region) throws {
        let path = file.path
        let base = region.range.offset
        guard region.range.length >= UInt64(Self.tableSize) else {
            throw VHDError(
                .badField, path: path, structure: .regionTable, field: "metadata length",
                offset: region.entryOffset + UInt64(VHDXRegionTable.Field.entryLength),
                "\(region.range.length) bytes cannot hold the 64 KiB metadata table")
        }
        let table = try file.readExactly(Self.tableSize, at: base)
        func fail(_ code: VHDError.Code, _ field: String, at fieldOffset: Int, _ detail: String) -> VHDError {
            VHDError(
                code, path: path, structure: .metadataTable, field: field, offset: base + UInt64(fieldOffset), detail)
        }
        guard Array(table[0..<8]) == Self.signature else {
            throw fail(
                .badCookie, "signature", at: Field.signature,
                "expected 'metadata', found \(String(decoding: table[0..<8], as: UTF8.self).debugDescription)")
        }
        let count = Int(table.littleEndian(UInt16.self, at: Field.entryCount))
        guard count <= Self.maximumEntries else {
            throw fail(
                .badField, "entry count", at: Field.entryCount,
                "\(count) entries do not fit the table (at most \(Self.maximumEntries))")
        }

        var places: [UUID: Place] = [:]
        var seen: Set<[UInt8]> = []
        for index in 0..<count {
            let entry = Field.entries + 32 * index
            let name = "entry \(index)"
            let itemID = table.msGUID(at: entry + Field.entryItemID)
            let flags = table.littleEndian(UInt32.self, at: entry + Field.entryFlags)
            let isUser = flags & 1 == 1
            let isRequired = flags & 4 == 4
            // Item ids are unique among the user items and among the system items.
            guard seen.insert(Array(table[entry..<(entry + 16)]) + [isUser ? 1 : 0]).inserted else {
                throw fail(.badField, "\(name) item id", at: entry, "item \(itemID.uuidString) appears twice")
            }
            let known =
                !isUser
                && [
                    Item.fileParameters, Item.virtualDiskSize, Item.page83Data, Item.logicalSectorSize,
                    Item.physicalSectorSize, Item.parentLocator,
                ].contains(itemID)
            guard known else {
                if isRequired {
                    throw fail(
                        .unknownRequired, "\(name) item id", at: entry,
                        "the file requires metadata item \(itemID.uuidString), which this reader does not know")
                }
                continue
            }
            let offset = table.littleEndian(UInt32.self, at: entry + Field.entryOffset)
            let length = table.littleEndian(UInt32.self, at: entry + Field.entryLength)
            guard length <= Self.maximumItemLength else {
                throw fail(
                    .badField, "\(name) length", at: entry + Field.entryLength,
                    "\(length) bytes is longer than the 1 MiB an item may have")
            }
            guard offset >= UInt32(Self.tableSize), fits(UInt64(offset), UInt64(length), within: region.range.length)
            else {
                throw fail(
                    .outOfBounds, "\(name) offset", at: entry + Field.entryOffset,
                    "\(length) bytes at \(offset) do not lie inside the metadata region after its table "
                        + "(\(Self.tableSize) to \(region.range.length))")
            }
            places[itemID] = Place(offset: base + UInt64(offset), length: length, entryOffset: base + UInt64(entry))
        }

        /// The bytes of a system item, which must be present and `length` long.
        func item(_ id: UUID, _ name: String, length: UInt32) throws -> (bytes: [UInt8], place: Place) {
            guard let place = places[id] else {
                throw fail(
                    .badField, "entry count", at: Field.entryCount,
                    "the \(name) item (\(id.uuidString)) is missing; every VHDX has one")
            }
            guard place.length == length else {
                throw VHDError(
                    .badField, path: path, structure: .metadataTable, field: "\(name) length",
                    offset: place.entryOffset + UInt64(Field.entryLength),
                    "\(place.length) bytes; the \(name) item is \(length) bytes")
            }
            return (try file.readExactly(Int(length), at: place.offset), place)
        }
        func itemError(_ place: Place, _ field: String, at fieldOffset: Int = 0, _ detail: String) -> VHDError {
            VHDError(
                .badField, path: path, structure: .metadataItem, field: field,
                offset: place.offset + UInt64(fieldOffset), detail)
        }

        let parameters = try item(Item.fileParameters, "file parameters", length: 8)
        let blockSize = parameters.bytes.littleEndian(UInt32.self, at: 0)
        guard blockSize >= 1 << 20, blockSize <= 256 << 20, blockSize.nonzeroBitCount == 1 else {
            throw VHDError(
                .badBlockSize, path: path, structure: .metadataItem, field: "block size",
                offset: parameters.place.offset, "\(blockSize) is not a power of two from 1 MiB to 256 MiB")
        }
        let bits = parameters.bytes.littleEndian(UInt32.self, at: 4)
        guard bits <= 3 else {
            throw itemError(
                parameters.place, "file parameter flags", at: 4,
                "\(hex(bits)) sets reserved bits (only LeaveBlocksAllocated and HasParent exist)")
        }

        let logical = try item(Item.logicalSectorSize, "logical sector size", length: 4)
        let logicalSectorSize = logical.bytes.littleEndian(UInt32.self, at: 0)
        guard logicalSectorSize == 512 || logicalSectorSize == 4096 else {
            throw itemError(logical.place, "logical sector size", "\(logicalSectorSize) is neither 512 nor 4096")
        }
        let physical = try item(Item.physicalSectorSize, "physical sector size", length: 4)
        let physicalSectorSize = physical.bytes.littleEndian(UInt32.self, at: 0)
        guard physicalSectorSize == 512 || physicalSectorSize == 4096 else {
            throw itemError(physical.place, "physical sector size", "\(physicalSectorSize) is neither 512 nor 4096")
        }

        let size = try item(Item.virtualDiskSize, "virtual disk size", length: 8)
        let virtualSize = size.bytes.littleEndian(UInt64.self, at: 0)
        guard virtualSize <= Self.maximumVirtualSize, virtualSize % UInt64(logicalSectorSize) == 0 else {
            throw itemError(
                size.place, "virtual disk size",
                "\(virtualSize) is not a whole number of \(logicalSectorSize)-byte sectors up to 64 TiB")
        }
        let page83 = try item(Item.page83Data, "page 83 data", length: 16)

        self.blockSize = blockSize
        leaveBlocksAllocated = bits & 1 == 1
        hasParent = bits & 2 == 2
        self.virtualSize = virtualSize
        self.page83 = page83.bytes.msGUID(at: 0)
        self.logicalSectorSize = logicalSectorSize
        self.physicalSectorSize = physicalSectorSize
        if hasParent {
            guard let locator = places[Item.parentLocator] else {
                throw fail(
                    .badField, "entry count", at: Field.entryCount,
                    "the file has a parent (HasParent) but no parent locator item")
            }
            parentLocator = locator
        } else {
            parentLocator = nil
        }
    }

    /// Payload blocks per sector bitmap block ([MS-VHDX] 2.5): 2^23 sectors' worth of blocks.
    public var chunkRatio: UInt64 { (UInt64(1) << 23) * UInt64(logicalSectorSize) / UInt64(blockSize) }
}
