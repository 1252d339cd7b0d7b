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

/// Runs `executable` (a path, or a name looked up on PATH) with `arguments` to completion, through
/// `ChildProcess`: its exit is awaited without blocking a thread of Swift's cooperative pool. Output goes to
/// files rather than pipes, so a chatty child can never block on a full pipe; a child still running after
/// `limit` is killed.
@discardableResult
public func run(_ executable: String, _ arguments: [String], limit: Duration = .seconds(600)) async throws
    -> ProcessResult
{
    let scratch = try TemporaryDirectory()
    let child =
        executable.hasPrefix("/")
        ? try ChildProcess(executable, arguments, outputPath: scratch.file("stdout"))
        : try ChildProcess("/usr/bin/env", [executable] + arguments, outputPath: scratch.file("stdout"))
    let status = await child.waitForExit(limit: limit)
    return ProcessResult(
        status: status, stdout: try String(contentsOfFile: child.outputPath, encoding: .utf8),
        stderr: child.errorOutput())
}

/// Runs a tool that must succeed (tests that need tools do not skip silently) and returns its stdout.
@discardableResult
public func runOK(_ executable: String, _ arguments: [String]) async throws -> String {
    let result = try await run(executable, arguments)
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
