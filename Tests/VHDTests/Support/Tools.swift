import Foundation
import Testing

/// Runs an installed tool and returns its standard output; a failure to run or a non-zero exit fails
/// the test with the tool's standard error (tests that need tools do not skip silently).
@discardableResult
func run(_ tool: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool.hasPrefix("/") ? tool : "/usr/bin/env")
    process.arguments = tool.hasPrefix("/") ? arguments : [tool] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Drain both pipes before waiting, so a chatty tool cannot block on a full pipe.
    let errorData = ErrorOutput()
    Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }.start()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: out, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        let message = "\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): "
            + String(decoding: errorData.wait(), as: UTF8.self)
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
        throw ToolFailure(message: message)
    }
    return text
}

struct ToolFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The standard-error bytes handed from the reader thread; `@unchecked Sendable` because `data` is
/// written once before `done` is signalled and read only after waiting for it.
private final class ErrorOutput: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    func set(_ value: Data) {
        data = value
        done.signal()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
