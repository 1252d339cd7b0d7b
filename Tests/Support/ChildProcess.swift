import Foundation
import Synchronization

/// A process running beside the test (a second writer, a probe to kill), with its stdout in a file and
/// its stderr in the file plus `.err`; its exit is awaited without blocking a thread. The one process
/// runner of the tests: `run` and `runOK` (Tools.swift) use it to run tools to completion.
///
/// `@unchecked Sendable`: `process` is configured and started in `init`; afterwards only its process id
/// is read, and the exit state lives in a `Mutex`.
public final class ChildProcess: @unchecked Sendable {
    public let outputPath: String
    private let process: Process
    private let exit = Mutex<ExitState>(.running([]))

    private enum ExitState {
        case running([CheckedContinuation<Int32, Never>])
        case exited(Int32)
    }

    /// Starts `executable` with `arguments` (and `environment` instead of this process's, when given),
    /// writing its stdout to `outputPath` and its stderr to `outputPath.err`. A missing executable is an
    /// error that says how to build it.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, outputPath: String)
        throws
    {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ToolFailure(
                message: "\(executable) is missing: build it with `swift build --build-tests` before running the tests")
        }
        self.outputPath = outputPath
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: outputPath + ".err", contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath + ".err"))
        process.terminationHandler = { [weak self] process in
            guard let self else { return }
            let waiting = self.exit.withLock { state -> [CheckedContinuation<Int32, Never>] in
                guard case .running(let waiting) = state else { return [] }
                state = .exited(process.terminationStatus)
                return waiting
            }
            for continuation in waiting { continuation.resume(returning: process.terminationStatus) }
        }
        try process.run()
    }

    /// A process still running when the test lets go of it is killed: no test leaves one behind.
    deinit { if !hasExited { kill9() } }

    /// Waits (without blocking a thread) for the process to end; kills it if it outlives `limit`.
    public func waitForExit(limit: Duration) async -> Int32 {
        let watchdog = Task { [process] in
            try await Task.sleep(for: limit)
            kill(process.processIdentifier, SIGKILL)
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { continuation in
            let status = exit.withLock { state -> Int32? in
                switch state {
                case .exited(let status): return status
                case .running(let waiting):
                    state = .running(waiting + [continuation])
                    return nil
                }
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    public var hasExited: Bool { exit.withLock { if case .exited = $0 { true } else { false } } }

    public func kill9() { signal(SIGKILL) }

    /// Sends `number` (SIGSTOP, SIGCONT, SIGTERM, …) to the process.
    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// The complete lines the process wrote so far (a line cut by a kill is not one).
    public func lines() throws -> [Substring] {
        let text = try String(contentsOfFile: outputPath, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()
        return lines
    }

    /// Waits until the process has written `count` complete lines that `isCounted` accepts, has ended, or
    /// `limit` has passed, whichever comes first; the caller checks which.
    public func waitForLines(
        _ count: Int, matching isCounted: (Substring) -> Bool = { _ in true }, limit: Duration
    ) async throws {
        let giveUp = ContinuousClock.now + limit
        while try lines().count(where: isCounted) < count, ContinuousClock.now < giveUp, !hasExited {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    public func errorOutput() -> String { (try? String(contentsOfFile: outputPath + ".err", encoding: .utf8)) ?? "" }
}
