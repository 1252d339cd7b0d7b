import Foundation
import RelayShared
import Testing

/// CRC-64/NVME against the check values of docs/azure-rest.md, "Checksums", and the eight-bytes-at-a-time
/// computation against the definition, bit by bit.
struct CRC64Tests {
    @Test func checkValues() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xAE8B_1486_0A79_9888)
        #expect(Data(CRC64.headerBytes(Array("123456789".utf8))).base64EncodedString() == "iJh5CoYUi64=")
        #expect(CRC64.checksum([UInt8](repeating: 0, count: 512)) == 0x1DE6_0E28_68A7_82E9)
        #expect(Data(CRC64.headerBytes([UInt8](repeating: 0, count: 512))).base64EncodedString() == "6YKnaCgO5h0=")
    }

    /// Every length from 0 to 70 (whole words and every tail) and a page, at every alignment of the start.
    @Test func equalsTheBitwiseDefinition() {
        var random = SplitMix64(seed: 64)
        let bytes = (0..<4200).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        for start in 0..<8 {
            for length in Array(0...70) + [4096] {
                let crc = bytes.withUnsafeBytes {
                    CRC64.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)]))
                }
                #expect(crc == Self.bitwise(Array(bytes[start..<(start + length)])), "start \(start), length \(length)")
            }
        }
    }

    private static func bitwise(_ bytes: [UInt8]) -> UInt64 {
        var crc = ~UInt64(0)
        for byte in bytes {
            crc ^= UInt64(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x9A6C_9329_AC4B_C9B5 : crc >> 1 }
        }
        return ~crc
    }
}
