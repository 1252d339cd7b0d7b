import Foundation

/// The 1024-byte header of a dynamic or differencing VHD, parsed and checked on its own
/// (cookie, checksum, version, block size); checks against the file size are `SparseDisk`'s.
public struct DynamicHeader: Sendable {
    public static let size = 1024
    public static let cookie: [UInt8] = Array("cxsparse".utf8)
    public static let headerVersion: UInt32 = 0x0001_0000
    public static let maximumBlockSize: UInt32 = 256 << 20

    /// Field offsets inside the header, for error messages and for tests that damage files.
    public enum Field {
        public static let cookie = 0
        public static let tableOffset = 16
        public static let headerVersion = 24
        public static let maxTableEntries = 28
        public static let blockSize = 32
        public static let checksum = 36
        public static let parentUniqueID = 40
        public static let parentUnicodeName = 64
        public static let parentLocators = 576
    }

    /// Where the header was read from: the absolute offset of its first byte.
    public let offset: UInt64
    /// Absolute file offset of the BAT.
    public let tableOffset: UInt64
    public let maxTableEntries: UInt32
    public let blockSize: UInt32
    public let parentUniqueID: UUID
    public let parentTimestamp: UInt32
    /// The parent's file name as the header stores it (UTF-16 big-endian, up to 256 code units).
    public let parentUnicodeName: String
    /// The used locator entries, in header order.
    public let parentLocators: [ParentLocator]

    /// The bytes of the sector bitmap in front of every block: one bit per sector, padded to a sector.
    public var bitmapSize: UInt64 {
        (UInt64(blockSize) / 512 + 4095) / 4096 * 512
    }

    init(parsing bytes: [UInt8], path: String, offset: UInt64) throws {
        precondition(bytes.count == Self.size, "a dynamic header is \(Self.size) bytes")
        func fail(_ code: VHDError.Code, _ field: String, at fieldOffset: Int, _ detail: String) -> VHDError {
            VHDError(
                code, path: path, structure: .dynamicHeader, field: field,
                offset: offset + UInt64(fieldOffset), detail)
        }
        guard Array(bytes[0..<8]) == Self.cookie else {
            throw fail(
                .badCookie, "cookie", at: Field.cookie,
                "expected 'cxsparse', found \(String(decoding: bytes[0..<8], as: UTF8.self).debugDescription); "
                    + "the footer's data offset does not point at a dynamic header")
        }
        let stored = bytes.bigEndian(UInt32.self, at: Field.checksum)
        let computed = bytes.vhdChecksum(skipping: Field.checksum)
        guard stored == computed else {
            throw fail(
                .badChecksum, "checksum", at: Field.checksum,
                "stored \(hex(stored)), computed \(hex(computed)); the header is damaged")
        }
        let version = bytes.bigEndian(UInt32.self, at: Field.headerVersion)
        guard version == Self.headerVersion else {
            throw fail(
                .unsupportedVersion, "header version", at: Field.headerVersion,
                "\(hex(version)) is not the supported version \(hex(Self.headerVersion))")
        }
        let blockSize = bytes.bigEndian(UInt32.self, at: Field.blockSize)
        guard blockSize >= 512, blockSize <= Self.maximumBlockSize, blockSize.nonzeroBitCount == 1 else {
            throw fail(
                .badBlockSize, "block size", at: Field.blockSize,
                "\(blockSize) is not a power of two between 512 bytes and 256 MiB")
        }
        self.offset = offset
        self.blockSize = blockSize
        tableOffset = bytes.bigEndian(UInt64.self, at: Field.tableOffset)
        maxTableEntries = bytes.bigEndian(UInt32.self, at: Field.maxTableEntries)
        parentUniqueID = bytes.uuid(at: Field.parentUniqueID)
        parentTimestamp = bytes.bigEndian(UInt32.self, at: 56)
        let nameUnits = (0..<256).map { bytes.bigEndian(UInt16.self, at: Field.parentUnicodeName + 2 * $0) }
        parentUnicodeName = String(decoding: nameUnits.prefix { $0 != 0 }, as: UTF16.self)
        parentLocators = (0..<8).compactMap { index in
            let entryOffset = Field.parentLocators + 24 * index
            let code = FourCharacterCode(rawValue: bytes.bigEndian(UInt32.self, at: entryOffset))
            guard code.rawValue != 0 else { return nil }
            return ParentLocator(
                index: index,
                entryOffset: offset + UInt64(entryOffset),
                platformCode: code,
                dataLength: bytes.bigEndian(UInt32.self, at: entryOffset + 8),
                dataOffset: bytes.bigEndian(UInt64.self, at: entryOffset + 16))
        }
    }
}

/// One used parent locator entry of a differencing disk's header.
public struct ParentLocator: Sendable {
    /// The entry's position (0–7) among the header's eight entries.
    public let index: Int
    /// Absolute file offset of the 24-byte entry.
    public let entryOffset: UInt64
    public let platformCode: FourCharacterCode
    /// Bytes of path data. (The platform data space is only the room reserved, which some writers
    /// count in sectors and others in bytes, so it is not used.)
    public let dataLength: UInt32
    /// Absolute file offset of the path data.
    public let dataOffset: UInt64

    /// The order in which locators are tried: relative before absolute, Unicode before the deprecated
    /// ANSI forms, macOS last. Unknown codes are not tried.
    static let preference: [FourCharacterCode] = ["W2ru", "W2ku", "Wi2r", "Wi2k", "MacX"]

    /// Path data longer than this is not a path (Windows' long-path limit is 32767 UTF-16 units).
    static let maximumDataLength: UInt32 = 65536

    /// The POSIX path this locator names, given the path data and the child's directory.
    ///
    /// Windows paths have their backslashes turned into slashes; a relative one (`.\parent.vhd`) is taken
    /// relative to the child's directory; an absolute one keeps its path but loses its drive letter
    /// (`C:\disks\p.vhd` → `/disks/p.vhd`), and a path already starting with `/` is used as it is.
    /// `MacX` is a `file://` URL.
    func resolve(_ data: [UInt8], childDirectory: String) -> String? {
        let text: String
        switch platformCode {
        case "W2ru", "W2ku":
            let units = stride(from: 0, to: data.count - 1, by: 2).map { UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8 }
            text = String(decoding: units.prefix { $0 != 0 }, as: UTF16.self)
        case "Wi2r", "Wi2k":
            text = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
        case "MacX":
            let url = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            return URL(string: url).flatMap { $0.isFileURL ? $0.path : nil }
        default:
            return nil
        }
        return Self.posixPath(
            windows: text, relative: platformCode == "W2ru" || platformCode == "Wi2r",
            childDirectory: childDirectory)
    }

    /// A Windows path as a POSIX path (VHD locators and VHDX `relative_path`/`absolute_win32_path`):
    /// backslashes become slashes; a relative path is taken relative to the child's directory; an
    /// absolute one loses its `\\?\` prefix and drive letter; a path already starting with `/` is kept.
    static func posixPath(windows text: String, relative: Bool, childDirectory: String) -> String? {
        guard !text.isEmpty else { return nil }
        var path = text.replacingOccurrences(of: "\\", with: "/")
        if relative {
            while path.hasPrefix("./") { path.removeFirst(2) }
            return path.hasPrefix("/") ? path : childDirectory + "/" + path
        }
        if path.hasPrefix("//?/") { path.removeFirst(4) }
        if path.count >= 2, path.dropFirst().first == ":" { path.removeFirst(2) }
        return path.hasPrefix("/") ? path : nil
    }
}
