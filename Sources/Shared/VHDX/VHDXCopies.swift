/// What the VHDX structures kept twice and protected by a CRC-32C (headers, region tables) share: the
/// signature and checksum check, reading both copies, and the error when both are damaged.
enum VHDXCopies {
    /// The 4-byte `signature` at 0 and the CRC-32C at 4 over all of `bytes`, the checksum field taken as zero.
    static func check(
        _ bytes: [UInt8], signature: [UInt8], structure: VHDError.Structure, path: String, offset: UInt64
    ) throws {
        guard Array(bytes[0..<4]) == signature else {
            throw VHDError(
                .badCookie, path: path, structure: structure, field: "signature", offset: offset,
                "expected '\(String(decoding: signature, as: UTF8.self))', found "
                    + String(decoding: bytes[0..<4], as: UTF8.self).debugDescription)
        }
        let stored = bytes.littleEndian(UInt32.self, at: 4)
        var zeroed = bytes
        zeroed.setLittleEndian(UInt32(0), at: 4)
        let computed = CRC32C.checksum(zeroed)
        guard stored == computed else {
            throw VHDError(
                .badChecksum, path: path, structure: structure, field: "checksum", offset: offset + 4,
                "stored CRC-32C \(hex(stored)), computed \(hex(computed)); the \(structure.rawValue) is damaged")
        }
    }

    /// Each copy of `size` bytes at `offsets`, parsed; a copy that fails its checks is a `.failure`, while
    /// an I/O error is thrown.
    static func read<T>(
        _ file: SystemFile, at offsets: [UInt64], size: Int, _ parse: ([UInt8], UInt64) throws -> T
    ) throws -> [Result<T, VHDError>] {
        try offsets.map { offset in
            let bytes = try file.readExactly(size, at: offset)
            do {
                return .success(try parse(bytes, offset))
            } catch let error as VHDError {
                return .failure(error)
            }
        }
    }

    /// The refusal when both copies are damaged: the first's error, with the second's.
    static func bothDamaged(_ first: VHDError, _ second: VHDError, path: String) -> VHDError {
        VHDError(
            first.code, path: path, structure: first.structure, field: first.field, offset: first.offset,
            first.detail
                + "; the other copy is damaged too (\(second.field ?? first.structure.rawValue) at byte offset "
                + "\(second.offset ?? 0): \(second.detail)), so the file has no usable \(first.structure.rawValue)")
    }
}
