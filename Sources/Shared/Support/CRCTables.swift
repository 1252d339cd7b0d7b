/// The lookup tables of a reflected CRC computed eight bytes at a time (slicing-by-8), eight 256-entry
/// tables one after another: table k (entries 256·k ..< 256·(k+1)) is the CRC of a byte followed by k zero
/// bytes, so table 0 is the classic byte-at-a-time table. `CRC32C` and `CRC64` build theirs once.
func slicingBy8Tables<Value: FixedWidthInteger & UnsignedInteger>(polynomial: Value) -> [Value] {
    var tables = [Value](repeating: 0, count: 8 * 256)
    for byte in 0..<256 {
        var crc = Value(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
        tables[byte] = crc
    }
    for slice in 1..<8 {
        for byte in 0..<256 {
            let previous = tables[256 * (slice - 1) + byte]
            tables[256 * slice + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
        }
    }
    return tables
}
