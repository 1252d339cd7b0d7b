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

    /// The metrics port the worker logged.
    static func metricsPort(of worker: ChildProcess) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            guard ContinuousClock.now < deadline else {
                throw ToolFailure(message: "the worker never said its metrics port")
            }
            try await Task.sleep(for: .milliseconds(100))
            if let line = worker.errorOutput().split(separator: "\n").first(where: { $0.contains("serving /healthz") }),
                let field = line.split(separator: " ").first(where: { $0.hasPrefix("port=") }),
                let port = Int(field.dropFirst("port=".count))
            {
                return port
            }
        }
    }

    /// /metrics once the first recovery point is taken (or after a minute, for the expectations to say what is missing).
    static func metricsAfterRecoveryPoint(_ port: Int) async throws -> String {
        var metrics = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while !metrics.contains("relay_worker_recovery_points_total 1"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            metrics = try await get(port, "/metrics").1
        }
        return metrics
    }

    /// The value of one sample of `metrics`, e.g. `relay_worker_storage_responses_total{status="503"}`.
    static func sample(_ metrics: String, _ name: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap {
            Double($0.dropFirst(name.count + 1))
        }
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
        let metricsPort = try await Self.metricsPort(of: worker)
        let (status, body) = try await Self.get(metricsPort, "/healthz")
        #expect(status == 200 && body == "ok\n")

        let metrics = try await Self.metricsAfterRecoveryPoint(metricsPort)
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

    /// Over relay-devstore answering 503 to a fifth of the requests: the Azure backend retries them (the
    /// worker does not retry on top), and every 503 it retried is counted by status.
    @Test(.enabled(if: DevStore.isBuilt, "relay-devstore is not built"))
    func retried503sAreCounted() async throws {
        let directory = try TemporaryDirectory()
        let (devstore, connectionString) = try await DevStore.start(
            directory: directory.file("devstore"),
            arguments: [
                "--fault-503-rate", "0.2", "--fault-seed", "23",
            ])
        defer { withExtendedLifetime(devstore) {} }
        let services = try await StorageConfiguration.azure(try ConnectionString(connectionString)).services()
        var producer = try await Producer.create(services: services, target: Self.target, virtualSize: 4 << 20)
        let segments = try await producer.generation([
            [.write(0, pattern(1 << 20, seed: 3))], [.write(2 << 20, pattern(4096, seed: 4))],
        ])
        for segment in segments { try await producer.send(segment) }

        let worker = try WorkerProcessTests.worker(
            connectionString: connectionString, directory: directory, name: "busy")
        let metrics = try await Self.metricsAfterRecoveryPoint(try await Self.metricsPort(of: worker))
        #expect(metrics.contains("relay_worker_recovery_points_total 1"))
        let busy = Self.sample(metrics, "relay_worker_storage_responses_total{status=\"503\"}") ?? 0
        let retries = metrics.split(separator: "\n").filter { $0.hasPrefix("relay_worker_retries_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        #expect(busy >= 1, "no 503 counted in:\n\(metrics)")
        #expect(retries >= busy, "each counted 503 was retried by the backend")
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(limit: .seconds(40)) == 0)
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
