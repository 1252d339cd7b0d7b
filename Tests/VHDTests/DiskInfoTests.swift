import Foundation
import TestSupport
import Testing

@testable import RelayShared

@Suite(.ownThreads)
struct DiskInfoTests {
    @Test func differencingDiskAsJSON() throws {
        let directory = try TemporaryDirectory()
        var parent = TestVHDWriter(virtualSize: (3 << 20) + 512, blockSize: 1 << 20)
        parent.writes = [(0, seededBytes(1, 4096)), (2 << 20, seededBytes(2, 512))]
        try parent.write(to: directory.file("parent.vhd"))
        var child = TestVHDWriter(virtualSize: (3 << 20) + 512, blockSize: 1 << 20)
        child.parent = .windows(parentPath: directory.file("parent.vhd"), uniqueID: parent.uniqueID)
        child.writes = [(1024, seededBytes(3, 8192)), (1 << 20, seededBytes(4, 1024))]
        try child.write(to: directory.file("child.vhd"))

        let info = try DiskInfo(disk: DiskImage.open(directory.file("child.vhd")))
        #expect(info.format == .differencing)
        #expect(info.virtualSize == (3 << 20) + 512)
        #expect(info.targetSize == 4 << 20)
        #expect(info.blockSize == 1 << 20)
        // [0, 9216) from both, [1 MiB, +1024) from the child, [2 MiB, +512) from the parent.
        #expect(info.allocatedExtents == DiskInfo.Extents(count: 3, bytes: 9216 + 1024 + 512))
        #expect(info.uniqueID == child.uniqueID.uuidString.lowercased())

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try #require(try JSONSerialization.jsonObject(with: encoder.encode(info)) as? [String: Any])
        #expect(
            Set(json.keys) == [
                "format", "path", "virtual_size", "target_size", "block_size", "allocated_extents",
                "unique_id", "parent_chain", "logical_sector_size", "physical_sector_size",
                "warnings",
            ])
        #expect(json["logical_sector_size"] as? Int == 512)
        #expect(json["format"] as? String == "differencing")
        #expect(json["target_size"] as? Int == 4 << 20)
        let extents = try #require(json["allocated_extents"] as? [String: Any])
        #expect(extents["count"] as? Int == 3)
        let chain = try #require(json["parent_chain"] as? [[String: Any]])
        #expect(chain.count == 1)
        #expect(chain.first?["path"] as? String == directory.file("parent.vhd"))
        #expect(chain.first?["format"] as? String == "dynamic")
        #expect(chain.first?["unique_id"] as? String == parent.uniqueID.uuidString.lowercased())
        #expect(chain.first?["virtual_size"] as? Int == (3 << 20) + 512)
        #expect(try JSONDecoder().decode(DiskInfo.self, from: encoder.encode(info)) == info)
    }

    /// A raw image has no block size and no unique id; both keys are present as null.
    @Test func rawImageHasNullFields() throws {
        let directory = try TemporaryDirectory()
        try write(seededBytes(7, 5120), to: directory.file("disk.img"))
        let info = try DiskInfo(disk: DiskImage.open(directory.file("disk.img")))
        #expect(info.format == .raw)
        #expect(info.virtualSize == 5120)
        #expect(info.targetSize == 1 << 20)
        #expect(info.allocatedExtents == DiskInfo.Extents(count: 1, bytes: 5120))
        let text = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
        #expect(text.contains("\"block_size\":null"))
        #expect(text.contains("\"unique_id\":null"))
        #expect(text.contains("\"parent_chain\":[]"))
    }
}
