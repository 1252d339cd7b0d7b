/// MD5 (RFC 1321), only for Azure's transactional `Content-MD5`: a checksum against corruption in
/// transit, not a security measure. Written here because none of the linked system libraries exports
/// MD5 and a crypto package is not worth its build time for one checksum.
public enum MD5 {
    /// The 16-byte digest of `bytes`.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476)
        let wholeBlocks = bytes.count / 64
        bytes.withUnsafeBytes { buffer in
            for block in 0..<wholeBlocks { compress(&state, buffer.baseAddress! + block * 64) }
        }
        // The tail, a 0x80 byte, zeros, and the message length in bits (little-endian), in one or two blocks.
        var tail = Array(bytes[(wholeBlocks * 64)...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bitCount = UInt64(bytes.count) &* 8
        for shift in stride(from: 0, to: 64, by: 8) { tail.append(UInt8(truncatingIfNeeded: bitCount >> UInt64(shift))) }
        tail.withUnsafeBytes { buffer in
            for block in 0..<buffer.count / 64 { compress(&state, buffer.baseAddress! + block * 64) }
        }
        var digest: [UInt8] = []
        digest.reserveCapacity(16)
        for word in [state.0, state.1, state.2, state.3] {
            for shift in stride(from: 0, to: 32, by: 8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    /// One 64-byte block: RFC 1321 §3.4 written out step by step (the constants are floor(abs(sin(i + 1)) × 2^32)),
    /// which keeps the words and the state in registers; a loop over tables runs several times slower.
    private static func compress(_ state: inout (UInt32, UInt32, UInt32, UInt32), _ block: UnsafeRawPointer) {
        func word(_ index: Int) -> UInt32 { UInt32(littleEndian: block.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)) }
        let (w0, w1, w2, w3, w4, w5, w6, w7) = (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7))
        let (w8, w9, w10, w11, w12, w13, w14, w15) = (word(8), word(9), word(10), word(11), word(12), word(13), word(14), word(15))
        var (a, b, c, d) = state
        a = stepF(a, b, c, d, w0, 0xD76AA478, 7)
        d = stepF(d, a, b, c, w1, 0xE8C7B756, 12)
        c = stepF(c, d, a, b, w2, 0x242070DB, 17)
        b = stepF(b, c, d, a, w3, 0xC1BDCEEE, 22)
        a = stepF(a, b, c, d, w4, 0xF57C0FAF, 7)
        d = stepF(d, a, b, c, w5, 0x4787C62A, 12)
        c = stepF(c, d, a, b, w6, 0xA8304613, 17)
        b = stepF(b, c, d, a, w7, 0xFD469501, 22)
        a = stepF(a, b, c, d, w8, 0x698098D8, 7)
        d = stepF(d, a, b, c, w9, 0x8B44F7AF, 12)
        c = stepF(c, d, a, b, w10, 0xFFFF5BB1, 17)
        b = stepF(b, c, d, a, w11, 0x895CD7BE, 22)
        a = stepF(a, b, c, d, w12, 0x6B901122, 7)
        d = stepF(d, a, b, c, w13, 0xFD987193, 12)
        c = stepF(c, d, a, b, w14, 0xA679438E, 17)
        b = stepF(b, c, d, a, w15, 0x49B40821, 22)
        a = stepG(a, b, c, d, w1, 0xF61E2562, 5)
        d = stepG(d, a, b, c, w6, 0xC040B340, 9)
        c = stepG(c, d, a, b, w11, 0x265E5A51, 14)
        b = stepG(b, c, d, a, w0, 0xE9B6C7AA, 20)
        a = stepG(a, b, c, d, w5, 0xD62F105D, 5)
        d = stepG(d, a, b, c, w10, 0x02441453, 9)
        c = stepG(c, d, a, b, w15, 0xD8A1E681, 14)
        b = stepG(b, c, d, a, w4, 0xE7D3FBC8, 20)
        a = stepG(a, b, c, d, w9, 0x21E1CDE6, 5)
        d = stepG(d, a, b, c, w14, 0xC33707D6, 9)
        c = stepG(c, d, a, b, w3, 0xF4D50D87, 14)
        b = stepG(b, c, d, a, w8, 0x455A14ED, 20)
        a = stepG(a, b, c, d, w13, 0xA9E3E905, 5)
        d = stepG(d, a, b, c, w2, 0xFCEFA3F8, 9)
        c = stepG(c, d, a, b, w7, 0x676F02D9, 14)
        b = stepG(b, c, d, a, w12, 0x8D2A4C8A, 20)
        a = stepH(a, b, c, d, w5, 0xFFFA3942, 4)
        d = stepH(d, a, b, c, w8, 0x8771F681, 11)
        c = stepH(c, d, a, b, w11, 0x6D9D6122, 16)
        b = stepH(b, c, d, a, w14, 0xFDE5380C, 23)
        a = stepH(a, b, c, d, w1, 0xA4BEEA44, 4)
        d = stepH(d, a, b, c, w4, 0x4BDECFA9, 11)
        c = stepH(c, d, a, b, w7, 0xF6BB4B60, 16)
        b = stepH(b, c, d, a, w10, 0xBEBFBC70, 23)
        a = stepH(a, b, c, d, w13, 0x289B7EC6, 4)
        d = stepH(d, a, b, c, w0, 0xEAA127FA, 11)
        c = stepH(c, d, a, b, w3, 0xD4EF3085, 16)
        b = stepH(b, c, d, a, w6, 0x04881D05, 23)
        a = stepH(a, b, c, d, w9, 0xD9D4D039, 4)
        d = stepH(d, a, b, c, w12, 0xE6DB99E5, 11)
        c = stepH(c, d, a, b, w15, 0x1FA27CF8, 16)
        b = stepH(b, c, d, a, w2, 0xC4AC5665, 23)
        a = stepI(a, b, c, d, w0, 0xF4292244, 6)
        d = stepI(d, a, b, c, w7, 0x432AFF97, 10)
        c = stepI(c, d, a, b, w14, 0xAB9423A7, 15)
        b = stepI(b, c, d, a, w5, 0xFC93A039, 21)
        a = stepI(a, b, c, d, w12, 0x655B59C3, 6)
        d = stepI(d, a, b, c, w3, 0x8F0CCC92, 10)
        c = stepI(c, d, a, b, w10, 0xFFEFF47D, 15)
        b = stepI(b, c, d, a, w1, 0x85845DD1, 21)
        a = stepI(a, b, c, d, w8, 0x6FA87E4F, 6)
        d = stepI(d, a, b, c, w15, 0xFE2CE6E0, 10)
        c = stepI(c, d, a, b, w6, 0xA3014314, 15)
        b = stepI(b, c, d, a, w13, 0x4E0811A1, 21)
        a = stepI(a, b, c, d, w4, 0xF7537E82, 6)
        d = stepI(d, a, b, c, w11, 0xBD3AF235, 10)
        c = stepI(c, d, a, b, w2, 0x2AD7D2BB, 15)
        b = stepI(b, c, d, a, w9, 0xEB86D391, 21)
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }

    @inline(__always)
    private static func rotate(_ a: UInt32, _ f: UInt32, _ b: UInt32, _ word: UInt32, _ constant: UInt32, _ shift: UInt32) -> UInt32 {
        let sum = a &+ f &+ word &+ constant
        return b &+ ((sum << shift) | (sum >> (32 - shift)))
    }

    @inline(__always)
    private static func stepF(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ w: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
        rotate(a, (b & c) | (~b & d), b, w, k, s)
    }

    @inline(__always)
    private static func stepG(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ w: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
        rotate(a, (b & d) | (c & ~d), b, w, k, s)
    }

    @inline(__always)
    private static func stepH(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ w: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
        rotate(a, b ^ c ^ d, b, w, k, s)
    }

    @inline(__always)
    private static func stepI(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ w: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
        rotate(a, c ^ (b | ~d), b, w, k, s)
    }
}
