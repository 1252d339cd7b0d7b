import Foundation

/// The VHDX metadata log ([MS-VHDX] 2.3). A writer that stops without closing the file (host crash,
/// power loss) can leave metadata updates in the log that the BAT and metadata regions do not have yet;
/// reading such a file as if it were clean could return stale blocks. relay-client never writes to a
/// source, so it does not replay the log: a file whose log holds a valid entry is refused, with how to
/// repair it.
///
/// The log is empty when the current header's log GUID is zero. Otherwise each 4 KiB step of the log
/// region is examined for an entry header: signature `loge`, the header's log GUID, a length of whole
/// 4 KiB sectors inside the log, room for its descriptors, a non-zero sequence number and a right
/// CRC-32C over the whole entry (which may wrap around the end of the circular log). Any such entry
/// means the log is not empty. This is stricter than replaying only the newest complete sequence, on
/// purpose: a false refusal costs one repair, a false acceptance a silently wrong disk.
enum VHDXLog {
    static let sectorSize = 4096
    static let entrySignature: [UInt8] = Array("loge".utf8)
    /// Bytes checksummed at most while looking for entries: a log crafted with many entry headers cannot
    /// make the check read without end. Past it the log is taken as not empty.
    static let checksumBudget: UInt64 = 256 << 20

    enum Field {
        static let signature = 0
        static let checksum = 4
        static let entryLength = 8
        static let tail = 12
        static let sequenceNumber = 16
        static let descriptorCount = 24
        static let logGUID = 32
    }

    /// Throws `logNotEmpty` when the log of `header` (its region already checked against the file) holds
    /// an entry.
    static func checkEmpty(_ file: SystemFile, header: VHDXHeader) throws {
        guard header.logGUID != UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), header.logLength > 0
        else { return }
        let length = UInt64(header.logLength)
        var budget = checksumBudget
        var position: UInt64 = 0
        while position < length {
            let sector = try file.readExactly(sectorSize, at: header.logOffset + position)
            if let entryLength = plausibleEntryLength(sector, header: header) {
                guard budget >= UInt64(entryLength) else {
                    throw notEmpty(
                        file.path, header, at: position, "the log holds more entry headers than can be checked")
                }
                budget -= UInt64(entryLength)
                if try checksumMatches(file, header: header, at: position, entryLength: entryLength, first: sector) {
                    throw notEmpty(
                        file.path, header, at: position,
                        "the log holds an entry (sequence number "
                            + "\(sector.littleEndian(UInt64.self, at: Field.sequenceNumber))) not yet written "
                            + "to the file: the disk was not closed cleanly")
                }
            }
            position += UInt64(sectorSize)
        }
    }

    /// The entry length when `sector` starts like an entry of this log, else nil.
    private static func plausibleEntryLength(_ sector: [UInt8], header: VHDXHeader) -> UInt32? {
        guard Array(sector[0..<4]) == entrySignature, sector.msGUID(at: Field.logGUID) == header.logGUID else {
            return nil
        }
        let entryLength = sector.littleEndian(UInt32.self, at: Field.entryLength)
        let tail = sector.littleEndian(UInt32.self, at: Field.tail)
        let descriptors = UInt64(sector.littleEndian(UInt32.self, at: Field.descriptorCount))
        guard entryLength > 0, entryLength % UInt32(sectorSize) == 0, entryLength <= header.logLength,
            tail % UInt32(sectorSize) == 0, tail < header.logLength,
            sector.littleEndian(UInt64.self, at: Field.sequenceNumber) != 0,
            64 + 32 * descriptors <= UInt64(entryLength)
        else { return nil }
        return entryLength
    }

    /// Whether the CRC-32C over the `entryLength` bytes at `position` (wrapping around the log, with the
    /// checksum field taken as zero) equals the stored one. Reads at most 1 MiB at a time.
    private static func checksumMatches(
        _ file: SystemFile, header: VHDXHeader, at position: UInt64, entryLength: UInt32, first: [UInt8]
    ) throws -> Bool {
        var crc = first.withUnsafeBytes { VHDXCopies.checksumState($0) }
        let length = UInt64(header.logLength)
        var done = UInt64(sectorSize)
        while done < UInt64(entryLength) {
            let inLog = (position + done) % length
            let count = min(UInt64(entryLength) - done, length - inLog, 1 << 20)
            let piece = try file.readExactly(Int(count), at: header.logOffset + inLog)
            piece.withUnsafeBytes { crc.update($0) }
            done += count
        }
        return crc.value == first.littleEndian(UInt32.self, at: Field.checksum)
    }

    private static func notEmpty(_ path: String, _ header: VHDXHeader, at position: UInt64, _ what: String) -> VHDError
    {
        VHDError(
            .logNotEmpty, path: path, structure: .log, offset: header.logOffset + position,
            what + ". relay-client never writes to a source disk, so it does not replay the log; repair the "
                + "disk first: attach it once in Hyper-V (Mount-VHD, then Dismount-VHD), or run "
                + "'qemu-img check -r all' on a copy of the file and use the copy")
    }
}
