/// A source disk (VHD or VHDX) that cannot be used as it is: names the file, the structure, the field,
/// the absolute byte offset in the file, what is wrong and what to do about it.
///
/// I/O failures of the operating system itself (a missing file, a permission, `EIO`) are `FileError`s.
public struct VHDError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem; stable for tests and for callers that react to some of them.
    /// New cases may be added.
    public enum Code: String, Sendable, Equatable {
        case badCookie
        case badChecksum
        case unsupportedVersion
        case unsupportedDiskType
        case outOfBounds
        case tableTooLarge
        case badBlockSize
        case tooFewTableEntries
        case overlappingStructures
        case footerMismatch
        case badParentLocator
        case parentMissing
        case parentMismatch
        case chainCycle
        case chainTooDeep
        case readOutOfRange
        case fileChanged
        /// Another disk format (qcow2, VMDK, VDI): to be converted to a VHD first.
        case unsupportedFormat
        /// A field whose value the format does not allow (a VHDX sector size of 1000, a reserved state).
        case badField
        /// A structure or item the file marks as required that this reader does not know.
        case unknownRequired
        /// Two copies of a structure are both valid but differ (VHDX region tables, headers).
        case copiesDiffer
        /// A VHDX whose log holds entries not yet applied to the file.
        case logNotEmpty
        /// A raw image whose size is not a whole number of 512-byte sectors, or not a file at all.
        case notADisk
    }

    /// The part of the file the problem is in.
    public enum Structure: String, Sendable, Equatable {
        case footer
        case footerCopy = "footer copy"
        case dynamicHeader = "dynamic header"
        case bat = "BAT"
        case blockBitmap = "block bitmap"
        case block
        case parentLocator = "parent locator"
        case parentChain = "parent chain"
        case virtualDisk = "virtual disk"
        case fileIdentifier = "file identifier"
        case vhdxHeader = "header"
        case regionTable = "region table"
        case metadataTable = "metadata table"
        case metadataItem = "metadata item"
        case log
        case sectorBitmap = "sector bitmap"
    }

    public let code: Code
    public let path: String
    public let structure: Structure
    /// The field inside `structure`, e.g. `checksum` or `entry 17`; nil when the structure as a whole is wrong.
    public let field: String?
    /// The absolute byte offset in `path` of the structure or field; nil when there is no place in the file.
    public let offset: UInt64?
    /// What is wrong and, where there is something to do, what to do.
    public let detail: String

    public init(
        _ code: Code, path: String, structure: Structure, field: String? = nil, offset: UInt64? = nil,
        _ detail: String
    ) {
        self.code = code
        self.path = path
        self.structure = structure
        self.field = field
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        var text = "\(path): \(structure.rawValue)"
        if let field { text += " field '\(field)'" }
        if let offset { text += " at byte offset \(offset)" }
        return text + ": \(detail)"
    }
}

/// `0x0000abcd`-style text for stored and computed values in error messages.
func hex<T: FixedWidthInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
}
