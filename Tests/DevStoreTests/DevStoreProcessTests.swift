import Foundation
import RelayDevStoreKit
import RelayShared
import TestSupport
import Testing

/// The relay-devstore executable as users run it: the first stdout line is one JSON object with the
/// three ports and the connection string; SIGTERM stops it with status 0; a temporary data directory
/// is removed on exit and a `--data` one is kept; the log names no key.
@Suite(.timeLimit(.minutes(2)))
struct DevStoreProcessTests {
    /// Runs relay-devstore on free ports with `arguments`, hands `body` the JSON object of its first
    /// stdout line, then stops it with SIGTERM; returns its exit status and its log (standard error).
    static func run(_ arguments: [String], whileRunning body: (_ info: [String: Any]) async throws -> Void) async throws
        -> (status: Int32, log: String)
    {
        let scratch = try TemporaryDirectory()
        let devStore = try ChildProcess(
            builtProduct("relay-devstore"), ["--blob-port", "0", "--queue-port", "0", "--table-port", "0"] + arguments,
            outputPath: scratch.file("stdout"))
        let deadline = ContinuousClock.now + .seconds(30)
        while try devStore.lines().isEmpty, !devStore.hasExited, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let line = try #require(
            try devStore.lines().first, "relay-devstore printed no first line: \(devStore.errorOutput())")
        let info = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            "first line is not a JSON object: \(line)")
        do {
            try await body(info)
        } catch {
            devStore.signal(SIGTERM)
            throw error
        }
        devStore.signal(SIGTERM)
        let status = await devStore.waitForExit(limit: .seconds(30))
        return (status, devStore.errorOutput())
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
                method: "PUT", port: blob, path: "/devstoreaccount1/first", query: [("restype", "container")]
            ).signed().send()
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
        let scratch = try TemporaryDirectory()
        let directory = scratch.file("data")
        let (status, _) = try await Self.run(["--data", directory]) { info in
            let blob = try #require(info["blobPort"] as? Int)
            #expect(
                try await RawRequest(
                    method: "PUT", port: blob, path: "/devstoreaccount1/kept", query: [("restype", "container")]
                ).signed().send().status == 201)
        }
        #expect(status == 0)
        #expect(FileManager.default.fileExists(atPath: directory + "/devstoreaccount1/store.db"))
    }
}
