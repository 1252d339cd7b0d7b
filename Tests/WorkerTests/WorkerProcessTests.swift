import Foundation
import Glibc
import RelayShared
import TestSupport
import Testing

/// relay-worker as real processes over one local store: killed with SIGKILL at random points, and
/// frozen with SIGSTOP past its lease while others take over. The target always ends exact.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WorkerProcessTests {
    static let target = try! TargetName("disks/proc.vhd")
    static let virtualSize: UInt64 = 8 << 20

    /// A relay-worker process on the local store at `store`, or, with `connectionString`, on that account;
    /// its output in `name.log` (logs, on standard error, in `name.log.err`) in `directory`.
    static func worker(
        store: String? = nil, connectionString: String? = nil, directory: TemporaryDirectory, name: String,
        drain: Bool = false
    ) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["RELAY_WORKER_LEASE_SECONDS"] = "15"
        environment["RELAY_LOG_LEVEL"] = "debug"
        environment["AZURE_STORAGE_CONNECTION_STRING"] = connectionString
        return try ChildProcess(
            builtProduct("relay-worker"),
            ["run", "--metrics-port", "0", "--concurrency", "2"] + (store.map { ["--store", "file:" + $0] } ?? [])
                + (drain ? ["--drain"] : []),
            environment: environment, outputPath: directory.file(name + ".log"))
    }

    /// `count` segments that all rewrite the same 1 MiB (so that any stale write shows in the result),
    /// plus a scattered write each, in generations of 10.
    static func produce(_ producer: inout Producer, count: Int) async throws -> [Producer.Sent] {
        var segments: [Producer.Sent] = []
        for generationStart in stride(from: 0, to: count, by: 10) {
            var generation: [[Producer.Extent]] = []
            for index in generationStart..<min(count, generationStart + 10) {
                let scattered = UInt64(2 + index % 6) << 20
                generation.append([
                    .write(0, pattern(1 << 20, seed: UInt64(index))),
                    .write(scattered, pattern(65536, seed: UInt64(1000 + index))),
                ])
            }
            segments += try await producer.generation(generation)
        }
        for segment in segments { try await producer.send(segment) }
        return segments
    }

    static func appliedSeq(_ producer: Producer) async throws -> UInt64 {
        guard
            let entity = try? await producer.services.table.get(
                producer.table, partitionKey: target.key, rowKey: ControlNames.cursorRow)
        else { return 0 }
        return try CursorRow(entity: entity).appliedSeq
    }

    @Test func killedAtRandomPointsAndRestarted() async throws {
        let storage = try await LocalStorage()
        var producer = try await Producer.create(
            services: storage.services, target: Self.target, virtualSize: Self.virtualSize)
        let segments = try await Self.produce(&producer, count: 60)
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)
        var random = SplitMix64(seed: 99)
        for round in 0..<4 {
            let worker = try Self.worker(
                store: storage.directory.file("store"), directory: storage.directory, name: "kill-\(round)")
            try await Task.sleep(for: .milliseconds(Int(random.next() % 1500) + 300))
            worker.signal(SIGKILL)
            _ = await worker.waitForExit(limit: .seconds(10))
            // The lease of a killed worker lapses after 15 s; breaking it is the same, sooner.
            _ = try? await storage.blob.lease(Self.target.address, .break(period: 0), conditions: .none)
        }
        let final = try Self.worker(
            store: storage.directory.file("store"), directory: storage.directory, name: "final", drain: true)
        #expect(await final.waitForExit(limit: .seconds(180)) == 0)
        #expect(try await Self.appliedSeq(producer) == UInt64(segments.count))
        #expect(try await producer.readTarget().data == (try oracle.bytes))
    }

    /// Worker A is frozen mid-apply past its lease; B and C take over and finish; A resumes with writes
    /// in flight and must not write (the lease and the epoch fence it out). Over relay-devstore, as with
    /// Azure: a frozen process of the local store could hold its database lock and stop everyone.
    @Test(.enabled(if: DevStore.isBuilt, "relay-devstore is not built"))
    func frozenWorkerCannotWriteAfterTakeover() async throws {
        let directory = try TemporaryDirectory()
        let (devstore, connectionString) = try await DevStore.start(directory: directory.file("devstore"))
        defer { withExtendedLifetime(devstore) {} }
        let services = try await StorageConfiguration.azure(try ConnectionString(connectionString)).services()
        var producer = try await Producer.create(services: services, target: Self.target, virtualSize: Self.virtualSize)
        let segments = try await Self.produce(&producer, count: 80)
        let oracle = try Oracle(target: Self.target, diskSize: producer.diskSize)
        try oracle.apply(segments)

        let a = try Self.worker(connectionString: connectionString, directory: directory, name: "a")
        let deadline = ContinuousClock.now + .seconds(60)
        while try await Self.appliedSeq(producer) < 3 {
            guard ContinuousClock.now < deadline else { throw ToolFailure(message: "worker A applied nothing in 60 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        a.signal(SIGSTOP)
        let frozenAt = try await Self.appliedSeq(producer)
        let b = try Self.worker(connectionString: connectionString, directory: directory, name: "b")
        let c = try Self.worker(connectionString: connectionString, directory: directory, name: "c")
        // B or C takes the target once A's lease lapses (15 s), and applies everything.
        let caughtUp = ContinuousClock.now + .seconds(150)
        while try await Self.appliedSeq(producer) < UInt64(segments.count) {
            guard ContinuousClock.now < caughtUp else { throw ToolFailure(message: "B and C did not catch up") }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(frozenAt < UInt64(segments.count))
        a.signal(SIGCONT)
        try await Task.sleep(for: .seconds(3))  // A's writes in flight run into the fence
        for worker in [a, b, c] { worker.signal(SIGTERM) }
        for worker in [a, b, c] { #expect(await worker.waitForExit(limit: .seconds(60)) == 0) }
        #expect(try await producer.readTarget().data == (try oracle.bytes))
        let log = a.errorOutput()
        #expect(log.contains("claim is lost") || log.contains("lost the claim"))
    }
}
