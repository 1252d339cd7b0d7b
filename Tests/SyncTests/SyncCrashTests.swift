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
        // Killed at random moments until a run gets to the end of the generation by itself.
        var kills = 0
        var completed: SyncSummary?
        for attempt in 0..<8 where completed == nil {
            let sync = try ChildProcess(
                Self.relayClient, arguments, outputPath: harness.directory.file("sync-\(attempt).json"))
            try await Task.sleep(for: .milliseconds(300 + Int(random.next() % 1200)))
            if !sync.hasExited {
                sync.kill9()
                kills += 1
                _ = await sync.waitForExit(limit: .seconds(10))
            } else {
                #expect(await sync.waitForExit(limit: .seconds(10)) == 0)
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
}
