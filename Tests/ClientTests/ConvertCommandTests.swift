import Foundation
import RelayShared
import TestSupport
import Testing

/// `relay-client convert`, judged by qemu-img and libvhdi rather than by our own reader.
@Suite(.ownThreads, .serialized)
struct ConvertCommandTests {
    static let mib: UInt64 = 1 << 20

    /// Sizes that are and are not a whole MiB: the second must be rounded up.
    @Test(arguments: [32 * mib, 32 * mib + 7 * 512])
    func dynamicVHDBecomesAzureReadyFixedVHD(size: UInt64) async throws {
        let dir = try TemporaryDirectory()
        let image = dir.file("disk.img")
        try await makeExt4Image(at: image, size: size, in: dir, seed: size)
        let source = dir.file("source.vhd")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vpc", image, source])
        let output = dir.file("azure.vhd")

        let summary =
            try await JSONSerialization.jsonObject(
                with: Data(runOK(relayClient, ["convert", source, output, "--json"]).utf8)) as? [String: Any]
        let targetSize = try #require(summary?["target_size"] as? UInt64)
        // qemu gives a dynamic VHD a virtual size of whole CHS cylinders, at least the image's size.
        let virtualSize = try #require(summary?["virtual_size"] as? UInt64)
        #expect(virtualSize >= size)
        #expect(targetSize % Self.mib == 0)
        #expect(targetSize >= virtualSize && targetSize - virtualSize < Self.mib)
        let attributes = try FileManager.default.attributesOfItem(atPath: output)
        #expect((attributes[.size] as? UInt64) == targetSize + 512)
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"))

        // qemu-img sees a fixed VHD of the rounded size whose data equals the source disk.
        let info =
            try await JSONSerialization.jsonObject(
                with: Data(runOK("qemu-img", ["info", "-f", "vpc", "--output=json", output]).utf8)) as? [String: Any]
        #expect(info?["format"] as? String == "vpc")
        #expect(info?["virtual-size"] as? UInt64 == targetSize)
        try await runOK("qemu-img", ["compare", "-f", "raw", "-F", "vpc", image, output])

        // libvhdi sees a fixed disk of the same size.
        let vhdi = try await runOK("vhdiinfo", [output])
        #expect(vhdi.contains("Fixed"))
        #expect(vhdi.contains("\(targetSize) bytes"))
    }

    /// 1 GiB is a whole MiB but not whole CHS cylinders: a qemu that sized the disk from the geometry would
    /// lose its last 256 KiB. The data written there must be read back by qemu.
    @Test func qemuReadsTheWholeDiskUpToTheLastSector() async throws {
        let dir = try TemporaryDirectory()
        let image = dir.file("disk.raw")
        let size: UInt64 = 1 << 30
        try Data().write(to: URL(fileURLWithPath: image))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: image))
        try handle.truncate(atOffset: size)
        try handle.seek(toOffset: size - 4096)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096))
        try handle.close()
        let output = dir.file("azure.vhd")
        try await runOK(relayClient, ["convert", image, output])

        let info =
            try await JSONSerialization.jsonObject(
                with: Data(runOK("qemu-img", ["info", "-f", "vpc", "--output=json", output]).utf8)) as? [String: Any]
        #expect(info?["virtual-size"] as? UInt64 == size)
        try await runOK("qemu-img", ["compare", "-f", "raw", "-F", "vpc", image, output])
    }

    @Test func outputIsSparseWhereSourceIsUnallocated() async throws {
        let dir = try TemporaryDirectory()
        let image = dir.file("disk.img")
        try await makeExt4Image(at: image, size: 256 * Self.mib, in: dir, seed: 1)
        let output = dir.file("azure.vhd")
        try await runOK(relayClient, ["convert", image, output])
        var info = stat()
        #expect(stat(output, &info) == 0)
        // A 256 MiB file system holding a few MiB must not take 256 MiB of disk.
        #expect(UInt64(info.st_blocks) * 512 < 64 * Self.mib)
        try await runOK("qemu-img", ["compare", "-f", "raw", "-F", "vpc", image, output])
    }

    @Test func refusesConvertingAFileOntoItself() async throws {
        let dir = try TemporaryDirectory()
        let image = dir.file("disk.img")
        try Data(count: 4096).write(to: URL(fileURLWithPath: image))
        let result = try await run(relayClient, ["convert", image, image])
        #expect(result.status == 2 && result.stderr.hasPrefix("relay-client: error: "))
        #expect(result.stderr.contains("the output is the input"))
        #expect(try contents(of: image) == [UInt8](repeating: 0, count: 4096))
    }

    /// The probe's case: `convert X.partial X` once truncated its own source and reported success.
    @Test func convertOfASourceNamedPartialKeepsTheSource() async throws {
        let dir = try TemporaryDirectory()
        let source = dir.file("X.partial")
        var random = SplitMix64(seed: 3)
        let bytes = random.bytes(1 << 20)
        try write(bytes, to: source)
        try await runOK(relayClient, ["convert", source, dir.file("X")])
        #expect(try contents(of: source) == bytes)
        try await runOK("qemu-img", ["compare", "-f", "raw", "-F", "vpc", source, dir.file("X")])
    }

    @Test func anOutputInAMissingDirectoryIsRefusedNamingIt() async throws {
        let dir = try TemporaryDirectory()
        let image = dir.file("disk.img")
        try Data(count: 4096).write(to: URL(fileURLWithPath: image))
        let result = try await run(relayClient, ["convert", image, dir.file("absent/out.vhd")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("the output's directory \(dir.file("absent")) does not exist"))
    }

    @Test func missingSourceNamesTheFile() async throws {
        let dir = try TemporaryDirectory()
        let result = try await run(relayClient, ["convert", dir.file("absent.vhd"), dir.file("out.vhd")])
        #expect(result.status == 2 && result.stderr.hasPrefix("relay-client: error: "))
        #expect(result.stderr.contains(dir.file("absent.vhd")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.vhd")))
    }
}
