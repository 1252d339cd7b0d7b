/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX headers, region tables
/// and log entries ([MS-VHDX] 2.2.2): initial value and final XOR 0xFFFFFFFF; of "123456789" it is
/// 0xE3069283.
///
/// Slicing-by-8: eight 256-entry tables let one step fold eight bytes, several times faster than the
/// byte-at-a-time table (the tests check both agree; `docs/vhdx.md` has the speeds).
public struct CRC32C: Sendable {
    /// The running value without the final XOR; `value` applies it.
    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    public var value: UInt32 { ~state }

    /// The checksum of `bytes` in one call.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Folds `bytes` in, so a long structure can be checked piece by piece.
    ///
    /// Written for the fuzz build too (no optimization, every comparison and conversion instrumented),
    /// which checksums at least 136 KiB per input: one 8-byte load per step, masking shifts, truncating
    /// conversions and the tables through a plain pointer (every index is one byte into its table) make it
    /// five times faster there, and no slower optimized (`scripts/bench-vhdx`).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var crc = state
        let count = bytes.count
        var index = 0
        Self.tables.withUnsafeBufferPointer { tables in
            let t = tables.baseAddress!
            while index &+ 8 <= count {
                let word =
                    UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    ^ UInt64(truncatingIfNeeded: crc)
                crc =
                    t[0x700 | Int(truncatingIfNeeded: word & 0xFF)]
                    ^ t[0x600 | Int(truncatingIfNeeded: (word &>> 8) & 0xFF)]
                    ^ t[0x500 | Int(truncatingIfNeeded: (word &>> 16) & 0xFF)]
                    ^ t[0x400 | Int(truncatingIfNeeded: (word &>> 24) & 0xFF)]
                    ^ t[0x300 | Int(truncatingIfNeeded: (word &>> 32) & 0xFF)]
                    ^ t[0x200 | Int(truncatingIfNeeded: (word &>> 40) & 0xFF)]
                    ^ t[0x100 | Int(truncatingIfNeeded: (word &>> 48) & 0xFF)] ^ t[Int(truncatingIfNeeded: word &>> 56)]
                index &+= 8
            }
            while index < count {
                let byte = UInt32(truncatingIfNeeded: base.load(fromByteOffset: index, as: UInt8.self))
                crc = t[Int(truncatingIfNeeded: (crc ^ byte) & 0xFF)] ^ (crc &>> 8)
                index &+= 1
            }
        }
        state = crc
    }

    /// Slicing-by-8's eight tables (`slicingBy8Tables`).
    static let tables: [UInt32] = slicingBy8Tables(polynomial: 0x82F6_3B78)
}
