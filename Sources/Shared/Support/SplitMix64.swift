/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast generator fully determined by its seed, so that
/// injected faults and test data replay exactly from a seed. Not for anything secret.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// `count` bytes: the generator's words, little-endian, cut to length.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { buffer in
            var position = 0
            while position < count {
                let word = next()
                withUnsafeBytes(of: word.littleEndian) { wordBytes in
                    let n = min(8, count - position)
                    buffer.baseAddress!.advanced(by: position).copyMemory(from: wordBytes.baseAddress!, byteCount: n)
                }
                position += 8
            }
        }
        return result
    }
}
