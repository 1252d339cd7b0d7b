import Foundation

/// relay-devstore for tests over real HTTP: started on free ports over a fresh directory, terminated
/// when the last reference to its `DevStoreProcess` goes.
public enum DevStore {
    /// relay-devstore next to the test bundle (built with the package), or where `RELAY_DEVSTORE` says.
    public static var path: String {
        if let path = ProcessInfo.processInfo.environment["RELAY_DEVSTORE"] { return path }
        let directory =
            Bundle.main.executableURL?.deletingLastPathComponent()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
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
        // Its output goes to a file inside its data directory, which it shares with the accounts' folders.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let child = try ChildProcess(
            path, ["--blob-port", "0", "--queue-port", "0", "--table-port", "0", "--data", directory] + arguments,
            outputPath: directory + "/devstore.out")
        let owner = DevStoreProcess(child)
        // The first line is one JSON object with the ports and the connection string.
        let deadline = ContinuousClock.now + .seconds(60)
        while try child.lines().isEmpty {
            guard !child.hasExited, ContinuousClock.now < deadline else {
                throw ToolFailure(
                    message: "relay-devstore ended or hung without printing its ports: \(child.errorOutput())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let line = try child.lines()[0]
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let text = object.first(where: { $0.key.lowercased().contains("connection") })?.value as? String
        else {
            throw ToolFailure(message: "relay-devstore's first line has no connection string: \(line)")
        }
        return (owner, text)
    }
}

/// A running relay-devstore, stopped when the last reference goes.
public final class DevStoreProcess: Sendable {
    private let child: ChildProcess

    init(_ child: ChildProcess) { self.child = child }

    /// SIGTERM (graceful shutdown) without waiting: deinit may run on the cooperative pool.
    deinit { child.signal(SIGTERM) }
}
