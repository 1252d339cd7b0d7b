import Glibc

/// The data file of one local blob (or snapshot): positional reads and writes, hole punching for
/// cleared pages, resizing, and copying for snapshots. Blocking calls: use only on the store's threads.
///
/// Not `Sendable`: a file is opened, used and closed inside one blocking job on one thread.
final class LocalBlobFile {
    let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { _ = Glibc.close(fd) }

    static func open(_ path: String) throws -> LocalBlobFile {
        try open(path, flags: O_RDWR | O_CLOEXEC, operation: "open")
    }

    /// Creates an empty file; fails if it exists (names are unique, so an existing one is a bug).
    static func create(_ path: String) throws -> LocalBlobFile {
        try open(path, flags: O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, operation: "create")
    }

    private static func open(_ path: String, flags: Int32, operation: String) throws -> LocalBlobFile {
        let fd = try retrying(path: path, operation: operation, offset: nil) { Int(Glibc.open(path, flags, 0o644)) }
        return LocalBlobFile(path: path, fd: Int32(fd))
    }

    /// Removes a file; a missing one is fine (a crash may have removed it already).
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw FileError(path: path, operation: "unlink", offset: nil, errno: errno)
        }
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let position = offset + UInt64(done)
                done += try Self.retrying(path: path, operation: "write", offset: position) {
                    pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(position))
                }
            }
        }
    }

    /// Reads exactly `count` bytes at `offset`. The caller keeps the range inside the blob, whose file
    /// always has the blob's size, so a short read means the store was damaged from outside.
    func read(_ count: Int, at offset: UInt64) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let position = offset + UInt64(done)
                let n = try Self.retrying(path: path, operation: "read", offset: position) {
                    pread(fd, buffer.baseAddress! + done, count - done, off_t(position))
                }
                guard n > 0 else {
                    throw FileError(path: path, operation: "read of \(count) bytes (file ends early)", offset: position, errno: EIO)
                }
                done += n
            }
            initialized = count
        }
    }

    func setSize(_ size: UInt64) throws {
        _ = try Self.retrying(path: path, operation: "truncate", offset: size) { Int(ftruncate(fd, off_t(size))) }
    }

    /// Frees the blocks of `range`, which then reads as zeros; the file keeps its size.
    func punchHole(_ range: ByteRange) throws {
        let mode = Self.fallocatePunchHole | Self.fallocateKeepSize
        let operation = "punch hole of \(range.length) bytes"
        guard let fallocate = Self.fallocate else {
            throw FileError(path: path, operation: operation, offset: range.offset, errno: ENOSYS)
        }
        _ = try Self.retrying(path: path, operation: operation, offset: range.offset) {
            Int(fallocate(fd, mode, off_t(range.offset), off_t(range.length)))
        }
    }

    /// Bytes the file occupies on disk (`st_blocks` × 512), which is what sparseness is about.
    func allocatedBytes() throws -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, operation: "stat", offset: nil, errno: errno) }
        return UInt64(info.st_blocks) * 512
    }

    /// Makes `destination` (new) a copy of this file: a reflink where the file system shares blocks
    /// (btrfs, XFS), else a copy of the data regions only, so holes stay holes.
    func copy(to destination: String) throws -> LocalBlobFile {
        let copy = try LocalBlobFile.create(destination)
        if ioctl(copy.fd, Self.ficlone, fd) == 0 { return copy }
        let size = try fileSize()
        try copy.setSize(size)
        var offset: UInt64 = 0
        while offset < size {
            guard let data = try seek(from: offset, whence: Self.seekData) else { break }
            let hole = try seek(from: data, whence: Self.seekHole) ?? size
            try copyRegion(ByteRange(offset: data, length: hole - data), to: copy)
            offset = hole
        }
        return copy
    }

    private func copyRegion(_ region: ByteRange, to copy: LocalBlobFile) throws {
        let chunk: UInt64 = 4 << 20
        var offset = region.offset
        while offset < region.end {
            let count = Int(min(chunk, region.end - offset))
            try copy.write(try read(count, at: offset), at: offset)
            offset += UInt64(count)
        }
    }

    private func fileSize() throws -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, operation: "stat", offset: nil, errno: errno) }
        return UInt64(info.st_size)
    }

    /// `lseek` with SEEK_DATA / SEEK_HOLE; nil when there is no more data (ENXIO).
    private func seek(from offset: UInt64, whence: Int32) throws -> UInt64? {
        let result = lseek(fd, off_t(offset), whence)
        if result >= 0 { return UInt64(result) }
        if errno == ENXIO { return nil }
        throw FileError(path: path, operation: "lseek for data or hole", offset: offset, errno: errno)
    }

    private static func retrying(path: String, operation: String, offset: UInt64?, _ call: () -> Int) throws -> Int {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw FileError(path: path, operation: operation, offset: offset, errno: errno)
        }
    }

    // Linux constants that Swift's Glibc module does not import (they need _GNU_SOURCE or kernel headers).
    private static let seekData: Int32 = 3 // SEEK_DATA
    private static let seekHole: Int32 = 4 // SEEK_HOLE
    private static let fallocateKeepSize: Int32 = 0x01 // FALLOC_FL_KEEP_SIZE
    private static let fallocatePunchHole: Int32 = 0x02 // FALLOC_FL_PUNCH_HOLE
    private static let ficlone: UInt = 0x4004_9409 // FICLONE = _IOW(0x94, 9, int)

    /// glibc's `fallocate`, looked up at run time because the Glibc module is imported without
    /// _GNU_SOURCE; this avoids a C shim target for one function.
    private static let fallocate: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0) /* RTLD_DEFAULT */, "fallocate") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32).self)
    }()
}
