import Foundation
import Logging
import RelayDevStoreKit
import RelayShared
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The library's server, not TestSupport's launcher of the relay-devstore executable.
typealias DevStore = RelayDevStoreKit.DevStore

/// A relay-devstore running in this process on free ports, over a fresh temporary directory.
final class RunningDevStore: Sendable {
    let ports: DevStore.Ports
    let directory: TemporaryDirectory
    private let task: Task<Void, any Error>
    private let shutdown: @Sendable () async -> Void

    static func start(
        faults: FaultConfiguration? = nil, connections: ConnectionLimits? = nil,
        deletedContainerHold: TimeInterval? = nil
    ) async throws -> RunningDevStore {
        let directory = try TemporaryDirectory()
        var configuration = DevStore.Configuration(dataDirectory: directory.path)
        configuration.blobPort = 0
        configuration.queuePort = 0
        configuration.tablePort = 0
        configuration.faults = faults
        if let connections { configuration.connections = connections }
        if let deletedContainerHold { configuration.deletedContainerHold = deletedContainerHold }
        configuration.gracefulShutdownSignals = []
        var logger = Logger(label: "devstore-test")
        logger.logLevel = .warning
        typealias Ready = (ports: DevStore.Ports, stop: @Sendable () async -> Void)
        let (stream, continuation) = AsyncStream.makeStream(of: Ready.self)
        let store = DevStore(configuration: configuration, logger: logger)
        let task = Task { try await store.run { continuation.yield(($0, $1)) } }
        var iterator = stream.makeAsyncIterator()
        guard let ready = await iterator.next() else { throw CancellationError() }
        return RunningDevStore(ports: ready.ports, directory: directory, task: task, shutdown: ready.stop)
    }

    private init(
        ports: DevStore.Ports, directory: TemporaryDirectory, task: Task<Void, any Error>,
        shutdown: @escaping @Sendable () async -> Void
    ) {
        self.ports = ports
        self.directory = directory
        self.task = task
        self.shutdown = shutdown
    }

    /// Graceful shutdown, as on SIGTERM; returns when the server has stopped. The directory goes with
    /// this object.
    func stop() async throws {
        await shutdown()
        try await task.value
    }
}

/// A raw REST request, signed with Shared Key by default, sent with URLSession.
struct RawRequest {
    var method: String
    var port: Int
    /// Path after the host, percent-encoded, e.g. `/devstoreaccount1/c/b`.
    var path: String
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []

    static let developmentKey = [UInt8](Data(base64Encoded: ConnectionString.developmentAccountKey)!)

    /// Adds x-ms-date, x-ms-version, Content-Length, Content-Type and the Authorization header.
    func signed(key: [UInt8] = developmentKey, service: SharedKeySigner.Service = .blobOrQueue, date: Date = Date())
        -> RawRequest
    {
        var copy = self
        copy.headers += [
            ("x-ms-date", AzureDate.rfc1123(date)), ("x-ms-version", "2021-12-02"),
            ("Content-Length", String(body.count)),
            ("Content-Type", service == .table ? "application/json" : "application/octet-stream"),
        ]
        let signer = SharedKeySigner(account: ConnectionString.developmentAccountName, key: key)
        let authorization = signer.authorization(
            for: SharedKeySigner.Request(method: method, path: path, query: query, headers: copy.headers),
            service: service)
        copy.headers.append(("Authorization", authorization))
        return copy
    }

    func send() async throws -> (status: Int, headers: [String: String], body: [UInt8]) {
        let queryText = query.isEmpty ? "" : "?" + query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)\(queryText)")!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if !body.isEmpty { request.httpBody = Data(body) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return (http.statusCode, headers, [UInt8](data))
    }
}

extension RunningDevStore {
    /// Creates the container `vhds` and in it an empty page blob `name` of `size` bytes, signed with Shared
    /// Key; fails unless both are created.
    func createPageBlob(_ name: String, size: Int) async throws {
        let account = ConnectionString.developmentAccountName
        let container = try await RawRequest(
            method: "PUT", port: ports.blob, path: "/\(account)/vhds", query: [("restype", "container")]
        ).signed().send()
        let blob = try await RawRequest(
            method: "PUT", port: ports.blob, path: "/\(account)/vhds/\(name)",
            headers: [("x-ms-blob-type", "PageBlob"), ("x-ms-blob-content-length", String(size))]
        ).signed().send()
        try #require(container.status == 201 && blob.status == 201, "vhds/\(name): \(container.status), \(blob.status)")
    }
}

/// SAS tokens signed with the development key, valid until 2099, as query items ready to send.
enum TestSAS {
    static let account = ConnectionString.developmentAccountName
    static let expiry = "2099-01-01T00:00:00Z"

    static func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    static func signature(_ stringToSign: String) -> String {
        SharedKeySigner(account: account, key: RawRequest.developmentKey).signature(of: stringToSign)
    }

    /// An account SAS for `services` (`b`, `q`, `t`) over `resourceTypes` (`s`, `c`, `o`).
    static func account(permissions: String, services: String = "b", resourceTypes: String = "sco") -> [(
        name: String, value: String
    )] {
        let fields = [permissions, services, resourceTypes, "", expiry, "", "", "2021-12-02", ""]
        return [
            ("sv", "2021-12-02"), ("ss", services), ("srt", resourceTypes), ("sp", permissions),
            ("se", encoded(expiry)),
            ("sig", encoded(signature(account + "\n" + fields.map { $0 + "\n" }.joined()))),
        ]
    }

    /// A table service SAS for `table`, optionally over a key range (spk, srk, epk, erk).
    static func table(table: String, permissions: String, range: (String, String, String, String)? = nil) -> [(
        name: String, value: String
    )] {
        let bounds = range.map { [$0.0, $0.1, $0.2, $0.3] } ?? ["", "", "", ""]
        let fields = [permissions, "", expiry, "/table/\(account)/\(table)", "", "", "", "2019-02-02"] + bounds
        var query: [(name: String, value: String)] = [
            ("sv", "2019-02-02"), ("tn", table), ("sp", permissions), ("se", encoded(expiry)),
        ]
        if let range { query += [("spk", range.0), ("srk", range.1), ("epk", range.2), ("erk", range.3)] }
        return query + [("sig", encoded(signature(fields.joined(separator: "\n"))))]
    }

    /// A queue service SAS for `queue`.
    static func queue(_ queue: String, permissions: String) -> [(name: String, value: String)] {
        let fields = [permissions, "", expiry, "/queue/\(account)/\(queue)", "", "", "", "2019-02-02"]
        return [
            ("sv", "2019-02-02"), ("sp", permissions), ("se", encoded(expiry)),
            ("sig", encoded(signature(fields.joined(separator: "\n")))),
        ]
    }

    /// A blob service SAS for the container `container` (`sr=c`).
    static func container(_ container: String, permissions: String) -> [(name: String, value: String)] {
        let fields = [
            permissions, "", expiry, "/blob/\(account)/\(container)", "", "", "", "2019-02-02", "c", "", "", "", "", "",
            "",
        ]
        return [
            ("sv", "2019-02-02"), ("sr", "c"), ("sp", permissions), ("se", encoded(expiry)),
            ("sig", encoded(signature(fields.joined(separator: "\n")))),
        ]
    }
}
