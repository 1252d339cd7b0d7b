import Foundation
import RelayShared
import TestSupport
import Testing

/// `status`, `verify`, `abandon`, `sync --wait` and the source-changed warning, with a simulated worker
/// applying the segments to the target page blob.
@Suite(.serialized)
struct SyncCommandTests {
    static let relayClient = builtProduct("relay-client")
    static let size: UInt64 = 24 << 20

    func arguments(_ harness: SyncHarness, _ command: String, source: String? = nil, state: String? = nil) -> [String] {
        [command] + (source.map { [$0] } ?? []) + [
            "--target", harness.target.description, "--store", "file:" + harness.directory.file("store"),
        ]
            + (command == "sync" ? ["--state-dir", state ?? harness.stateRoot] : [])
    }

    @Test(.timeLimit(.minutes(2)))
    func verifyStatusAndWaitSeeWhatTheWorkerApplied() async throws {
        let harness = try await SyncHarness()
        let worker = SimulatedWorker(services: harness.services, target: harness.target)
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: Self.size, in: harness.directory, seed: 31)
        let first = try await harness.sync(source)
        try await worker.run(virtualSize: Self.size)

        // verify: equal once applied (exit 0), then a damaged target range is reported (exit 1).
        let verifier = TargetVerifier(control: worker.control)
        let equal = try await verifier.verify(source: source)
        #expect(equal.equal && equal.differentBytes == 0 && equal.comparedBytes > 0)
        try await runOK(Self.relayClient, arguments(harness, "verify", source: source))
        try await harness.services.blob.putPages(
            harness.target.address, offset: 5 << 20, data: [UInt8](repeating: 0xEE, count: 1024),
            checksum: nil, conditions: .none)
        let damaged = try await run(Self.relayClient, arguments(harness, "verify", source: source) + ["--json"])
        #expect(damaged.status == 1)
        let report = try JSONDecoder().decode(TargetVerifier.Report.self, from: Data(damaged.stdout.utf8))
        #expect(!report.equal && report.differentBytes <= 1024 && report.differentBytes > 0)
        #expect(report.differences.allSatisfy { $0.offset >= 5 << 20 && $0.offset + $0.length <= (5 << 20) + 1024 })
        // Repaired with the source's bytes, the target verifies again.
        let original = try SystemFile.openForReading(source).readExactly(1024, at: 5 << 20)
        try await harness.services.blob.putPages(
            harness.target.address, offset: 5 << 20, data: original, checksum: nil, conditions: .none)
        #expect(try await verifier.verify(source: source).equal)

        // status: the generation applied, its recovery point, no lag.
        let statusText = try await runOK(Self.relayClient, arguments(harness, "status") + ["--json"])
        let status = try JSONDecoder().decode(TargetStatus.self, from: Data(statusText.utf8))
        #expect(status.appliedSeq == first.lastSeq && status.lagSegments == 0 && status.lastGeneration == 1)
        #expect(
            status.generations.count == 1 && status.generations[0].state == .applied
                && status.generations[0].snapshot != nil)

        // sync --wait returns when the worker marks the generation applied, with its recovery point.
        var random = SplitMix64(seed: 4)
        try patch(source, at: 2 << 20, with: random.bytes(64 << 10))
        let waiting = try ChildProcess(
            Self.relayClient, arguments(harness, "sync", source: source) + ["--wait", "--timeout", "60", "--json"],
            outputPath: harness.directory.file("wait.json"))
        let control = worker.control
        while !waiting.hasExited, try await control.generationRow(2)?.state != .sent {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(!waiting.hasExited, "sync --wait returned before the generation was applied")
        try await worker.run(virtualSize: Self.size)
        #expect(await waiting.waitForExit(limit: .seconds(90)) == 0)
        let waited = try JSONDecoder().decode(
            SyncSummary.self, from: Data(contentsOf: URL(fileURLWithPath: waiting.outputPath)))
        #expect(waited.applied && waited.generation == 2)
        #expect(waited.snapshot == (try await control.generationRow(2))?.snapshot && waited.snapshot != nil)
        try await runOK(Self.relayClient, arguments(harness, "verify", source: source))

        // --wait with nobody applying times out with its own status.
        try patch(source, at: 3 << 20, with: random.bytes(4096))
        let timedOut = try await run(
            Self.relayClient, arguments(harness, "sync", source: source) + ["--wait", "--timeout", "1"])
        #expect(timedOut.status == 4)
        #expect(timedOut.stderr.contains("not applied yet"))
    }

    /// A client killed mid-generation and never coming back: another client is refused until `abandon`,
    /// which ends the generation at the last seq present; the next sync is full and clears what the
    /// target holds but the source no longer does.
    @Test(.timeLimit(.minutes(3)))
    func abandonEndsTheGenerationAndTheNextSyncIsFull() async throws {
        let harness = try await SyncHarness()
        let worker = SimulatedWorker(services: harness.services, target: harness.target)
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: Self.size, in: harness.directory, seed: 41)
        var random = SplitMix64(seed: 42)
        try patch(source, at: 16 << 20, with: random.bytes(1 << 20))
        try await harness.sync(source)
        try await worker.run(virtualSize: Self.size)

        // Generation 2 changes 14 MiB; its client is killed part way. One compression thread, so that
        // its first segment (8 MiB) is paid for and enqueued before the second: with two, a loaded
        // machine can finish the smaller second one first, and both are then enqueued together at the end.
        try patch(source, at: 2 << 20, with: random.bytes(14 << 20))
        let killed = try ChildProcess(
            Self.relayClient,
            arguments(harness, "sync", source: source) + ["--max-bandwidth", "8Mbit", "--threads", "1"],
            outputPath: harness.directory.file("killed.out"))
        let control = worker.control
        // Killed once it has enqueued a segment of the generation (its journal says so).
        let journal = try SyncCrashTests().journalPath(harness)
        while !killed.hasExited, !((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").contains("enqueued") {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(
            !killed.hasExited,
            "the sync ended before it could be killed: \(killed.errorOutput()) \(journal) \(FileManager.default.fileExists(atPath: journal))"
        )
        killed.kill9()
        _ = await killed.waitForExit(limit: .seconds(10))
        try await worker.run(virtualSize: Self.size)

        // Another machine (its own state directory) is refused: first by the dead client's lock, a fixed
        // lease that lapses within a minute (fixed leases run out: BlobLeaseConformanceTests), then, once
        // the lease is gone (broken here rather than waited out), by the open generation.
        let otherState = harness.directory.file("other-state")
        let locked = try await run(Self.relayClient, arguments(harness, "sync", source: source, state: otherState))
        #expect(locked.status == 3 && locked.stderr.contains("locked by host"), "\(locked)")
        let lockBlob = BlobAddress(
            container: ControlNames.defaultContainer, name: ControlNames.clientLockBlob(target: harness.target))
        let lease = try await harness.services.blob.blobProperties(lockBlob, snapshot: nil, conditions: .none).lease
        #expect(lease == LeaseInfo(state: .leased, duration: .fixed), "the dead client's lock would never lapse")
        _ = try await harness.services.blob.lease(lockBlob, .break(period: 0), conditions: .none)
        let refused = try await run(Self.relayClient, arguments(harness, "sync", source: source, state: otherState))
        #expect(refused.status == 3, "\(refused)")
        #expect(refused.stderr.contains("never finished") && refused.stderr.contains("abandon"))

        let abandonText = try await runOK(Self.relayClient, arguments(harness, "abandon") + ["--json"])
        let abandoned = try JSONDecoder().decode(GenerationAbandoner.Report.self, from: Data(abandonText.utf8))
        let cursor = try #require(try await control.cursorRow())
        #expect(
            abandoned.generation == 2 && abandoned.lastSeq == cursor.appliedSeq
                && abandoned.lastSeq >= abandoned.firstSeq)
        let row = try #require(try await control.generationRow(2))
        #expect(row.state == .abandoned && row.lastSeq == abandoned.lastSeq)
        let targetRow = try #require(try await control.targetRow())
        #expect(targetRow.nextSeq == abandoned.lastSeq + 1 && targetRow.fullSyncRequired)
        let status = try JSONDecoder().decode(
            TargetStatus.self,
            from: Data(try await runOK(Self.relayClient, arguments(harness, "status") + ["--json"]).utf8))
        #expect(status.generations.map(\.state) == [.applied, .abandoned] && status.fullSyncRequired)

        // The MiB at 16 MiB becomes zero: the full sync must clear it on the target.
        try patch(source, at: 16 << 20, with: [UInt8](repeating: 0, count: 1 << 20))
        let output = try await runOK(
            Self.relayClient, arguments(harness, "sync", source: source, state: otherState) + ["--json"])
        let full = try JSONDecoder().decode(SyncSummary.self, from: Data(output.utf8))
        #expect(full.generation == 3 && full.full && full.firstSeq == abandoned.lastSeq + 1)
        #expect(full.clearedBytes >= 1 << 20)
        try await worker.run(virtualSize: Self.size)
        try await runOK(Self.relayClient, arguments(harness, "verify", source: source))
        #expect(try await control.targetRow()?.fullSyncRequired == false)

        // The killed client's machine comes back: its stale journal is dropped, and it syncs fully.
        let back = try JSONDecoder().decode(
            SyncSummary.self,
            from: Data(try await runOK(Self.relayClient, arguments(harness, "sync", source: source) + ["--json"]).utf8))
        #expect(back.generation == 4 && back.full && !back.resumed)
        try await worker.run(virtualSize: Self.size)
        try await runOK(Self.relayClient, arguments(harness, "verify", source: source))
    }

    /// `abandon --help` names both generations it closes: one whose client is gone, and a sent one with a
    /// poisoned seq that sync cannot resend because the source changed (PoisonResendTests drive that case).
    @Test(.timeLimit(.minutes(2)))
    func abandonHelpNamesBothCases() async throws {
        let help = try await runOK(Self.relayClient, ["abandon", "--help"])
        let text = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("client is gone"), "\(help)")
        #expect(text.contains("poisoned") && text.contains("source has changed since"), "\(help)")
        #expect(text.contains("just before the first poisoned one"), "\(help)")
    }

    /// A source modified while it is read: the summary and the generation's row say so.
    @Test(.timeLimit(.minutes(2)))
    func sourceChangedWhileReadIsReported() async throws {
        let harness = try await SyncHarness()
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: Self.size, in: harness.directory, seed: 51)
        var slow = SyncOptions(threads: 1)
        slow.maxBandwidth = 1_000_000
        let (services, request) = (harness.services, harness.request(source, slow))
        let sync = Task { try await SyncSession(services: services, request: request).run() }
        let control = TargetControl(services: harness.services, target: harness.target)
        while (try? await control.generationRow(1)) == nil { try await Task.sleep(for: .milliseconds(20)) }
        try patch(source, at: 20 << 20, with: [1, 2, 3, 4])
        let summary = try await sync.value
        #expect(summary.sourceChanged)
        #expect(try await control.generationRow(1)?.sourceChanged == true)
        let quiet = try await harness.sync(source)
        #expect(!quiet.sourceChanged)
    }

    /// Bad input: one line on stderr saying what is wrong, a non-zero status, and no target created.
    @Test(.timeLimit(.minutes(2)))
    func badInputIsOneClearLine() async throws {
        let harness = try await SyncHarness()
        let source = harness.directory.file("disk.img")
        try await makeExt4Image(at: source, size: 8 << 20, in: harness.directory, seed: 61)

        let missing = try await run(
            Self.relayClient, arguments(harness, "sync", source: harness.directory.file("nope.img")))
        #expect(missing.status == 2)
        #expect(missing.stderr.split(separator: "\n").count == 1 && missing.stderr.contains("nope.img"))

        // A damaged VHD (footer cookie, bad checksum) is refused, not read as a raw image.
        let damaged = harness.directory.file("damaged.vhd")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", source, damaged])
        let size = try #require(try FileManager.default.attributesOfItem(atPath: damaged)[.size] as? UInt64)
        try patch(damaged, at: size - 512 + 64, with: [0, 0, 0, 0])
        let corrupt = try await run(Self.relayClient, arguments(harness, "sync", source: damaged))
        #expect(corrupt.status == 2)
        #expect(corrupt.stderr.split(separator: "\n").count == 1 && corrupt.stderr.contains("damaged.vhd"))
        #expect(try await TargetControl(services: harness.services, target: harness.target).blobIdentity() == nil)

        let badName = try await run(
            Self.relayClient,
            ["sync", source, "--target", "Disks/x.vhd", "--store", "file:" + harness.directory.file("store")])
        #expect(badName.status == 64 && badName.stderr.contains("container name"))

        // A target made from another size is refused, not merged.
        try await runOK(Self.relayClient, arguments(harness, "sync", source: source))
        let bigger = harness.directory.file("bigger.img")
        try await makeExt4Image(at: bigger, size: 9 << 20, in: harness.directory, seed: 62)
        let resized = try await run(
            Self.relayClient, arguments(harness, "sync", source: bigger, state: harness.directory.file("s2")))
        #expect(resized.status == 2 && resized.stderr.contains("new target"))

        // A store that cannot be reached.
        let unreachable = try await run(
            Self.relayClient,
            [
                "sync", source, "--target", "disks/y.vhd", "--state-dir", harness.stateRoot,
                "--connection-string", ConnectionString.development(blobPort: 9, queuePort: 9, tablePort: 9),
            ])
        #expect(unreachable.status == 2)
        #expect(unreachable.stderr.split(separator: "\n").count == 1 && unreachable.stderr.contains("storage"))
    }
}
