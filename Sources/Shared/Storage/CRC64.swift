/// CRC-64/NVME, Azure's transactional `x-ms-content-crc64` (docs/azure-rest.md, "Checksums"): reflected
/// polynomial 0x9A6C9329AC4BC9B5, initial value and final XOR all ones; sent as the Base64 of the 8 bytes in
/// little-endian order. Computed eight bytes at a time (slicing-by-8: eight 256-entry tables, one lookup
/// per input byte but no dependency between the eight), several times faster than a byte at a time.
public enum CRC64 {
    /// Slicing-by-8's eight tables (`slicingBy8Tables`).
    private static let tables: [UInt64] = slicingBy8Tables(polynomial: 0x9A6C_9329_AC4B_C9B5)

    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        tables.withUnsafeBufferPointer { table in
            var crc = ~UInt64(0)
            var position = 0
            let wholeWords = bytes.count & ~7
            while position < wholeWords {
                crc ^= UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                crc =
                    table[7 * 256 + Int(crc & 0xFF)] ^ table[6 * 256 + Int((crc >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((crc >> 16) & 0xFF)] ^ table[4 * 256 + Int((crc >> 24) & 0xFF)]
                    ^ table[3 * 256 + Int((crc >> 32) & 0xFF)] ^ table[2 * 256 + Int((crc >> 40) & 0xFF)]
                    ^ table[256 + Int((crc >> 48) & 0xFF)] ^ table[Int(crc >> 56)]
                position += 8
            }
            while position < bytes.count {
                crc = table[Int((crc ^ UInt64(bytes[position])) & 0xFF)] ^ (crc >> 8)
                position += 1
            }
            return ~crc
        }
    }

    /// The header form: 8 little-endian bytes.
    public static func headerBytes(_ bytes: [UInt8]) -> [UInt8] {
        let crc = checksum(bytes)
        return (0..<8).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt64($0))) }
    }
}
