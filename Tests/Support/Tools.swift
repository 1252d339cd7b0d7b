import Foundation

/// The output of a finished process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// A tool that could not run or exited non-zero; its message carries the tool's standard error.
public struct ToolFailure: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Runs `executable` (a path, or a name looked up on PATH) with `arguments` to completion.
/// Output goes to files rather than pipes, so a chatty child can never block on a full pipe.
@discardableResult
public func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
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

/// Runs a tool that must succeed (tests that need tools do not skip silently) and returns its stdout.
@discardableResult
public func runOK(_ executable: String, _ arguments: [String]) throws -> String {
    let result = try run(executable, arguments)
    guard result.status == 0 else {
        throw ToolFailure(
            message: "\(executable) \(arguments.joined(separator: " ")) exited with \(result.status): \(result.stderr)")
    }
    return result.stdout
}

/// An executable built beside the test bundle by `swift build --build-tests` (e.g. `relay-client`).
public func builtProduct(_ name: String) -> String {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent(name).path
}
