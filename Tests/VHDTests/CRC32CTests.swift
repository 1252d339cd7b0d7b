import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// The slicing-by-8 CRC-32C against the standard check value and a bit-at-a-time reference, over every
/// length and alignment that exercises the 8-byte loop and its tail, and piecewise updates.
@Suite(.ownThreads)
struct CRC32CTests {
    /// The definition, one bit at a time (reflected polynomial 0x82F63B78).
    private func reference(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    @Test func checkValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, and of 0xFF.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    }

    @Test func agreesWithTheBitwiseDefinition() {
        let data = seededBytes(3, 4096 + 64)
        for start in 0..<9 {
            for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 100, 4096] {
                let slice = data[start..<(start + length)]
                #expect(
                    Array(slice).withUnsafeBytes { CRC32C.checksum($0) } == reference(slice),
                    "start \(start), length \(length)")
            }
        }
    }

    @Test func piecewiseUpdatesEqualOneCall() {
        let data = seededBytes(4, 70_000)
        var generator = SplitMix64(seed: 5)
        var crc = CRC32C()
        var position = 0
        while position < data.count {
            let count = min(data.count - position, Int(generator.next() % 5000))
            Array(data[position..<(position + count)]).withUnsafeBytes { crc.update($0) }
            position += count
        }
        #expect(crc.value == CRC32C.checksum(data))
        #expect(crc.value == reference(data[...]))
    }

    /// Headers, region tables and log entries are checksummed with their own field (bytes 4..<8) as zero,
    /// whatever it holds.
    @Test func structureChecksumTakesItsFieldAsZero() {
        var structure = seededBytes(6, 4096)
        var zeroed = structure
        zeroed.replaceSubrange(4..<8, with: [0, 0, 0, 0])
        let expected = reference(zeroed[...])
        for field: UInt32 in [0, 0xDEAD_BEEF, expected] {
            structure.setLittleEndian(field, at: 4)
            #expect(structure.withUnsafeBytes { VHDXCopies.checksum($0) } == expected)
        }
    }
}
