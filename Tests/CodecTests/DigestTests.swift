import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads)
struct DigestTests {
    /// Inputs for which `xxhsum -H3` and `xxhsum -H2` (xxHash 0.8.1) printed the expected values.
    static func vectorInput(_ name: String) -> [UInt8] {
        switch name {
        case "empty": []
        case "abc": Array("abc".utf8)
        case "pattern1000": (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        case "pattern100k": (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 256) }
        default: fatalError("unknown vector \(name)")
        }
    }

    @Test(arguments: [
        ("empty", 0x2d06_8005_38d3_94c2 as UInt64, "99aa06d3014798d86001c324468d497f"),
        ("abc", 0x78af_5f94_892f_3950, "06b05ab6733a618578af5f94892f3950"),
        ("pattern1000", 0x6c4f_14bd_97bd_9e82, "6bcc7eff62da44c26c4f14bd97bd9e82"),
        ("pattern100k", 0x99db_d27f_c89c_5372, "1ceab015e15e2ba199dbd27fc89c5372"),
    ])
    func matchesXxhsum(name: String, expected64: UInt64, expected128: String) {
        let input = Self.vectorInput(name)
        input.withUnsafeBytes { bytes in
            #expect(Digest.xxh3_64(bytes) == expected64)
            #expect(Digest.xxh3_128(bytes).description == expected128)
        }
    }

    @Test func streamingEqualsOneShotForEverySplit() {
        let input = DataKind.systemFiles.bytes(count: 3000)
        let hasher = XXH3Hasher128()
        input.withUnsafeBytes { bytes in
            let expected = Digest.xxh3_128(bytes)
            for split in stride(from: 0, through: bytes.count, by: 7) {
                hasher.reset()
                hasher.update(UnsafeRawBufferPointer(rebasing: bytes[..<split]))
                hasher.update(UnsafeRawBufferPointer(rebasing: bytes[split...]))
                #expect(hasher.finalize() == expected, "split at \(split)")
            }
        }
    }

    @Test func streamingInManyPiecesOfAMegabyteInput() {
        let input = DataKind.random.bytes(count: 3 * mebibyte + 17, seed: 9)
        var generator = SplitMix64(seed: 4)
        let hasher = XXH3Hasher128()
        input.withUnsafeBytes { bytes in
            var position = 0
            while position < bytes.count {
                let piece = min(Int.random(in: 0...70_000, using: &generator), bytes.count - position)
                hasher.update(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + piece)]))
                position += piece
            }
            #expect(hasher.finalize() == Digest.xxh3_128(bytes))
        }
    }

    @Test func differentBytesGiveDifferentDigests() {
        var input = DataKind.text.bytes(count: 4096)
        let before = input.withUnsafeBytes { Digest.xxh3_128($0) }
        input[2048] ^= 1
        let after = input.withUnsafeBytes { Digest.xxh3_128($0) }
        #expect(before != after)
    }

    @Test func descriptionPadsWithLeadingZeros() {
        #expect(XXH128(high: 1, low: 0xab).description == "000000000000000100000000000000ab")
    }
}
