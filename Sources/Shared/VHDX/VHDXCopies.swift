/// What the VHDX structures kept twice and protected by a CRC-32C (headers, region tables) share: the
/// checksum with its own field taken as zero (log entries too), the signature and checksum check, reading
/// both copies and choosing the one to use.
public enum VHDXCopies {
    /// The CRC-32C of a structure whose 4-byte checksum field is at byte 4, the field taken as zero
    /// ([MS-VHDX] 2.2.2, 2.2.3, 2.3.1.1), without copying the structure.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        checksumState(bytes).value
    }

    /// The running CRC-32C after `bytes`, for a structure that goes on past them (a log entry).
    static func checksumState(_ bytes: UnsafeRawBufferPointer) -> CRC32C {
        precondition(bytes.count >= 8, "a checksummed structure starts with its signature and checksum")
        var crc = CRC32C()
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[0..<4]))
        withUnsafeBytes(of: UInt32(0)) { crc.update($0) }
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[8...]))
        return crc
    }

    /// The 4-byte `signature` at 0 and the CRC-32C at 4 over all of `bytes`.
    static func check(
        _ bytes: [UInt8], signature: [UInt8], structure: VHDError.Structure, path: String, offset: UInt64
    ) throws {
        guard bytes[0..<4].elementsEqual(signature) else {
            throw VHDError(
                .badCookie, path: path, structure: structure, field: "signature", offset: offset,
                "expected '\(String(decoding: signature, as: UTF8.self))', found "
                    + String(decoding: bytes[0..<4], as: UTF8.self).debugDescription)
        }
        let stored = bytes.littleEndian(UInt32.self, at: 4)
        let computed = bytes.withUnsafeBytes { checksum($0) }
        guard stored == computed else {
            throw VHDError(
                .badChecksum, path: path, structure: structure, field: "checksum", offset: offset + 4,
                "stored CRC-32C \(hex(stored)), computed \(hex(computed)); the \(structure.rawValue) is damaged")
        }
    }

    /// The copy of `structure` to use, of the two of `size` bytes at `offsets`, each parsed by `parse`
    /// (which checks it): the one that passes its checks, with a warning naming the other (a write of it
    /// may have been torn); of two valid copies, what `bothValid` picks (or its refusal). An I/O error is
    /// thrown, and so is a refusal naming both copies' damage when neither passes.
    static func current<T>(
        of structure: VHDError.Structure, in file: SystemFile, at offsets: [UInt64], size: Int,
        parse: ([UInt8], UInt64) throws -> T, bothValid: (T, T) throws -> T
    ) throws -> (value: T, warnings: [String]) {
        precondition(offsets.count == 2, "VHDX keeps two copies")
        let parsed = try offsets.map { offset -> Result<T, VHDError> in
            let bytes = try file.readExactly(size, at: offset)
            do {
                return .success(try parse(bytes, offset))
            } catch let error as VHDError {
                return .failure(error)
            }
        }
        switch (parsed[0], parsed[1]) {
        case (.success(let first), .success(let second)):
            return (try bothValid(first, second), [])
        case (.success(let value), .failure(let error)):
            return (value, ["\(error); using the \(structure.rawValue) at byte offset \(offsets[0])"])
        case (.failure(let error), .success(let value)):
            return (value, ["\(error); using the \(structure.rawValue) at byte offset \(offsets[1])"])
        case (.failure(let first), .failure(let second)):
            throw VHDError(
                first.code, path: file.path, structure: first.structure, field: first.field, offset: first.offset,
                first.detail
                    + "; the other copy is damaged too (\(second.field ?? first.structure.rawValue) at byte offset "
                    + "\(second.offset ?? 0): \(second.detail)), so the file has no usable \(structure.rawValue)")
        }
    }
}
