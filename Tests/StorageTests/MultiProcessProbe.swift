import Foundation
import Synchronization
import Testing

/// A running `relay-store-probe`, the executable built next to this test bundle, with its stdout in a file.
///
/// `@unchecked Sendable`: `process` is configured and started in `init`; afterwards only its process id
/// is read, and the exit state lives in a `Mutex`.
final class MultiProcessProbe: @unchecked Sendable {
    let outputPath: String
    private let process: Process
    private let exit = Mutex<ExitState>(.running([]))

    private enum ExitState {
        case running([CheckedContinuation<Int32, Never>])
        case exited(Int32)
    }

    /// The probe next to the running test bundle (the directory of `/proc/self/exe`).
    static var executable: URL {
        get throws {
            let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let probe = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("relay-store-probe")
            guard FileManager.default.isExecutableFile(atPath: probe.path) else {
                throw ProbeMissing(path: probe.path)
            }
            return probe
        }
    }

    struct ProbeMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is missing: build it with `swift build --build-tests` before running the tests" }
    }

    /// Starts the probe with `arguments`, writing its stdout to `outputPath` and its stderr to `outputPath.err`.
    init(_ arguments: [String], outputPath: String) throws {
        self.outputPath = outputPath
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: outputPath + ".err", contents: nil)
        process = Process()
        process.executableURL = try Self.executable
        process.arguments = arguments
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

    /// Waits (without blocking a thread) for the probe to end; kills it if it outlives `limit`.
    func waitForExit(limit: Duration) async -> Int32 {
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

    func kill9() { kill(process.processIdentifier, SIGKILL) }

    /// The complete lines the probe wrote so far (a line cut by a kill is not one).
    func lines() throws -> [Substring] {
        let text = try String(contentsOfFile: outputPath, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()
        return lines
    }

    func errorOutput() -> String { (try? String(contentsOfFile: outputPath + ".err", encoding: .utf8)) ?? "" }
}
