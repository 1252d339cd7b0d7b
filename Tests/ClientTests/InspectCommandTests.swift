import Foundation
import TestSupport
import Testing

/// `relay-client inspect` on disks made by qemu-img, and on damaged ones.
@Suite(.ownThreads, .serialized)
struct InspectCommandTests {
    @Test func describesADynamicVHD() async throws {
        let dir = try TemporaryDirectory()
        let image = dir.file("disk.img")
        try await makeExt4Image(at: image, size: 40 << 20, in: dir, seed: 1)
        let source = dir.file("source.vhd")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vpc", image, source])

        let object =
            try await JSONSerialization.jsonObject(
                with: Data(runOK(relayClient, ["inspect", source, "--json"]).utf8)) as? [String: Any]
        let json = try #require(object)
        #expect(json["format"] as? String == "dynamic")
        #expect(json["path"] as? String == source)
        let virtualSize = try #require(json["virtual_size"] as? UInt64)
        #expect(virtualSize >= 40 << 20)
        #expect(json["target_size"] as? UInt64 == (virtualSize + (1 << 20) - 1) / (1 << 20) * (1 << 20))
        #expect(json["block_size"] as? UInt64 == 2 << 20)
        let allocated = try #require(json["allocated_extents"] as? [String: Any])
        let bytes = try #require(allocated["bytes"] as? UInt64)
        // mkfs wrote metadata and our files, but far from the whole disk.
        #expect(bytes > 0 && bytes < virtualSize)
        #expect((allocated["count"] as? Int ?? 0) > 0)
        #expect((json["unique_id"] as? String)?.count == 36)
        #expect((json["parent_chain"] as? [Any])?.isEmpty == true)

        let text = try await runOK(relayClient, ["inspect", source])
        #expect(text.contains("dynamic"))
        #expect(text.contains("\(virtualSize) bytes"))
    }

    @Test func damagedFooterChecksumIsNamedWithItsOffset() async throws {
        let dir = try TemporaryDirectory()
        let image = dir.file("disk.img")
        try await makeExt4Image(at: image, size: 8 << 20, in: dir, seed: 1)
        let source = dir.file("source.vhd")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", image, source])
        // Flip a byte of the footer's checksum field (footer offset 64) in the last 512 bytes.
        let handle = try #require(FileHandle(forUpdatingAtPath: source))
        let footerOffset = try handle.seekToEnd() - 512
        try handle.seek(toOffset: footerOffset + 64)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: footerOffset + 64)
        try handle.write(contentsOf: [byte ^ 0xFF])
        try handle.close()

        let result = try await run(relayClient, ["inspect", source])
        #expect(result.status == 2 && result.stderr.hasPrefix("relay-client: error: "))
        #expect(result.stderr.contains(source))
        #expect(result.stderr.contains("checksum"))
        #expect(result.stderr.contains("\(footerOffset + 64)"))
    }
}
