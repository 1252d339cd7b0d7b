import Foundation
import TestSupport
import Testing

/// `relay-client inspect` and `convert` with VHDX sources written by qemu-img; the converted fixed VHD is
/// judged by qemu-img and libvhdi.
@Suite(.ownThreads, .serialized)
struct VHDXCommandTests {
    static let size: UInt64 = (24 << 20) + (12 << 10)

    /// An ext4 image as a VHDX: by qemu-img with 512-byte sectors, by `TestVHDXWriter` with 4096.
    private func vhdx(_ dir: TemporaryDirectory, sectorSize: UInt32 = 512, subformat: String = "dynamic") async throws
        -> (
            image: String, source: String
        )
    {
        let image = dir.file("disk.img")
        try await makeExt4Image(at: image, size: Self.size, in: dir, seed: 12)
        let source = dir.file("source.vhdx")
        if sectorSize == 512 {
            try await runOK(
                "qemu-img",
                ["convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=\(subformat),block_size=1M", image, source])
        } else {
            try TestVHDXWriter.holding(
                try contents(of: image), blockSize: 1 << 20, logicalSectorSize: sectorSize,
                fixed: subformat == "fixed"
            ).write(to: source)
        }
        return (image, source)
    }

    @Test func inspectDescribesADynamicVHDX() async throws {
        let dir = try TemporaryDirectory()
        let (_, source) = try await vhdx(dir)
        let inspected = try await runOK(relayClient, ["inspect", source, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [String: Any])
        #expect(json["format"] as? String == "vhdx-dynamic")
        #expect(json["virtual_size"] as? UInt64 == Self.size)
        #expect(json["target_size"] as? UInt64 == 25 << 20)
        #expect(json["block_size"] as? UInt64 == 1 << 20)
        #expect(json["logical_sector_size"] as? UInt64 == 512)
        #expect((json["unique_id"] as? String)?.count == 36)
        let allocated = try #require(json["allocated_extents"] as? [String: Any])
        let bytes = try #require(allocated["bytes"] as? UInt64)
        #expect(bytes > 0 && bytes < Self.size)
        #expect((json["warnings"] as? [Any])?.isEmpty == true)

        let text = try await runOK(relayClient, ["inspect", source])
        #expect(text.contains("vhdx-dynamic"))
        #expect(text.contains("512 logical, 512 physical"))
    }

    /// A 4096-byte-sector VHDX says so, in the text and as a warning, since the target has 512-byte sectors.
    @Test func inspectSaysTheGuestSees4096ByteSectors() async throws {
        let dir = try TemporaryDirectory()
        let (_, source) = try await vhdx(dir, sectorSize: 4096)
        let inspected = try await runOK(relayClient, ["inspect", source, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [String: Any])
        #expect(json["logical_sector_size"] as? UInt64 == 4096)
        let warnings = try #require(json["warnings"] as? [String])
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("the guest sees 4096-byte logical sectors") == true)
        let text = try await runOK(relayClient, ["inspect", source])
        #expect(text.contains("the guest sees 4096-byte sectors; the target has 512"))
    }

    @Test(arguments: ["dynamic", "fixed"])
    func convertMakesAnAzureReadyFixedVHD(subformat: String) async throws {
        let dir = try TemporaryDirectory()
        let (image, source) = try await vhdx(dir, subformat: subformat)
        let output = dir.file("azure.vhd")
        let converted = try await runOK(relayClient, ["convert", source, output, "--json"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(converted.utf8)) as? [String: Any])
        #expect(summary["virtual_size"] as? UInt64 == Self.size)
        #expect(summary["target_size"] as? UInt64 == 25 << 20)
        let attributes = try FileManager.default.attributesOfItem(atPath: output)
        #expect(attributes[.size] as? UInt64 == (25 << 20) + 512)

        let described = try await runOK("qemu-img", ["info", "-f", "vpc", "--output=json", output])
        let info = try #require(try JSONSerialization.jsonObject(with: Data(described.utf8)) as? [String: Any])
        #expect(info["virtual-size"] as? UInt64 == 25 << 20)
        // The first bytes equal the source image; the rest is the zero padding to a whole MiB.
        try await runOK("qemu-img", ["compare", "-f", "raw", "-F", "vpc", image, output])
        try await runOK("qemu-img", ["compare", "-f", "vhdx", "-F", "vpc", source, output])
        #expect(try await runOK("vhdiinfo", [output]).contains("Fixed"))
    }

    @Test func damagedVHDXIsRefusedNamingTheStructure() async throws {
        let dir = try TemporaryDirectory()
        let (_, source) = try await vhdx(dir)
        // Both region tables lose their signature.
        for offset in [192 << 10, 256 << 10] as [UInt64] { try patch(source, at: offset, with: Array("xxxx".utf8)) }
        let result = try await run(relayClient, ["convert", source, dir.file("out.vhd")])
        #expect(result.status == 2 && result.stderr.hasPrefix("relay-client: error: "))
        #expect(result.stderr.contains("\(source): region table field 'signature' at byte offset 196608"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.vhd")))
    }
}
