import Foundation
import RelayDevStoreKit
import RelayShared
import Testing

/// The relay-devstore executable as users run it: the first stdout line is one JSON object with the
/// three ports and the connection string; SIGTERM stops it with status 0; a temporary data directory
/// is removed on exit and a `--data` one is kept; the log names no key.
@Suite(.timeLimit(.minutes(2)))
struct DevStoreProcessTests {
    /// `swift build --build-tests` puts the executable next to the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("relay-devstore")
    }

    /// Reads one line on a thread of its own, so the blocking read never holds a cooperative thread.
    static func firstLine(of handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            Thread {
                var bytes: [UInt8] = []
                while true {
                    let chunk = handle.readData(ofLength: 1)
                    if chunk.isEmpty || chunk.first == UInt8(ascii: "\n") { break }
                    bytes.append(chunk[0])
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }.start()
        }
    }

    static func run(_ arguments: [String], whileRunning body: (_ info: [String: Any]) async throws -> Void) async throws -> (status: Int32, log: String) {
        let path = executable.path
        try #require(FileManager.default.isExecutableFile(atPath: path), "build relay-devstore first (swift build --build-tests): \(path)")
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--blob-port", "0", "--queue-port", "0", "--table-port", "0"] + arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let line = await firstLine(of: stdout.fileHandleForReading)
        let info = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "first line is not a JSON object: \(line)")
        do {
            try await body(info)
        } catch {
            process.terminate()
            throw error
        }
        process.terminate()  // SIGTERM
        await withCheckedContinuation { continuation in
            Thread { process.waitUntilExit(); continuation.resume() }.start()
        }
        let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, log)
    }

    @Test func printsPortsAndStopsOnSIGTERM() async throws {
        var dataPath: String?
        let (status, log) = try await Self.run([]) { info in
            let blob = try #require(info["blobPort"] as? Int)
            let queue = try #require(info["queuePort"] as? Int)
            let table = try #require(info["tablePort"] as? Int)
            #expect(Set([blob, queue, table]).count == 3 && blob > 0)
            let connection = try ConnectionString(try #require(info["connectionString"] as? String))
            #expect(connection.blobEndpoint?.absoluteString == "http://127.0.0.1:\(blob)/devstoreaccount1")
            #expect(connection.tableEndpoint?.port == table && connection.queueEndpoint?.port == queue)
            let response = try await RawRequest(
                method: "PUT", port: blob, path: "/devstoreaccount1/first", query: [("restype", "container")]).signed().send()
            #expect(response.status == 201)
        }
        #expect(status == 0)
        #expect(!log.contains(ConnectionString.developmentAccountKey))
        // The log says where the temporary data was; it is gone now.
        if let range = log.range(of: #"data=(\S+)"#, options: .regularExpression) {
            dataPath = String(log[range].dropFirst("data=".count))
        }
        let path = try #require(dataPath, "the start-up log names the data directory")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func keepsAnExplicitDataDirectory() async throws {
        let directory = NSTemporaryDirectory() + "relay-devstore-data-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, _) = try await Self.run(["--data", directory]) { info in
            let blob = try #require(info["blobPort"] as? Int)
            #expect(try await RawRequest(method: "PUT", port: blob, path: "/devstoreaccount1/kept", query: [("restype", "container")]).signed().send().status == 201)
        }
        #expect(status == 0)
        #expect(FileManager.default.fileExists(atPath: directory + "/devstoreaccount1/store.db"))
    }
}
