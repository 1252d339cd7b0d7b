import Foundation

/// Field access for the fixed-layout structures held in byte arrays: big-endian for VHD, little-endian
/// and Microsoft-order GUIDs for VHDX. Callers pass offsets inside the structure's known length, so the
/// indexing cannot go out of range.
extension Array where Element == UInt8 {
    func bigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for index in offset..<(offset + T.bitWidth / 8) {
            value = value << 8 | T(self[index])
        }
        return value
    }

    mutating func setBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let width = T.bitWidth / 8
        for index in 0..<width {
            self[offset + index] = UInt8(truncatingIfNeeded: value >> ((width - 1 - index) * 8))
        }
    }

    func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for index in (offset..<(offset + T.bitWidth / 8)).reversed() {
            value = value << 8 | T(self[index])
        }
        return value
    }

    mutating func setLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for index in 0..<(T.bitWidth / 8) {
            self[offset + index] = UInt8(truncatingIfNeeded: value >> (index * 8))
        }
    }

    /// A GUID as Microsoft stores it (VHDX): the first three groups little-endian, the last eight bytes
    /// as they are.
    func msGUID(at offset: Int) -> UUID {
        let b = Array(self[offset..<(offset + 16)])
        return UUID(
            uuid: (
                b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6],
                b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
            ))
    }

    mutating func setMSGUID(_ id: UUID, at offset: Int) {
        Swift.withUnsafeBytes(of: id.uuid) { bytes in
            let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
            for index in 0..<16 { self[offset + index] = bytes[order[index]] }
        }
    }

    func uuid(at offset: Int) -> UUID {
        let b = Array(self[offset..<(offset + 16)])
        return UUID(
            uuid: (
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
            ))
    }

    mutating func setUUID(_ id: UUID, at offset: Int) {
        Swift.withUnsafeBytes(of: id.uuid) { bytes in
            for index in 0..<16 { self[offset + index] = bytes[index] }
        }
    }

    /// The VHD checksum: one's complement of the byte sum, skipping the 4-byte checksum field itself.
    func vhdChecksum(skipping checksumOffset: Int) -> UInt32 {
        var sum: UInt32 = 0
        for (index, byte) in enumerated() where index < checksumOffset || index >= checksumOffset + 4 {
            sum &+= UInt32(byte)
        }
        return ~sum
    }
}

/// A four-character code as VHD stores them: creator application, host OS, locator platform codes.
public struct FourCharacterCode: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `text` must be four ASCII characters; shorter text is padded with spaces.
    public init(stringLiteral text: String) {
        var bytes = Array(text.utf8.prefix(4))
        while bytes.count < 4 { bytes.append(0x20) }
        rawValue = bytes.bigEndian(UInt32.self, at: 0)
    }

    public var description: String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (24 - 8 * $0)) }
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(decoding: bytes, as: UTF8.self) }
        return hex(rawValue)
    }
}

/// Overflow-free "`[offset, offset + length)` lies inside `[0, limit)`", for fields a hostile file controls.
func fits(_ offset: UInt64, _ length: UInt64, within limit: UInt64) -> Bool {
    length <= limit && offset <= limit - length
}

/// "The two half-open ranges share a byte", for ranges already checked with `fits` (so `end` cannot overflow).
func overlaps(_ a: ByteRange, _ b: ByteRange) -> Bool {
    a.length > 0 && b.length > 0 && a.offset < b.end && b.offset < a.end
}
