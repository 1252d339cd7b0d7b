import Foundation
import RelayShared
import TestSupport
import Testing

/// Crash safety and the client lock, through the real `relay-client` executable.
@Suite(.serialized)
struct SyncCrashTests {
    static let relayClient = builtProduct("relay-client")

    /// kill -9 at random moments of a generation, several times, then a run to the end: the union of what
    /// was enqueued is exactly the generation (no seq skipped or reused, every resend identical), and the
    /// oracle fed it equals the source.
    @Test(.timeLimit(.minutes(3)))
    func killedSyncsResumeWithoutHolesOrReuse() async throws {
        let harness = try await SyncHarness()
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: 40 << 20, in: harness.directory, seed: 21)
        var random = SplitMix64(seed: 77)
        try patch(source, at: 8 << 20, with: random.bytes(24 << 20))
        let arguments = [
            "sync", source, "--target", harness.target.description, "--store",
            "file:" + harness.directory.file("store"),
            "--state-dir", harness.stateRoot, "--max-bandwidth", "16Mbit", "--json",
        ]
        // Killed at random moments until a run gets to the end of the generation by itself. timeout(1)
        // sends the SIGKILL, so that the moment depends on the sync's own progress, not on when this test
        // is scheduled again: on a loaded machine a test's sleep can overrun by seconds.
        var kills = 0
        var completed: SyncSummary?
        for attempt in 0..<8 where completed == nil {
            let delay = String(format: "%.2f", 1 + Double(random.next() % 2000) / 1000)
            let sync = try ChildProcess(
                "/usr/bin/timeout", ["--signal=KILL", delay, Self.relayClient] + arguments,
                outputPath: harness.directory.file("sync-\(attempt).json"))
            let status = await sync.waitForExit(limit: .seconds(60))
            if status == SIGKILL {  // timeout(1) kills its own process group, itself included
                kills += 1
            } else {
                #expect(status == 0, "\(sync.errorOutput())")
                completed = try JSONDecoder().decode(
                    SyncSummary.self, from: Data(contentsOf: URL(fileURLWithPath: sync.outputPath)))
            }
        }
        #expect(kills >= 2, "the syncs ended before they could be killed; slow them down")
        let summary =
            if let completed {
                completed
            } else {
                try JSONDecoder().decode(
                    SyncSummary.self, from: Data(try await runOK(Self.relayClient, arguments).utf8))
            }
        #expect(summary.generation == 1 && summary.resumed)

        try await harness.applyEnqueued(virtualSize: 40 << 20)
        #expect(Set(harness.messages.keys) == Set(summary.firstSeq...summary.lastSeq))
        #expect(harness.messages.values.filter(\.isLastOfGeneration).map(\.seq) == [summary.lastSeq])
        try harness.expectOracleMatches(source)
        let control = TargetControl(services: harness.services, target: harness.target)
        #expect(try await control.targetRow()?.nextSeq == summary.lastSeq + 1)
        #expect(try await control.generationRow(1)?.state == .sent)
        #expect(!FileManager.default.fileExists(atPath: try journalPath(harness)))

        // The next generation after the crashes is incremental and continues the seqs.
        try patch(source, at: 1 << 20, with: random.bytes(8192))
        let next = try JSONDecoder().decode(
            SyncSummary.self, from: Data(try await runOK(Self.relayClient, arguments).utf8))
        #expect(next.generation == 2 && !next.full && next.firstSeq == summary.lastSeq + 1)
        try await harness.applyEnqueued(virtualSize: 40 << 20)
        try harness.expectOracleMatches(source)
    }

    func journalPath(_ harness: SyncHarness) throws -> String {
        let stores = try FileManager.default.contentsOfDirectory(atPath: harness.stateRoot)
        let store = harness.stateRoot + "/" + (try #require(stores.first))
        let targets = try FileManager.default.contentsOfDirectory(atPath: store)
        return store + "/" + (try #require(targets.first)) + "/journal"
    }

    /// A second sync of a target being synced is refused, naming the first one's host and start time.
    @Test(.timeLimit(.minutes(2)))
    func secondSyncIsRefusedNamingTheHolder() async throws {
        let harness = try await SyncHarness()
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: 16 << 20, in: harness.directory, seed: 3)
        var slow = SyncOptions(threads: 1)
        slow.maxBandwidth = 1_000_000
        let (services, request) = (harness.services, harness.request(source, slow))
        let first = Task { try await SyncSession(services: services, request: request).run() }
        let lockBlob = BlobAddress(
            container: ControlNames.defaultContainer, name: ControlNames.clientLockBlob(target: harness.target))
        while true {
            if let properties = try? await harness.services.blob.blobProperties(
                lockBlob, snapshot: nil, conditions: .none),
                properties.lease.state == .leased, ClientLockHolder(metadata: properties.metadata) != nil
            {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // Another machine: its own state directory, so its own lease id.
        let other = SyncSession.Request(
            source: source, target: harness.target, options: SyncOptions(threads: 1),
            stateRoot: harness.directory.file("other-state"), storeFolder: harness.storeFolder)
        do {
            _ = try await SyncSession(services: harness.services, request: other).run()
            Issue.record("the second sync ran although the first held the lock")
        } catch let error as SyncError {
            #expect(error.code == .locked)
            #expect(error.message.contains("host \(ProcessInfo.processInfo.hostName)"))
            #expect(error.message.contains("started 20"))
        }
        // The same machine and state directory: refused by the state folder's lock.
        do {
            _ = try await harness.sync(source)
            Issue.record("a second sync from the same state directory ran")
        } catch let error as SyncError {
            #expect(error.code == .locked)
        }
        let summary = try await first.value
        #expect(summary.generation == 1)
        try await harness.applyEnqueued(virtualSize: 16 << 20)
        try harness.expectOracleMatches(source)
    }

    /// A client whose lock is taken from it mid-generation (its lease broken and acquired by another) stops
    /// at its next renewal without enqueuing more: what it enqueued is contiguous from the generation's
    /// first seq and within the seqs it reserved, and once the lock is free again a rerun resumes the
    /// generation with no seq skipped or reused.
    @Test(.timeLimit(.minutes(3)))
    func aClientThatLosesItsLockStopsEnqueuing() async throws {
        let harness = try await SyncHarness()
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: 24 << 20, in: harness.directory, seed: 4)
        var random = SplitMix64(seed: 44)
        try patch(source, at: 4 << 20, with: random.bytes(16 << 20))
        var options = SyncOptions(threads: 1, segmentPlainBytes: 4 << 20, maxInFlightBytes: 16 << 20)
        options.maxBandwidth = 1_500_000
        options.lockRenewInterval = .milliseconds(200)
        let (services, request) = (harness.services, harness.request(source, options))
        let sync = Task { try await SyncSession(services: services, request: request).run() }
        // Once the first segment is enqueued, another client takes the lock.
        let queue = ControlNames.defaultQueue
        let deadline = ContinuousClock.now + .seconds(60)
        // (The queue does not exist until the sync has created it.)
        while (try? await harness.services.queue.approximateMessageCount(queue)) ?? 0 == 0 {
            #expect(ContinuousClock.now < deadline, "nothing was enqueued within 60 s")
            try await Task.sleep(for: .milliseconds(20))
        }
        let lockBlob = BlobAddress(
            container: ControlNames.defaultContainer, name: ControlNames.clientLockBlob(target: harness.target))
        _ = try await harness.services.blob.lease(lockBlob, .break(period: 0), conditions: .none)
        let thief = UUID().uuidString.lowercased()
        _ = try await harness.services.blob.lease(
            lockBlob, .acquire(.seconds(60), proposedID: thief), conditions: .none)
        do {
            _ = try await sync.value
            Issue.record("the sync ran to the end without its lock")
        } catch let error as SyncError {
            #expect(error.code == .lockLost)
        }
        try await harness.drainQueue()
        let enqueued = harness.messages.keys.sorted()
        let control = TargetControl(services: harness.services, target: harness.target)
        let generation = try #require(try await control.generationRow(1))
        let reserved = try #require(try await control.targetRow()).nextSeq
        #expect(
            !enqueued.isEmpty && enqueued == Array(generation.firstSeq..<(generation.firstSeq + UInt64(enqueued.count)))
        )
        #expect(enqueued.allSatisfy { $0 < reserved })
        #expect(generation.state == .sending && !harness.messages.values.contains(where: \.isLastOfGeneration))
        // Nothing more arrives from the stopped client.
        try await Task.sleep(for: .seconds(1))
        #expect(try await harness.services.queue.approximateMessageCount(queue) == 0)

        _ = try await harness.services.blob.lease(lockBlob, .release(id: thief), conditions: .none)
        let resumed = try await harness.sync(source)
        #expect(resumed.generation == 1 && resumed.resumed)
        try await harness.applyEnqueued(virtualSize: 24 << 20)
        #expect(Set(harness.messages.keys) == Set(resumed.firstSeq...resumed.lastSeq))
        try harness.expectOracleMatches(source)
    }
}
