/// CRC-64/NVME, Azure's transactional `x-ms-content-crc64` (docs/azure-rest.md, "Checksums"): reflected
/// polynomial 0x9A6C9329AC4BC9B5, initial value and final XOR all ones; sent as the Base64 of the 8 bytes in
/// little-endian order.
public enum CRC64 {
    private static let table: [UInt64] = (0..<256).map { index in
        var crc = UInt64(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x9A6C_9329_AC4B_C9B5 : crc >> 1 }
        return crc
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var crc = ~UInt64(0)
        for byte in bytes { crc = table[Int((crc ^ UInt64(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    /// The header form: 8 little-endian bytes.
    public static func headerBytes(_ bytes: [UInt8]) -> [UInt8] {
        let crc = checksum(bytes)
        return (0..<8).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt64($0))) }
    }
}
