/// The description of an opened disk that `relay-client inspect` prints (snake_case JSON keys).
/// Optional fields encode as `null`, so the JSON always has every key.
public struct DiskInfo: Codable, Sendable, Equatable {
    public struct Extents: Codable, Sendable, Equatable {
        public var count: Int
        public var bytes: UInt64
    }

    /// One disk of a differencing chain, nearest parent first.
    public struct Ancestor: Codable, Sendable, Equatable {
        public var path: String
        public var format: DiskFormat
        public var uniqueID: String?
        public var virtualSize: UInt64

        enum CodingKeys: String, CodingKey {
            case path, format
            case uniqueID = "unique_id"
            case virtualSize = "virtual_size"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(format, forKey: .format)
            try container.encode(uniqueID, forKey: .uniqueID)
            try container.encode(virtualSize, forKey: .virtualSize)
        }
    }

    public var format: DiskFormat
    public var path: String
    public var virtualSize: UInt64
    /// The target's disk size: `virtualSize` rounded up to a whole MiB (the blob adds the 512-byte footer).
    public var targetSize: UInt64
    /// nil for raw images and fixed VHDs.
    public var blockSize: UInt32?
    public var allocatedExtents: Extents
    /// nil for raw images.
    public var uniqueID: String?
    public var parentChain: [Ancestor]
    /// The sector sizes the guest sees (512 but for some VHDX); the target always has 512-byte sectors.
    public var logicalSectorSize: UInt32
    public var physicalSectorSize: UInt32
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case format, path, warnings
        case virtualSize = "virtual_size"
        case targetSize = "target_size"
        case blockSize = "block_size"
        case allocatedExtents = "allocated_extents"
        case uniqueID = "unique_id"
        case parentChain = "parent_chain"
        case logicalSectorSize = "logical_sector_size"
        case physicalSectorSize = "physical_sector_size"
    }

    /// Describes `disk`; reads its metadata (BAT and sector bitmaps of the whole chain), not its data.
    public init(disk: any VirtualDisk) throws {
        let extents = try disk.allocatedExtents()
        format = disk.format
        path = disk.path
        virtualSize = disk.virtualSize
        targetSize = VHDFooter.targetSize(forVirtualSize: disk.virtualSize)
        blockSize = disk.blockSize
        allocatedExtents = Extents(count: extents.count, bytes: extents.reduce(0) { $0 + $1.length })
        uniqueID = disk.uniqueID?.uuidString.lowercased()
        parentChain = sequence(first: disk.parent) { $0?.parent }.prefix { $0 != nil }.compactMap { $0 }.map {
            Ancestor(
                path: $0.path, format: $0.format, uniqueID: $0.uniqueID?.uuidString.lowercased(),
                virtualSize: $0.virtualSize)
        }
        logicalSectorSize = disk.logicalSectorSize
        physicalSectorSize = disk.physicalSectorSize
        warnings = disk.warnings
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(path, forKey: .path)
        try container.encode(virtualSize, forKey: .virtualSize)
        try container.encode(targetSize, forKey: .targetSize)
        try container.encode(blockSize, forKey: .blockSize)
        try container.encode(allocatedExtents, forKey: .allocatedExtents)
        try container.encode(uniqueID, forKey: .uniqueID)
        try container.encode(parentChain, forKey: .parentChain)
        try container.encode(logicalSectorSize, forKey: .logicalSectorSize)
        try container.encode(physicalSectorSize, forKey: .physicalSectorSize)
        try container.encode(warnings, forKey: .warnings)
    }
}
