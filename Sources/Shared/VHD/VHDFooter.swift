import Foundation

/// The disk type field of a VHD footer.
public enum VHDDiskType: UInt32, Sendable {
    case fixed = 2
    case dynamic = 3
    case differencing = 4
}

/// The 512-byte VHD footer (the last sector of every VHD; dynamic and differencing files also keep a
/// copy at offset 0). Parsing checks the cookie, the checksum, the format version and the disk type;
/// `serialized()` always writes a correct checksum.
public struct VHDFooter: Hashable, Sendable {
    public static let size = 512
    public static let cookie: [UInt8] = Array("conectix".utf8)
    public static let formatVersion: UInt32 = 0x0001_0000
    /// The data offset of a fixed disk, which has no dynamic header.
    public static let noDataOffset = UInt64.max
    /// Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC.
    public static let epochOffset: TimeInterval = 946_684_800

    /// Field offsets inside the footer, for error messages and for tests that damage files.
    public enum Field {
        public static let cookie = 0
        public static let formatVersion = 12
        public static let dataOffset = 16
        public static let currentSize = 48
        public static let diskType = 60
        public static let checksum = 64
        public static let uniqueID = 68
    }

    public var features: UInt32 = 2
    public var dataOffset: UInt64
    public var timestamp: UInt32
    public var creatorApplication: FourCharacterCode
    public var creatorVersion: UInt32
    public var creatorHostOS: FourCharacterCode
    public var originalSize: UInt64
    /// The virtual disk size that counts (Azure, Hyper-V and this program use it, not the geometry).
    public var currentSize: UInt64
    public var geometry: DiskGeometry
    public var diskType: VHDDiskType
    public var uniqueID: UUID
    public var savedState: UInt8 = 0

    public init(
        dataOffset: UInt64, timestamp: UInt32, creatorApplication: FourCharacterCode, creatorVersion: UInt32,
        creatorHostOS: FourCharacterCode, originalSize: UInt64, currentSize: UInt64, geometry: DiskGeometry,
        diskType: VHDDiskType, uniqueID: UUID
    ) {
        self.dataOffset = dataOffset
        self.timestamp = timestamp
        self.creatorApplication = creatorApplication
        self.creatorVersion = creatorVersion
        self.creatorHostOS = creatorHostOS
        self.originalSize = originalSize
        self.currentSize = currentSize
        self.geometry = geometry
        self.diskType = diskType
        self.uniqueID = uniqueID
    }

    /// Parses and validates a footer read from `path` at absolute byte `offset`.
    /// `bytes` must be 512 bytes long (a 511-byte footer is passed padded with a zero byte).
    public init(parsing bytes: [UInt8], path: String, structure: VHDError.Structure, offset: UInt64) throws {
        precondition(bytes.count == Self.size, "a VHD footer is \(Self.size) bytes")
        func fail(_ code: VHDError.Code, _ field: String, at fieldOffset: Int, _ detail: String) -> VHDError {
            VHDError(code, path: path, structure: structure, field: field, offset: offset + UInt64(fieldOffset), detail)
        }
        guard Array(bytes[0..<8]) == Self.cookie else {
            throw fail(
                .badCookie, "cookie", at: Field.cookie,
                "expected 'conectix', found \(String(decoding: bytes[0..<8], as: UTF8.self).debugDescription)")
        }
        let stored = bytes.bigEndian(UInt32.self, at: Field.checksum)
        let computed = bytes.vhdChecksum(skipping: Field.checksum)
        guard stored == computed else {
            throw fail(
                .badChecksum, "checksum", at: Field.checksum,
                "stored \(hex(stored)), computed \(hex(computed)); the footer is damaged")
        }
        let version = bytes.bigEndian(UInt32.self, at: Field.formatVersion)
        guard version == Self.formatVersion else {
            throw fail(
                .unsupportedVersion, "file format version", at: Field.formatVersion,
                "\(hex(version)) is not the supported version \(hex(Self.formatVersion))")
        }
        let typeValue = bytes.bigEndian(UInt32.self, at: Field.diskType)
        guard let type = VHDDiskType(rawValue: typeValue) else {
            throw fail(
                .unsupportedDiskType, "disk type", at: Field.diskType,
                "\(typeValue) is not fixed (2), dynamic (3) or differencing (4)")
        }
        features = bytes.bigEndian(UInt32.self, at: 8)
        dataOffset = bytes.bigEndian(UInt64.self, at: Field.dataOffset)
        timestamp = bytes.bigEndian(UInt32.self, at: 24)
        creatorApplication = FourCharacterCode(rawValue: bytes.bigEndian(UInt32.self, at: 28))
        creatorVersion = bytes.bigEndian(UInt32.self, at: 32)
        creatorHostOS = FourCharacterCode(rawValue: bytes.bigEndian(UInt32.self, at: 36))
        originalSize = bytes.bigEndian(UInt64.self, at: 40)
        currentSize = bytes.bigEndian(UInt64.self, at: Field.currentSize)
        geometry = DiskGeometry(
            cylinders: bytes.bigEndian(UInt16.self, at: 56), heads: bytes[58], sectorsPerTrack: bytes[59])
        diskType = type
        uniqueID = bytes.uuid(at: Field.uniqueID)
        savedState = bytes[84]
    }

    /// The 512 bytes of this footer, checksum included.
    public func serialized() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.replaceSubrange(0..<8, with: Self.cookie)
        bytes.setBigEndian(features, at: 8)
        bytes.setBigEndian(Self.formatVersion, at: Field.formatVersion)
        bytes.setBigEndian(dataOffset, at: Field.dataOffset)
        bytes.setBigEndian(timestamp, at: 24)
        bytes.setBigEndian(creatorApplication.rawValue, at: 28)
        bytes.setBigEndian(creatorVersion, at: 32)
        bytes.setBigEndian(creatorHostOS.rawValue, at: 36)
        bytes.setBigEndian(originalSize, at: 40)
        bytes.setBigEndian(currentSize, at: Field.currentSize)
        bytes.setBigEndian(geometry.cylinders, at: 56)
        bytes[58] = geometry.heads
        bytes[59] = geometry.sectorsPerTrack
        bytes.setBigEndian(diskType.rawValue, at: Field.diskType)
        bytes.setUUID(uniqueID, at: Field.uniqueID)
        bytes[84] = savedState
        bytes.setBigEndian(bytes.vhdChecksum(skipping: Field.checksum), at: Field.checksum)
        return bytes
    }
}

extension VHDFooter {
    public static let mebibyte: UInt64 = 1 << 20

    /// The target page blob's disk size for a source of `virtualSize` bytes: rounded up to a whole MiB,
    /// as Azure requires. The blob itself is this plus the 512-byte footer.
    /// Sizes within a MiB of 2^64 (no real disk) saturate at the largest whole MiB.
    public static func targetSize(forVirtualSize virtualSize: UInt64) -> UInt64 {
        let (sum, overflow) = virtualSize.addingReportingOverflow(mebibyte - 1)
        return (overflow ? UInt64.max : sum) & ~(mebibyte - 1)
    }

    /// The footer of the target fixed VHD for a source of `virtualSize` bytes: original and current size
    /// `targetSize(forVirtualSize:)`, disk type fixed, no data offset, CHS geometry per the VHD spec.
    ///
    /// The creator application is `win ` (what Hyper-V writes). Azure and Hyper-V take the disk size from
    /// `current size`; qemu does so only for creators it knows (`win `, `qem2`, `d2v `, `CTXS`, `tap`) and
    /// otherwise derives the size from the CHS geometry, which for most sizes is smaller than `current size`
    /// (1 GiB reads as 1,073,479,680 bytes) and would cut off the end of the disk for every qemu-based tool.
    public static func fixedTarget(virtualSize: UInt64, uniqueID: UUID, timestamp: Date = Date()) -> VHDFooter {
        let size = targetSize(forVirtualSize: virtualSize)
        let seconds = (timestamp.timeIntervalSince1970 - epochOffset).rounded(.down)
        return VHDFooter(
            dataOffset: noDataOffset,
            timestamp: UInt32(min(max(seconds, 0), TimeInterval(UInt32.max))),
            creatorApplication: "win ",
            creatorVersion: 0x0001_0000,
            creatorHostOS: "Wi2k",
            originalSize: size,
            currentSize: size,
            geometry: DiskGeometry(forSize: size),
            diskType: .fixed,
            uniqueID: uniqueID)
    }
}
