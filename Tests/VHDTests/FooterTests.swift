import Foundation
import TestSupport
import Testing

@testable import RelayShared

@Suite(.ownThreads)
struct GeometryTests {
    static let examples: [(size: UInt64, geometry: DiskGeometry)] = [
        (1 << 30, DiskGeometry(cylinders: 2080, heads: 16, sectorsPerTrack: 63)),
        (30 << 30, DiskGeometry(cylinders: 62415, heads: 16, sectorsPerTrack: 63)),
        (1023 << 30, DiskGeometry(cylinders: 65535, heads: 16, sectorsPerTrack: 255)),
        // Small disks take the 17- and 31-sector branches of the algorithm.
        (20 << 20, DiskGeometry(cylinders: 602, heads: 4, sectorsPerTrack: 17)),
        (200 << 20, DiskGeometry(cylinders: 825, heads: 16, sectorsPerTrack: 31)),
    ]

    @Test(arguments: examples)
    func workedExamples(size: UInt64, geometry: DiskGeometry) {
        #expect(DiskGeometry(forSize: size) == geometry)
    }

    @Test func hugeSizesAreCappedNotTrapped() {
        #expect(DiskGeometry(forSize: .max) == DiskGeometry(cylinders: 65535, heads: 16, sectorsPerTrack: 255))
        #expect(DiskGeometry(forSize: 0) == DiskGeometry(cylinders: 0, heads: 4, sectorsPerTrack: 17))
    }
}

@Suite(.ownThreads)
struct FooterTests {
    static let roundings: [(virtualSize: UInt64, target: UInt64)] = [
        (0, 0),
        (1, 1 << 20),
        (1 << 20, 1 << 20),
        ((32 << 20) + 7 * 512, 33 << 20),
        (33_562_624, 33 << 20),
        (.max, .max & ~((1 << 20) - 1)),
    ]

    @Test(arguments: roundings)
    func targetSizeRoundsUpToWholeMiB(virtualSize: UInt64, target: UInt64) {
        #expect(VHDFooter.targetSize(forVirtualSize: virtualSize) == target)
    }

    @Test func fixedTargetFieldsAndRoundTrip() throws {
        let id = UUID()
        let date = Date(timeIntervalSince1970: VHDFooter.epochOffset + 1_000)
        let footer = VHDFooter.fixedTarget(virtualSize: (30 << 30) - 100, uniqueID: id, timestamp: date)
        #expect(footer.currentSize == 30 << 30)
        #expect(footer.originalSize == 30 << 30)
        #expect(footer.geometry == DiskGeometry(cylinders: 62415, heads: 16, sectorsPerTrack: 63))
        #expect(footer.diskType == .fixed)
        #expect(footer.dataOffset == .max)
        #expect(footer.timestamp == 1_000)
        #expect(footer.creatorApplication == "win ")
        let bytes = footer.serialized()
        #expect(bytes.count == 512)
        #expect(Array(bytes[0..<8]) == Array("conectix".utf8))
        // Checksum by hand: one's complement of the sum of all bytes but the checksum field.
        let sum = bytes.enumerated().filter { !(64..<68).contains($0.offset) }.reduce(UInt32(0)) {
            $0 &+ UInt32($1.element)
        }
        #expect(bytes.bigEndian(UInt32.self, at: 64) == ~sum)
        #expect(Array(bytes[68..<84]) == withUnsafeBytes(of: id.uuid) { Array($0) })
        let parsed = try VHDFooter(parsing: bytes, path: "t.vhd", structure: .footer, offset: 0)
        #expect(parsed == footer)
    }

    @Test func parseRejectsDamage() throws {
        let good = VHDFooter.fixedTarget(virtualSize: 1 << 20, uniqueID: UUID()).serialized()
        var flipped = good
        flipped[100] ^= 1
        let checksum = #expect(throws: VHDError.self) {
            try VHDFooter(parsing: flipped, path: "d.vhd", structure: .footer, offset: 1000)
        }
        #expect(checksum?.code == .badChecksum)
        #expect(checksum?.offset == 1064)
        #expect(
            checksum?.description.hasPrefix("d.vhd: footer field 'checksum' at byte offset 1064: stored 0x") == true)

        var version = good
        version.setBigEndian(UInt32(0x0002_0000), at: 12)
        version.setBigEndian(version.vhdChecksum(skipping: 64), at: 64)
        let versionError = #expect(throws: VHDError.self) {
            try VHDFooter(parsing: version, path: "d.vhd", structure: .footer, offset: 0)
        }
        #expect(versionError?.code == .unsupportedVersion)
        #expect(versionError?.offset == 12)

        var type = good
        type.setBigEndian(UInt32(5), at: 60)
        type.setBigEndian(type.vhdChecksum(skipping: 64), at: 64)
        let typeError = #expect(throws: VHDError.self) {
            try VHDFooter(parsing: type, path: "d.vhd", structure: .footer, offset: 0)
        }
        #expect(typeError?.code == .unsupportedDiskType)
        #expect(typeError?.offset == 60)
    }

    /// A raw image, zero padding to the MiB and our footer must be a fixed VHD to qemu and libvhdi.
    @Test(arguments: [UInt64(5) << 20, (UInt64(5) << 20) + 7 * 512 + 13])
    func rawPlusFixedTargetFooterIsAFixedVHD(rawSize: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("target.vhd")
        var random = SplitMix64(seed: rawSize)
        let raw = random.bytes(Int(rawSize))
        let id = UUID()
        let footer = VHDFooter.fixedTarget(virtualSize: rawSize, uniqueID: id)
        let size = VHDFooter.targetSize(forVirtualSize: rawSize)
        try write(raw + [UInt8](repeating: 0, count: Int(size - rawSize)) + footer.serialized(), to: path)

        // qemu probes for VHDs only at offset 0, where fixed VHDs hold data, so the format is named (as
        // Azure's guides do). qemu takes the size from `current size` only for creators it knows, which is
        // why the target footer names `win `: it must report exactly our size, not the geometry's.
        let info = try await runOK("qemu-img", ["info", "--output=json", "-f", "vpc", path])
        #expect(info.contains("\"format\": \"vpc\""))
        #expect(info.contains("\"virtual-size\": \(size),"))

        let vhdi = try await runOK("vhdiinfo", [path])
        #expect(vhdi.contains("Disk type\t\t: Fixed"))
        #expect(vhdi.contains("(\(size) bytes)"))
        #expect(vhdi.lowercased().contains(id.uuidString.lowercased()))

        let disk = try DiskImage.open(path)
        #expect(disk.format == .fixed)
        #expect(disk.virtualSize == size)
        #expect(disk.uniqueID == id)
        #expect(try readAll(disk) == raw + [UInt8](repeating: 0, count: Int(size - rawSize)))
    }
}
