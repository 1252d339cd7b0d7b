import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Disks made by mkfs.ext4 and qemu-img, read through `DiskImage` and compared byte for byte with
/// `qemu-img convert -O raw` of the same file.
@Suite(.ownThreads)
struct QemuImageTests {
    /// One MiB-aligned size and one that is not (mkfs.ext4 uses whole blocks and leaves the tail).
    static let sizes: [UInt64] = [32 << 20, (32 << 20) + 7 * 512]

    @Test(arguments: sizes)
    func rawImage(size: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("disk.img")
        try await makeExt4Image(at: image, size: size, in: directory, seed: size)
        let disk = try DiskImage.open(image)
        #expect(disk.format == .raw)
        #expect(disk.virtualSize == size)
        #expect(disk.uniqueID == nil)
        #expect(try readAll(disk) == contents(of: image))
        #expect(try disk.allocatedExtents() == [ByteRange(offset: 0, length: size)])
    }

    /// qemu-img writes dynamic VHDs with creator `qemu` and a current size rounded up to the CHS geometry,
    /// and reads them back at that size; we read `current size`, so both agree on these files.
    @Test(arguments: sizes)
    func dynamicVHD(size: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("disk.img")
        try await makeExt4Image(at: image, size: size, in: directory, seed: size + 1)
        let vhd = directory.file("dyn.vhd")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vpc", image, vhd])
        let disk = try DiskImage.open(vhd)
        #expect(disk.format == .dynamic)
        #expect(disk.blockSize == 2 << 20)
        #expect(disk.warnings.isEmpty)
        try await expectSameAsQemu(disk, vhd, in: directory)

        let bytes = try readAll(disk)
        let extents = try disk.allocatedExtents()
        #expect(extentsAreNormalized(extents, within: disk.virtualSize))
        #expect(uncoveredNonZeroBytes(bytes, extents).isEmpty)
        // qemu allocates only blocks with data, so a file system this empty leaves most of the disk out.
        let allocated = extents.reduce(0) { $0 + $1.length }
        #expect(allocated < disk.virtualSize / 2)
    }

    @Test(arguments: sizes)
    func fixedVHD(size: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("disk.img")
        try await makeExt4Image(at: image, size: size, in: directory, seed: size + 2)
        let vhd = directory.file("fixed.vhd")
        try await runOK(
            "qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size", image, vhd])
        let disk = try DiskImage.open(vhd)
        #expect(disk.format == .fixed)
        #expect(disk.virtualSize == size)
        #expect(disk.blockSize == nil)
        try await expectSameAsQemu(disk, vhd, in: directory)
        #expect(try readAll(disk) == contents(of: image))
    }

    /// Same virtual size as `qemu-img info` and the same bytes as `qemu-img convert -O raw`.
    private func expectSameAsQemu(_ disk: any VirtualDisk, _ vhd: String, in directory: TemporaryDirectory) async throws
    {
        let info = try await runOK("qemu-img", ["info", "--output=json", "-f", "vpc", vhd])
        #expect(info.contains("\"virtual-size\": \(disk.virtualSize),"), "qemu-img info: \(info)")
        let raw = directory.file("qemu.raw")
        try await runOK("qemu-img", ["convert", "-f", "vpc", "-O", "raw", vhd, raw])
        #expect(try readAll(disk) == contents(of: raw))
    }
}
