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

/// A file descriptor with positional I/O that retries `EINTR` and short transfers.
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

    /// Creates `path`, which must not exist, not even as a symbolic link (`O_EXCL | O_NOFOLLOW`): a
    /// file planted under the name is never opened, let alone truncated.
    public static func createNew(_ path: String, mode: mode_t = 0o644) throws -> SystemFile {
        try open(path, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: mode, operation: "create (new file)")
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
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { (buffer) throws -> Int in
            try read(into: buffer, at: offset)
        }
        guard n == count else {
            throw FileError(path: path, operation: "read of \(count) bytes (file ends early)", offset: offset, errno: EIO)
        }
        return bytes
    }

    /// Writes all of `buffer` at `offset`.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let n = try Self.retryingEINTR(path: path, operation: "write", offset: position) {
                pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(position))
            }
            done += n
        }
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
