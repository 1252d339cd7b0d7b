import Foundation

/// The client's record of what a target holds: one XXH3-64 digest per block of the source, as sent by
/// the generation named in the header (docs/replication-contract.md, "Client state"). A zero block has
/// the digest 0 (a data block hashing to 0 is stored as 1), so clears need no reading of the target.
///
/// File layout, little-endian: a 64-byte header, then `blockCount` digests of 8 bytes.
/// ```
///  0  8  magic "VHDRMAN\0"      8  4  version 1        12  4  block size
/// 16  8  virtual size          24  8  generation      32 16  source id (UUID bytes)
/// 48  8  target id (XXH3-64 of "container/blob")      56  8  XXH3-64 of bytes 0..<56
/// ```
/// Digests are read and written by block index with positional I/O, so memory stays one window
/// whatever the disk size. The file is local state, but still checked: a header that does not match the
/// target or a size that does not match the header makes the manifest unusable (a full sync follows).
public final class Manifest: @unchecked Sendable {
    // @unchecked Sendable: the file and header are immutable; positional I/O on one descriptor is safe,
    // and the sync pipeline writes disjoint block ranges from one thread at a time.
    public struct Header: Hashable, Sendable {
        public var blockSize: Int
        public var virtualSize: UInt64
        public var generation: UInt64
        public var sourceID: UUID
        public var targetID: UInt64

        public init(blockSize: Int, virtualSize: UInt64, generation: UInt64, sourceID: UUID, targetID: UInt64) {
            self.blockSize = blockSize
            self.virtualSize = virtualSize
            self.generation = generation
            self.sourceID = sourceID
            self.targetID = targetID
        }

        public var blockCount: Int { Int((virtualSize + UInt64(blockSize) - 1) / UInt64(blockSize)) }
    }

    static let magic: [UInt8] = Array("VHDRMAN\0".utf8)
    static let headerSize = 64
    public static let zeroDigest: UInt64 = 0

    public let header: Header
    public let file: SystemFile

    private init(header: Header, file: SystemFile) {
        self.header = header
        self.file = file
    }

    /// The digest of one block's bytes: 0 for all zeros, never 0 otherwise.
    public static func digest(of block: UnsafeRawBufferPointer) -> UInt64 {
        if block.isAllZero { return zeroDigest }
        let digest = Digest.xxh3_64(block)
        return digest == zeroDigest ? 1 : digest
    }

    /// Creates (or truncates) a manifest whose digests all read 0 until written.
    public static func create(_ path: String, header: Header) throws -> Manifest {
        let file = try SystemFile.create(path, mode: 0o600)
        try file.truncate(to: UInt64(headerSize) + UInt64(header.blockCount) * 8)
        let bytes = encode(header)
        try bytes.withUnsafeBytes { try file.write($0, at: 0) }
        return Manifest(header: header, file: file)
    }

    /// Opens an existing manifest for reading and writing; nil when the file is missing.
    /// Throws `SyncError.badState` when it is not a manifest or its size contradicts its header.
    public static func open(_ path: String) throws -> Manifest? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file = try SystemFile.openForUpdating(path, mode: 0o600)
        let size = try file.size()
        guard size >= UInt64(headerSize) else { throw bad(path, "shorter than its \(headerSize)-byte header") }
        let bytes = try file.readExactly(headerSize, at: 0)
        let header = try decode(bytes, path: path)
        guard size == UInt64(headerSize) + UInt64(header.blockCount) * 8 else {
            throw bad(path, "\(size) bytes, but its header describes \(header.blockCount) blocks")
        }
        return Manifest(header: header, file: file)
    }

    /// Digests of blocks `range`, read in one call.
    public func digests(_ range: Range<Int>) throws -> [UInt64] {
        precondition(range.lowerBound >= 0 && range.upperBound <= header.blockCount)
        var values = [UInt64](repeating: 0, count: range.count)
        try values.withUnsafeMutableBytes { buffer in
            guard try file.read(into: buffer, at: Self.offset(range.lowerBound)) == buffer.count else {
                throw Self.bad(file.path, "ends inside block \(range.lowerBound)..<\(range.upperBound)")
            }
        }
        return values.map { UInt64(littleEndian: $0) }
    }

    /// Writes the digests of blocks starting at `first`.
    public func write(_ digests: [UInt64], from first: Int) throws {
        precondition(first >= 0 && first + digests.count <= header.blockCount)
        let values = digests.map(\.littleEndian)
        try values.withUnsafeBytes { try file.write($0, at: Self.offset(first)) }
    }

    private static func offset(_ block: Int) -> UInt64 { UInt64(headerSize) + UInt64(block) * 8 }

    static func encode(_ header: Header) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize)
        bytes.withUnsafeMutableBytes { out in
            out.copyBytes(from: magic)
            out.storeLittleEndian(UInt32(1), at: 8)
            out.storeLittleEndian(UInt32(header.blockSize), at: 12)
            out.storeLittleEndian(header.virtualSize, at: 16)
            out.storeLittleEndian(header.generation, at: 24)
            withUnsafeBytes(of: header.sourceID.uuid) {
                UnsafeMutableRawBufferPointer(rebasing: out[32..<48]).copyMemory(from: $0)
            }
            out.storeLittleEndian(header.targetID, at: 48)
            out.storeLittleEndian(Digest.xxh3_64(UnsafeRawBufferPointer(rebasing: out[0..<56])), at: 56)
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> Header {
        try bytes.withUnsafeBytes { raw in
            func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            guard Array(raw[0..<8]) == magic else { throw bad(path, "no manifest magic") }
            guard load(56, UInt64.self) == Digest.xxh3_64(UnsafeRawBufferPointer(rebasing: raw[0..<56])) else {
                throw bad(path, "header checksum mismatch")
            }
            guard load(8, UInt32.self) == 1 else { throw bad(path, "unknown version \(load(8, UInt32.self))") }
            let blockSize = Int(load(12, UInt32.self))
            guard SyncOptions.blockSizes.contains(blockSize), blockSize.nonzeroBitCount == 1 else {
                throw bad(path, "block size \(blockSize) is not a power of two in \(SyncOptions.blockSizes)")
            }
            var uuid = UUID().uuid
            withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[32..<48])) }
            let virtualSize = load(16, UInt64.self)
            guard virtualSize <= SyncOptions.maxVirtualSize else {
                throw bad(path, "virtual size \(virtualSize) is too large")
            }
            return Header(
                blockSize: blockSize, virtualSize: virtualSize, generation: load(24, UInt64.self),
                sourceID: UUID(uuid: uuid), targetID: load(48, UInt64.self))
        }
    }

    private static func bad(_ path: String, _ detail: String) -> SyncError {
        SyncError(.badState, "\(path): not a usable manifest (\(detail)); delete it to force a full sync")
    }
}
