import CLinux
import Glibc

/// A file error that names the file, what was attempted and the byte offset, with the errno text.
public struct FileError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let operation: String
    public let offset: UInt64?
    public let errno: Int32

    public init(path: String, operation: String, offset: UInt64?, errno: Int32) {
        self.path = path
        self.operation = operation
        self.offset = offset
        self.errno = errno
    }

    public var description: String {
        let at = offset.map { " at byte offset \($0)" } ?? ""
        return "\(path): \(operation)\(at) failed: \(String(cString: strerror(errno)))"
    }
}

/// A file descriptor with positional I/O that retries `EINTR` and short transfers, and the Linux calls
/// of sparse files (hole punching, data and hole seeking, reflink copies) through the CLinux shim.
/// Every call goes through one helper that retries `EINTR` and throws a `FileError`.
///
/// Reads and writes are blocking system calls: call them from a dedicated thread or a synchronous
/// command, never from a task on Swift's cooperative pool.
///
/// `@unchecked Sendable`: the descriptor is immutable after `init`; `pread`/`pwrite` are safe to issue
/// concurrently on one descriptor, and `close()` is the owner's last call.
public final class SystemFile: @unchecked Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { _ = Glibc.close(fd) }

    public static func openForReading(_ path: String) throws -> SystemFile {
        try open(path, flags: O_RDONLY | O_CLOEXEC, operation: "open for reading")
    }

    /// Creates or truncates `path` for writing.
    public static func create(_ path: String, mode: mode_t = 0o644) throws -> SystemFile {
        try open(path, flags: O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode: mode, operation: "create")
    }

    /// Opens an existing file for reading and writing.
    public static func openForWriting(_ path: String) throws -> SystemFile {
        try open(path, flags: O_RDWR | O_CLOEXEC, operation: "open for writing")
    }

    /// Creates `path`, which must not exist, not even as a symbolic link (`O_EXCL | O_NOFOLLOW`): a
    /// file planted under the name is never opened, let alone truncated.
    public static func createNew(_ path: String, mode: mode_t = 0o644) throws -> SystemFile {
        try open(
            path, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: mode, operation: "create (new file)")
    }

    /// Removes a file; a missing one is fine (a crash may have removed it already).
    public static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw FileError(path: path, operation: "unlink", offset: nil, errno: errno)
        }
    }

    /// Opens `path` for reading and writing, creating it empty if missing; existing bytes are kept.
    public static func openForUpdating(_ path: String, mode: mode_t = 0o644) throws -> SystemFile {
        try open(path, flags: O_RDWR | O_CREAT | O_CLOEXEC, mode: mode, operation: "open for updating")
    }

    private static func open(
        _ path: String, flags: Int32, mode: mode_t = 0, operation: String
    ) throws -> SystemFile {
        let fd = try retryingEINTR(path: path, operation: operation, offset: nil) {
            Glibc.open(path, flags, mode)
        }
        return SystemFile(path: path, fd: Int32(fd))
    }

    /// The file's current size in bytes; for a block device (a whole disk given as a raw source), the
    /// device's size, which `fstat` reports as 0.
    public func size() throws -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw FileError(path: path, operation: "stat", offset: nil, errno: errno)
        }
        guard info.st_mode & S_IFMT == S_IFBLK else { return UInt64(info.st_size) }
        // Positional I/O never uses the file offset, so moving it to the end is harmless.
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else {
            throw FileError(path: path, operation: "seek to the end of the device", offset: nil, errno: errno)
        }
        return UInt64(end)
    }

    /// The modification time, in nanoseconds since the epoch; with `size()` it tells whether a file changed.
    public func modificationTime() throws -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw FileError(path: path, operation: "stat", offset: nil, errno: errno)
        }
        return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let n = try Self.retryingEINTR(path: path, operation: "read", offset: position) {
                pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(position))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `count` bytes at `offset`; fewer bytes in the file is an `EIO`-style error
    /// naming the offset, since callers check sizes before reading.
    public func readExactly(_ count: Int, at offset: UInt64) throws -> [UInt8] {
        // Uninitialized: every byte is read over, so zero-filling a 4 MiB buffer first would be waste.
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset) == count else {
                throw FileError(
                    path: path, operation: "read of \(count) bytes (file ends early)", offset: offset, errno: EIO)
            }
            initialized = count
        }
    }

    /// The most one `pwrite` writes. The page cache sizes its pages (folios) by the write: one large
    /// write into new pages of a file takes large folios, which the kernel cuts from large free blocks,
    /// the memory a VM has most likely handed back to its host, so that every 4 KiB faults on the host.
    /// Writes of this size take small pages, as `zstd` writes its output: measured with 96 MB of new
    /// 2 MiB files, 0.43 s of system time in single writes against 0.05 s in 128 KiB writes (docs/storage.md).
    static let writeChunk = 128 << 10

    /// Writes all of `buffer` at `offset`, in writes of at most `writeChunk` bytes.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let n = try Self.retryingEINTR(path: path, operation: "write", offset: position) {
                pwrite(fd, buffer.baseAddress! + done, min(buffer.count - done, Self.writeChunk), off_t(position))
            }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Sets the file's size; growing leaves a hole that reads as zeros and takes no space.
    public func truncate(to size: UInt64) throws {
        _ = try Self.retryingEINTR(path: path, operation: "truncate", offset: size) {
            Int(ftruncate(fd, off_t(size)))
        }
    }

    /// Flushes data and metadata to stable storage.
    public func sync() throws {
        _ = try Self.retryingEINTR(path: path, operation: "fsync", offset: nil) { Int(fsync(fd)) }
    }

    /// Starts writing the range's dirty pages to disk and returns without waiting, so that `sync` finds
    /// less to wait for. Only a hint: a file system that cannot is left to `sync`, so failures are ignored.
    public func startWriteback(_ range: ByteRange) {
        _ = CLinux_start_writeback(fd, Int64(range.offset), Int64(range.length))
    }

    /// Frees the blocks of `range`, which then reads as zeros; the file keeps its size.
    public func punchHole(_ range: ByteRange) throws {
        _ = try Self.retryingEINTR(path: path, operation: "punch hole of \(range.length) bytes", offset: range.offset) {
            CLinux_punch_hole(fd, Int64(range.offset), Int64(range.length))
        }
    }

    /// Bytes the file occupies on disk (`st_blocks` × 512), which is what sparseness is about.
    public func allocatedBytes() throws -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw FileError(path: path, operation: "stat", offset: nil, errno: errno)
        }
        return UInt64(info.st_blocks) * 512
    }

    /// Makes `destination` (new) a copy of this file: a reflink where the file system shares blocks
    /// (btrfs, XFS), else a copy of the data regions only, so holes stay holes, made by the kernel
    /// (`copy_file_range`, about twice as fast as reading and writing through user space on ext4).
    public func copy(to destination: String) throws -> SystemFile {
        let copy = try SystemFile.createNew(destination)
        if CLinux_clone(copy.fd, fd) == 0 { return copy }
        let size = try size()
        try copy.truncate(to: size)
        var offset: UInt64 = 0
        var inKernel = true
        while offset < size, let data = try seek(CLinux_seek_data, from: offset) {
            let hole = try seek(CLinux_seek_hole, from: data) ?? size
            var position = data
            while position < hole {
                let count = Int(min(4 << 20, hole - position))
                if inKernel {
                    let copied = CLinux_copy_range(fd, Int64(position), copy.fd, Int64(position), Int64(count))
                    if copied > 0 {
                        position += UInt64(copied)
                        continue
                    }
                    if copied < 0, errno == EINTR { continue }
                    // Not supported here (an old kernel, another file system, a file that ended early): copy by hand.
                    guard copied < 0, [ENOSYS, EXDEV, EOPNOTSUPP, EINVAL].contains(errno) else {
                        throw FileError(
                            path: path, operation: "copy_file_range of \(count) bytes", offset: position,
                            errno: copied == 0 ? EIO : errno)
                    }
                    inKernel = false
                }
                try copy.write(try readExactly(count, at: position), at: position)
                position += UInt64(count)
            }
            offset = hole
        }
        return copy
    }

    /// `lseek` with SEEK_DATA or SEEK_HOLE; nil when there is no more data (ENXIO).
    private func seek(_ call: (Int32, Int64) -> Int64, from offset: UInt64) throws -> UInt64? {
        while true {
            let result = call(fd, Int64(offset))
            if result >= 0 { return UInt64(result) }
            if errno == EINTR { continue }
            if errno == ENXIO { return nil }
            throw FileError(path: path, operation: "lseek for data or hole", offset: offset, errno: errno)
        }
    }

    private static func retryingEINTR<R: BinaryInteger>(
        path: String, operation: String, offset: UInt64?, _ call: () -> R
    ) throws -> Int {
        while true {
            let result = call()
            if result >= 0 { return Int(result) }
            if errno == EINTR { continue }
            throw FileError(path: path, operation: operation, offset: offset, errno: errno)
        }
    }
}
