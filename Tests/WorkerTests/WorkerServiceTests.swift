import Foundation
import Glibc
import RelayShared
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `relay-worker run` as a service: /healthz and Prometheus /metrics on the metrics port, graceful
/// SIGTERM (cursor saved, lease released, exit 0), and no secret accepted on the command line.
@Suite(.serialized, .timeLimit(.minutes(3))) struct WorkerServiceTests {
    static let target = try! TargetName("disks/service.vhd")

    static func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func healthMetricsAndGracefulStop() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(services: storage.services, target: Self.target, virtualSize: 4 << 20)
        let segments = try await producer.generation([
            [.write(0, pattern(1 << 20, seed: 1))], [.write(2 << 20, pattern(4096, seed: 2))],
        ])
        for segment in segments { try await producer.send(segment) }
        try await producer.enqueue("forged")

        let worker = try WorkerProcessTests.worker(
            store: storage.directory.file("store"), directory: storage.directory, name: "service")
        var port: Int?
        let deadline = ContinuousClock.now + .seconds(30)
        while port == nil {
            guard ContinuousClock.now < deadline else {
                throw ToolFailure(message: "the worker never said its metrics port")
            }
            try await Task.sleep(for: .milliseconds(100))
            let text = worker.errorOutput()
            if let line = text.split(separator: "\n").first(where: { $0.contains("serving /healthz") }),
                let field = line.split(separator: " ").first(where: { $0.hasPrefix("port=") })
            {
                port = Int(field.dropFirst("port=".count))
            }
        }
        let metricsPort = try #require(port)
        let (status, body) = try await Self.get(metricsPort, "/healthz")
        #expect(status == 200 && body == "ok\n")

        var metrics = ""
        let applied = ContinuousClock.now + .seconds(30)
        while !metrics.contains("relay_worker_recovery_points_total 1") {
            guard ContinuousClock.now < applied else { break }
            try await Task.sleep(for: .milliseconds(200))
            metrics = try await Self.get(metricsPort, "/metrics").1
        }
        let plain = segments.reduce(0) { $0 + $1.message.plainBytes }
        #expect(metrics.contains("relay_worker_applied_bytes_total{target=\"disks/service.vhd\"} \(plain)"))
        #expect(metrics.contains("relay_worker_lag_seconds{target=\"disks/service.vhd\"} 0"))
        #expect(metrics.contains("relay_worker_poison_messages_total{kind=\"message\"} 1"))
        #expect(metrics.contains("relay_worker_storage_responses_total{status=\"2xx\"}"))
        #expect(metrics.contains("relay_worker_recovery_points_total 1"))

        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(limit: .seconds(40)) == 0)
        let properties = try await storage.blob.blobProperties(Self.target.address, snapshot: nil, conditions: .none)
        #expect(properties.lease.state == .available, "the lease is released at a graceful stop")
        #expect(worker.errorOutput().contains("released target"))
    }

    @Test func refusesASecretOnTheCommandLine() async throws {
        let key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
        let result = try await run(
            builtProduct("relay-worker"),
            ["run", "--connection-string", "AccountName=acct;AccountKey=\(key)", "--drain"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("AZURE_STORAGE_CONNECTION_STRING"))
        #expect(!result.stderr.contains(key) && !result.stdout.contains(key))
    }
}
