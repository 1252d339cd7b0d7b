import Foundation

/// The VHDX region table ([MS-VHDX] 2.2.3), 64 KiB at 192 KiB with a copy at 256 KiB: where the BAT and
/// the metadata region lie. Parsed and checked on its own (signature, CRC-32C, entry count, known GUIDs,
/// 1 MiB alignment); `VHDXDisk` checks the regions against the file and each other.
public struct VHDXRegionTable: Sendable, Equatable {
    public static let size = 64 << 10
    public static let offsets: [UInt64] = [192 << 10, 256 << 10]
    public static let signature: [UInt8] = Array("regi".utf8)
    public static let maximumEntries = 2047
    public static let batGUID = UUID(uuidString: "2DC27766-F623-4200-9D64-115E9BFD4A08")!
    public static let metadataGUID = UUID(uuidString: "8B7CA206-4790-4B9A-B8FE-575F050F886E")!

    public enum Field {
        public static let signature = 0
        public static let checksum = 4
        public static let entryCount = 8
        public static let entries = 16
        /// Inside an entry of 32 bytes.
        public static let entryGUID = 0
        public static let entryFileOffset = 16
        public static let entryLength = 24
        public static let entryRequired = 28
    }

    /// A region of the file: absolute offset and length, both whole MiB.
    public struct Region: Sendable, Equatable {
        public var range: ByteRange
        /// Absolute offset of the region's table entry, for error messages.
        public var entryOffset: UInt64
    }

    public let offset: UInt64
    public let bat: Region
    public let metadata: Region

    init(parsing bytes: [UInt8], path: String, offset: UInt64) throws {
        precondition(bytes.count == Self.size, "a region table is \(Self.size) bytes")
        func fail(_ code: VHDError.Code, _ field: String, at fieldOffset: Int, _ detail: String) -> VHDError {
            VHDError(
                code, path: path, structure: .regionTable, field: field, offset: offset + UInt64(fieldOffset), detail)
        }
        try VHDXCopies.check(bytes, signature: Self.signature, structure: .regionTable, path: path, offset: offset)
        let count = bytes.littleEndian(UInt32.self, at: Field.entryCount)
        guard count <= Self.maximumEntries else {
            throw fail(
                .badField, "entry count", at: Field.entryCount,
                "\(count) entries do not fit the table (at most \(Self.maximumEntries))")
        }
        var bat: Region?
        var metadata: Region?
        var seen: Set<UUID> = []
        for index in 0..<Int(count) {
            let entry = Field.entries + 32 * index
            let guid = bytes.msGUID(at: entry + Field.entryGUID)
            let name = "entry \(index)"
            guard seen.insert(guid).inserted else {
                throw fail(.badField, "\(name) GUID", at: entry, "region \(guid.uuidString) appears twice")
            }
            let required = bytes.littleEndian(UInt32.self, at: entry + Field.entryRequired) & 1 == 1
            guard guid == Self.batGUID || guid == Self.metadataGUID else {
                if required {
                    throw fail(
                        .unknownRequired, "\(name) GUID", at: entry,
                        "the file requires region \(guid.uuidString), which this reader does not know")
                }
                continue
            }
            let fileOffset = bytes.littleEndian(UInt64.self, at: entry + Field.entryFileOffset)
            let length = bytes.littleEndian(UInt32.self, at: entry + Field.entryLength)
            guard fileOffset >= 1 << 20, fileOffset % (1 << 20) == 0 else {
                throw fail(
                    .badField, "\(name) file offset", at: entry + Field.entryFileOffset,
                    "\(fileOffset) is not a multiple of 1 MiB past the first MiB (the header section)")
            }
            guard length > 0, length % (1 << 20) == 0, fileOffset <= UInt64.max - UInt64(length) else {
                throw fail(
                    .badField, "\(name) length", at: entry + Field.entryLength,
                    "\(length) is not a positive multiple of 1 MiB")
            }
            let region = Region(
                range: ByteRange(offset: fileOffset, length: UInt64(length)),
                entryOffset: offset + UInt64(entry))
            if guid == Self.batGUID { bat = region } else { metadata = region }
        }
        guard let bat, let metadata else {
            throw fail(
                .badField, "entry count", at: Field.entryCount,
                "the table has no \(bat == nil ? "BAT" : "metadata") region, which every VHDX needs")
        }
        self.offset = offset
        self.bat = bat
        self.metadata = metadata
    }

    /// The table at 192 KiB, or its copy at 256 KiB when the first is damaged (a warning); two valid
    /// tables that differ are refused, since nothing tells which one is right.
    static func read(from file: SystemFile) throws -> (table: VHDXRegionTable, warnings: [String]) {
        let (table, warnings) = try VHDXCopies.current(
            of: .regionTable, in: file, at: offsets, size: size,
            parse: { try VHDXRegionTable(parsing: $0, path: file.path, offset: $1) },
            bothValid: { first, second in
                guard first.bat.range == second.bat.range, first.metadata.range == second.metadata.range else {
                    throw VHDError(
                        .copiesDiffer, path: file.path, structure: .regionTable, offset: second.offset,
                        "both region tables are valid but place the BAT or the metadata differently "
                            + "(\(first.bat.range) and \(first.metadata.range) against \(second.bat.range) and "
                            + "\(second.metadata.range)); the file was modified inconsistently")
                }
                return first
            })
        return (table, warnings)
    }
}
