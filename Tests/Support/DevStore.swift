import Foundation
import Synchronization

/// relay-devstore for tests over real HTTP: started on free ports over a fresh directory, terminated
/// when the last reference to its `DevStoreProcess` goes.
public enum DevStore {
    /// relay-devstore next to the test bundle (built with the package), or where `RELAY_DEVSTORE` says.
    public static var path: String {
        if let path = ProcessInfo.processInfo.environment["RELAY_DEVSTORE"] { return path }
        let directory = Bundle.main.executableURL?.deletingLastPathComponent() ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("relay-devstore").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return directory.appendingPathComponent("relay-devstore").path
    }

    /// Whether relay-devstore is built (it is whenever the package holds its target).
    public static var isBuilt: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Starts relay-devstore on free ports over `directory` with `arguments` (e.g. its `--fault-*` flags)
    /// and returns it with the connection string it printed.
    public static func start(directory: String, arguments: [String] = []) async throws -> (DevStoreProcess, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--blob-port", "0", "--queue-port", "0", "--table-port", "0", "--data", directory] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw ToolFailure(message: "cannot start relay-devstore at \(path) (build the package first): \(error)")
        }
        let owner = DevStoreProcess(process)
        // The first line is one JSON object with the ports and the connection string; read on a thread of
        // its own, since reading a pipe blocks.
        let handle = output.fileHandleForReading
        let line: String = try await withCheckedThrowingContinuation { continuation in
            Thread {
                var bytes: [UInt8] = []
                while bytes.last != 10, bytes.count < 65536 {
                    let chunk = handle.readData(ofLength: 1)
                    if chunk.isEmpty { break }
                    bytes += chunk
                }
                if bytes.last == 10 {
                    continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
                } else {
                    continuation.resume(throwing: ToolFailure(message: "relay-devstore ended without printing its ports"))
                }
                // Keep draining so the server never blocks on a full pipe.
                while !handle.readData(ofLength: 65536).isEmpty {}
            }.start()
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let text = object.first(where: { $0.key.lowercased().contains("connection") })?.value as? String else {
            throw ToolFailure(message: "relay-devstore's first line has no connection string: \(line)")
        }
        return (owner, text)
    }
}

/// A running relay-devstore, terminated when the last reference goes.
public final class DevStoreProcess: Sendable {
    private let process: Mutex<Process?>

    init(_ process: sending Process) { self.process = Mutex(process) }

    /// SIGTERM (graceful shutdown) without waiting: deinit may run on the cooperative pool.
    deinit { process.withLock { $0?.terminate() } }
}
