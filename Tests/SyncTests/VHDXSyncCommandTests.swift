import Foundation
import RelayShared
import TestSupport
import Testing

/// `relay-client sync` and `verify` of a VHDX source (4096-byte sectors, 1 MiB blocks) on the local store,
/// a simulated worker applying the segments to the target page blob: the blob must hold the ext4 image
/// the VHDX was made from, byte for byte, then zeros to the whole MiB and a fixed footer.
@Suite(.serialized)
struct VHDXSyncCommandTests {
    static let relayClient = builtProduct("relay-client")
    static let size: UInt64 = (20 << 20) + (8 << 10)

    /// Runs a tool through `ChildProcess` (never blocking the cooperative pool) and returns its output.
    private func tool(_ executable: String, _ arguments: [String], in directory: TemporaryDirectory) async throws
        -> String
    {
        let process = try ChildProcess(
            executable, arguments, outputPath: directory.file("tool-\(UUID().uuidString).out"))
        let status = await process.waitForExit(limit: .seconds(120))
        #expect(status == 0, "\(executable) \(arguments): \(process.errorOutput())")
        return try String(contentsOfFile: process.outputPath, encoding: .utf8)
    }

    @Test(.timeLimit(.minutes(3)))
    func syncedTargetEqualsTheImageTheVHDXHolds() async throws {
        let harness = try await SyncHarness()
        let worker = SimulatedWorker(services: harness.services, target: harness.target)
        let master = harness.directory.file("master.img")
        try await makeExt4Image(at: master, size: Self.size, in: harness.directory, seed: 41)
        let source = harness.directory.file("source.vhdx")
        // TestVHDXWriter, since qemu-img writes only 512-byte sectors; each generation rewrites the file
        // with the same page 83 id and a new data write GUID, as Hyper-V's writes would.
        var writer = TestVHDXWriter.holding(try contents(of: master), blockSize: 1 << 20, logicalSectorSize: 4096)
        try writer.write(to: source)
        let store = ["--target", harness.target.description, "--store", "file:" + harness.directory.file("store")]

        for generation in 1...2 {
            if generation == 2 {
                var random = SplitMix64(seed: 42)
                try patch(master, at: 7 << 20, with: random.bytes(300 << 10))
                let page83 = writer.page83
                writer = TestVHDXWriter.holding(try contents(of: master), blockSize: 1 << 20, logicalSectorSize: 4096)
                writer.page83 = page83
                try writer.write(to: source)
            }
            let output = try await tool(
                Self.relayClient, ["sync", source] + store + ["--state-dir", harness.stateRoot, "--json"],
                in: harness.directory)
            let summary = try JSONDecoder().decode(SyncSummary.self, from: Data(output.utf8))
            #expect(summary.generation == UInt64(generation))
            try await worker.run(virtualSize: Self.size)

            let targetSize = VHDFooter.targetSize(forVirtualSize: Self.size)
            let blob = try await harness.services.blob.getBlob(
                harness.target.address, range: nil, snapshot: nil, conditions: .none)
            #expect(blob.data.count == Int(targetSize) + 512)
            let image = try contents(of: master)
            #expect(Array(blob.data[0..<image.count]) == image, "generation \(generation)")
            #expect(blob.data[image.count..<Int(targetSize)].allSatisfy { $0 == 0 })
            let footer = try VHDFooter(
                parsing: Array(blob.data[Int(targetSize)...]), path: "target", structure: .footer, offset: targetSize)
            #expect(footer.diskType == .fixed && footer.currentSize == targetSize)
            // The target's identity is the VHDX's page 83 id.
            #expect(footer.uniqueID == writer.page83)
            _ = try await tool(Self.relayClient, ["verify", source] + store, in: harness.directory)
        }
    }
}
