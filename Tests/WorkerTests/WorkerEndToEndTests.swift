import Foundation
import RelayShared
import RelayWorkerKit
import TestSupport
import Testing

/// relay-client's sync and the worker together, on ext4 disks: after each generation the target, read
/// back as a fixed VHD, equals the source byte for byte (qemu-img compare, vhdiinfo, the footer).
@Suite(.timeLimit(.minutes(5))) struct WorkerEndToEndTests {
    enum Format: String, CaseIterable, Sendable {
        case fixed, dynamic
    }

    static let target = try! TargetName("disks/e2e.vhd")

    /// A master raw image and the source VHD made from it.
    struct Source {
        let directory: TemporaryDirectory
        let master: String
        let path: String
        let format: Format

        init(directory: TemporaryDirectory, master: String, path: String, format: Format) {
            self.directory = directory
            self.master = master
            self.path = path
            self.format = format
        }

        init(format: Format, in directory: TemporaryDirectory) async throws {
            self.directory = directory
            self.format = format
            master = directory.file("master.img")
            path = directory.file("source.vhd")
            try await makeExt4Image(at: master, size: (20 << 20) + 3 * 512, in: directory, seed: 5)
            try await runOK(
                "qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=\(format.rawValue)", master, path])
        }

        /// Writes `bytes` into the master and the source (keeping the source's unique id).
        func change(at offset: UInt64, _ bytes: [UInt8]) async throws {
            try patch(master, at: offset, with: bytes)
            try await runOK("qemu-img", ["convert", "-n", "-f", "raw", "-O", "vpc", master, path])
        }
    }

    static func sync(_ source: Source, services: StorageServices) async throws -> SyncSummary {
        let request = SyncSession.Request(
            source: source.path, target: target, options: SyncOptions(threads: 2),
            stateRoot: source.directory.file("state"), storeFolder: "store")
        return try await SyncSession(services: services, request: request).run()
    }

    /// The target blob equals the source: the data area byte for byte, judged by qemu-img and libvhdi.
    static func expectTargetEqualsSource(_ source: Source, services: StorageServices) async throws {
        let blob = try await services.blob.getBlob(target.address, range: nil, snapshot: nil, conditions: .none).data
        let copy = source.directory.file("target.vhd")
        try write(blob, to: copy)
        try await runOK("qemu-img", ["compare", "-f", "vpc", "-F", "vpc", copy, source.path])
        let info = try await runOK("vhdiinfo", [copy])
        #expect(info.contains("Fixed"))
        let footer = try VHDFooter(
            parsing: Array(blob.suffix(512)), path: copy, structure: .footer, offset: UInt64(blob.count - 512))
        #expect(footer.diskType == .fixed)
        #expect(footer.currentSize == UInt64(blob.count - 512))
    }

    /// Generations 1..3 (initial, changes, changes back to zero) on the local store, each drained.
    @Test(arguments: Format.allCases)
    func generationsOnTheLocalStore(format: Format) async throws {
        let storage = try await LocalStorage()
        let source = try await Source(format: format, in: storage.directory)
        var random = SplitMix64(seed: 8)
        let changes: [[(UInt64, [UInt8])]] = [
            [],
            [(12 << 20, random.bytes(256 << 10)), ((3 << 20) + 512, random.bytes(100_000))],
            [(12 << 20, [UInt8](repeating: 0, count: 256 << 10))],
        ]
        for (generation, change) in changes.enumerated() {
            for (offset, bytes) in change { try await source.change(at: offset, bytes) }
            let summary = try await Self.sync(source, services: storage.services)
            #expect(summary.generation == UInt64(generation + 1))
            #expect(try await drain(storage.services) == .drained)
            try await Self.expectTargetEqualsSource(source, services: storage.services)
            let row = try GenerationRow(
                entity: try await storage.table.get(
                    ControlNames.defaultTable, partitionKey: Self.target.key,
                    rowKey: ControlNames.generationRow(summary.generation)))
            #expect(row.state == .applied && row.snapshot != nil)
        }
    }

    /// A differencing source (a child written by `TestVHDWriter` over a qemu dynamic parent), generations
    /// 1..3 as the child gathers writes, the last ones zeros over earlier data. Judged against the model
    /// of the chain (`TestVHDWriter.expected`, checked against libvhdi in VHDTests) with qemu-img compare.
    @Test func differencingSourceGenerations() async throws {
        let storage = try await LocalStorage()
        let directory = storage.directory
        let image = directory.file("parent.img")
        try await makeExt4Image(at: image, size: 16 << 20, in: directory, seed: 6)
        let parentPath = directory.file("parent.vhd")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vpc", image, parentPath])
        let parent = try DiskImage.open(parentPath)
        var parentBytes = [UInt8](repeating: 0, count: Int(parent.virtualSize))
        try parentBytes.withUnsafeMutableBytes { try parent.read(into: $0, at: 0) }
        var child = TestVHDWriter(virtualSize: parent.virtualSize)
        child.parent = .windows(parentPath: parentPath, uniqueID: try #require(parent.uniqueID))
        let childPath = directory.file("child.vhd")
        let source = Source(directory: directory, master: image, path: childPath, format: .dynamic)
        var random = SplitMix64(seed: 12)
        let sectors = parent.virtualSize / 512
        for generation in 1...3 {
            for _ in 0..<12 {
                let start = random.next() % (sectors - 256)
                let count = Int(random.next() % 256) + 1
                let bytes = generation == 3 ? [UInt8](repeating: 0, count: count * 512) : random.bytes(count * 512)
                child.writes.append((offset: start * 512, bytes: bytes))
            }
            try child.write(to: childPath)
            let summary = try await Self.sync(source, services: storage.services)
            #expect(summary.generation == UInt64(generation))
            #expect(try await drain(storage.services) == .drained)

            let blob = try await storage.blob.getBlob(Self.target.address, range: nil, snapshot: nil, conditions: .none)
                .data
            var expected = child.expected(over: parentBytes)
            expected += [UInt8](repeating: 0, count: blob.count - 512 - expected.count)
            #expect(Array(blob.dropLast(512)) == expected)
            try write(blob, to: directory.file("target.vhd"))
            try write(expected, to: directory.file("expected.raw"))
            try await runOK(
                "qemu-img",
                ["compare", "-f", "vpc", "-F", "raw", directory.file("target.vhd"), directory.file("expected.raw")])
            #expect(try await runOK("vhdiinfo", [directory.file("target.vhd")]).contains("Fixed"))
        }
    }

    /// Over HTTP to relay-devstore injecting 503s, duplicate and delayed deliveries: the client sends
    /// generations 2 and 3 while the worker still applies the earlier ones. (500s after the fact are
    /// left out here because relay-client's sync does not survive one on its entity group transaction;
    /// the worker's handling of them is `WorkerApplyTests.transientFailuresOnEveryOperation`.)
    @Test(.enabled(if: DevStore.isBuilt, "relay-devstore is not built"))
    func generationsOverAFaultyDevStoreWhileApplying() async throws {
        let directory = try TemporaryDirectory()
        let (process, connectionString) = try await DevStore.start(
            directory: directory.file("devstore"),
            arguments: [
                "--fault-503-rate", "0.05", "--fault-duplicate-rate", "0.2",
                "--fault-delay-rate", "0.2", "--fault-delay-seconds", "1", "--fault-seed", "17",
            ])
        defer { withExtendedLifetime(process) {} }
        let services = try await StorageConfiguration.azure(try ConnectionString(connectionString)).services()
        let source = try await Source(format: .dynamic, in: directory)
        _ = try await Self.sync(source, services: services)
        let worker = Worker(services: services, configuration: .forTests(drain: false), logger: testLogger())
        let running = Task { try await worker.run() }
        var random = SplitMix64(seed: 9)
        try await source.change(at: 5 << 20, random.bytes(1 << 20))
        _ = try await Self.sync(source, services: services)
        try await source.change(at: (5 << 20) + 4096, [UInt8](repeating: 0, count: 64 << 10))
        try await source.change(at: 15 << 20, random.bytes(300_000))
        let third = try await Self.sync(source, services: services)
        worker.stop()
        #expect(try await running.value == .stopped)
        #expect(try await drain(services) == .drained)
        try await Self.expectTargetEqualsSource(source, services: services)
        let cursor = try CursorRow(
            entity: try await services.table.get(
                ControlNames.defaultTable, partitionKey: Self.target.key,
                rowKey: ControlNames.cursorRow))
        #expect(cursor.appliedSeq == third.lastSeq)
    }
}
