import Foundation
import Testing

/// The output of a finished process.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `executable` (a path, or a name looked up on PATH) with `arguments` to completion.
/// Output goes to files rather than pipes, so a chatty child can never block on a full pipe.
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
    let scratch = try TemporaryDirectory()
    let outPath = scratch.file("stdout")
    let errPath = scratch.file("stderr")
    try Data().write(to: URL(fileURLWithPath: outPath))
    try Data().write(to: URL(fileURLWithPath: errPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    try process.run()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: try String(contentsOfFile: outPath, encoding: .utf8),
        stderr: try String(contentsOfFile: errPath, encoding: .utf8))
}

/// Runs a command that must succeed, returning its stdout.
@discardableResult
func runOK(_ executable: String, _ arguments: [String]) throws -> String {
    let result = try run(executable, arguments)
    try #require(result.status == 0, "\(executable) \(arguments.joined(separator: " ")) failed: \(result.stderr)")
    return result.stdout
}

/// The `relay-client` built beside the test bundle by `swift build --build-tests`.
let relayClient: String = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return bundle.deletingLastPathComponent().appendingPathComponent("relay-client").path
}()

/// A fresh directory under /tmp, removed when the value is deinitialised.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "relay-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// An ext4 file system of `size` bytes holding a few MiB of varied files, as a raw image.
func makeExt4Image(at path: String, size: UInt64, scratch: TemporaryDirectory) throws {
    let files = scratch.file("files-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
    var generator = SystemRandomNumberGenerator()
    for index in 0..<8 {
        // Text-like, random and zero-run content, so compression and hole detection both have work.
        var bytes = [UInt8]()
        for line in 0..<(2_000 * (index + 1)) { bytes += Array("line \(line) of file \(index)\n".utf8) }
        bytes += (0..<(64 << 10)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes += [UInt8](repeating: 0, count: 128 << 10)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(files)/file-\(index).bin"))
    }
    try Data().write(to: URL(fileURLWithPath: path))
    try FileHandle(forWritingAtPath: path)!.truncate(atOffset: size)
    try runOK("mkfs.ext4", ["-q", "-F", "-d", files, path])
}
