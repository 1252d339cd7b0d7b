import Foundation

/// One of the two 4 KiB headers of a VHDX ([MS-VHDX] 2.2.2) at 64 KiB and 128 KiB. A header is valid
/// when its signature and CRC-32C are right; of the current header, the versions and the log's alignment
/// are checked too (`checkFields`); the log's place in the file is checked by `VHDXDisk`.
public struct VHDXHeader: Sendable, Equatable {
    public static let size = 4096
    public static let offsets: [UInt64] = [64 << 10, 128 << 10]
    public static let signature: [UInt8] = Array("head".utf8)

    /// Field offsets inside the header, for error messages and for tests that damage files.
    public enum Field {
        public static let signature = 0
        public static let checksum = 4
        public static let sequenceNumber = 8
        public static let fileWriteGUID = 16
        public static let dataWriteGUID = 32
        public static let logGUID = 48
        public static let logVersion = 64
        public static let version = 66
        public static let logLength = 68
        public static let logOffset = 72
    }

    /// Where the header was read from, and the file's path for errors.
    public let offset: UInt64
    let path: String
    public let sequenceNumber: UInt64
    /// Changes whenever the guest-visible data changes; a differencing child records its parent's.
    public let dataWriteGUID: UUID
    /// Zero when the log is empty; otherwise only log entries carrying it are valid.
    public let logGUID: UUID
    public let logLength: UInt32
    public let logOffset: UInt64
    public let version: UInt16
    public let logVersion: UInt16

    init(parsing bytes: [UInt8], path: String, offset: UInt64) throws {
        precondition(bytes.count == Self.size, "a VHDX header is \(Self.size) bytes")
        try VHDXCopies.check(bytes, signature: Self.signature, structure: .vhdxHeader, path: path, offset: offset)
        self.offset = offset
        self.path = path
        sequenceNumber = bytes.littleEndian(UInt64.self, at: Field.sequenceNumber)
        dataWriteGUID = bytes.msGUID(at: Field.dataWriteGUID)
        logGUID = bytes.msGUID(at: Field.logGUID)
        version = bytes.littleEndian(UInt16.self, at: Field.version)
        logVersion = bytes.littleEndian(UInt16.self, at: Field.logVersion)
        logLength = bytes.littleEndian(UInt32.self, at: Field.logLength)
        logOffset = bytes.littleEndian(UInt64.self, at: Field.logOffset)
    }

    /// The checks of the current header's values: version 1, log version 0, the log in whole MiB past the
    /// header section.
    func checkFields() throws {
        func fail(_ code: VHDError.Code, _ field: String, at fieldOffset: Int, _ detail: String) -> VHDError {
            VHDError(
                code, path: path, structure: .vhdxHeader, field: field, offset: offset + UInt64(fieldOffset), detail)
        }
        guard version == 1 else {
            throw fail(.unsupportedVersion, "version", at: Field.version, "\(version) is not the supported version 1")
        }
        guard logVersion == 0 else {
            throw fail(
                .unsupportedVersion, "log version", at: Field.logVersion,
                "\(logVersion) is not the supported log version 0")
        }
        guard logLength % (1 << 20) == 0 else {
            throw fail(.badField, "log length", at: Field.logLength, "\(logLength) is not a multiple of 1 MiB")
        }
        guard logOffset % (1 << 20) == 0, logLength == 0 || logOffset >= 1 << 20 else {
            throw fail(
                .badField, "log offset", at: Field.logOffset,
                "\(logOffset) is not a multiple of 1 MiB past the first MiB (the header section)")
        }
    }

    /// The current header ([MS-VHDX] 2.2.2): the valid one with the greater sequence number. A damaged
    /// header beside a valid one is a warning (a write of the other may have been torn); two valid
    /// headers with the same sequence number must agree. Only the current header's values are checked.
    static func current(of file: SystemFile) throws -> (header: VHDXHeader, warnings: [String]) {
        let (header, warnings) = try VHDXCopies.current(
            of: .vhdxHeader, in: file, at: offsets, size: size,
            parse: { try VHDXHeader(parsing: $0, path: file.path, offset: $1) },
            bothValid: { first, second in
                if first.sequenceNumber != second.sequenceNumber {
                    return first.sequenceNumber > second.sequenceNumber ? first : second
                }
                guard first.sameContent(as: second) else {
                    throw VHDError(
                        .copiesDiffer, path: file.path, structure: .vhdxHeader, field: "sequence number",
                        offset: second.offset + UInt64(Field.sequenceNumber),
                        "both headers are valid with sequence number \(first.sequenceNumber) but differ, so "
                            + "neither is current; the file was modified inconsistently")
                }
                return first
            })
        try header.checkFields()
        return (header, warnings)
    }

    private func sameContent(as other: VHDXHeader) -> Bool {
        (sequenceNumber, dataWriteGUID, logGUID, logLength, logOffset, version)
            == (
                other.sequenceNumber, other.dataWriteGUID, other.logGUID, other.logLength, other.logOffset,
                other.version
            )
            && logVersion == other.logVersion
    }
}
