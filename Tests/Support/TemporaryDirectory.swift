import Foundation
import Glibc
import RelayShared

/// A fresh directory under the system temp directory, removed with everything in it when the last
/// reference goes, unless `RELAY_KEEP_TEST_FILES` is set (to look at a failing test's files).
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        let pattern = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("relay-test-XXXXXX").path
        var template = Array(pattern.utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FileError(path: pattern, operation: "mkdtemp", offset: nil, errno: errno)
        }
        path = String(decoding: UnsafeRawBufferPointer(start: created, count: strlen(created)), as: UTF8.self)
    }

    deinit {
        guard ProcessInfo.processInfo.environment["RELAY_KEEP_TEST_FILES"] == nil else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    public func file(_ name: String) -> String { path + "/" + name }
}

/// Reads a whole file into memory (test files are a few MiB).
public func contents(of path: String) throws -> [UInt8] {
    let file = try SystemFile.openForReading(path)
    return try file.readExactly(Int(try file.size()), at: 0)
}

/// Writes `bytes` as the whole content of `path`.
public func write(_ bytes: [UInt8], to path: String) throws {
    let file = try SystemFile.create(path)
    try bytes.withUnsafeBytes { try file.write($0, at: 0) }
}

/// Overwrites part of an existing file, for tests that damage images.
public func patch(_ path: String, at offset: UInt64, with bytes: [UInt8]) throws {
    // SystemFile only creates (truncating) or reads, so this test helper writes in place itself.
    let fd = open(path, O_WRONLY)
    guard fd >= 0 else { throw FileError(path: path, operation: "open for patching", offset: nil, errno: errno) }
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
    guard written == bytes.count else {
        throw FileError(path: path, operation: "patch", offset: offset, errno: errno)
    }
}
