import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// VHDX files of an ext4 image, read through `DiskImage` and compared byte for byte with the image and with
/// an outside reader of the same file: written by qemu-img and judged by `qemu-img convert -O raw`
/// (512-byte sectors, the only ones qemu writes or reads), and written by `TestVHDXWriter` with 4096-byte
/// sectors and judged by libvhdi (pyvhdi).
@Suite(.ownThreads)
struct VHDXQemuTests {
    /// A size that is a whole number of 4 KiB sectors but of no block size.
    static let size: UInt64 = (40 << 20) + (12 << 10)

    static let layouts: [(subformat: String, blockMiB: UInt64)] = [
        ("dynamic", 1), ("dynamic", 32), ("dynamic", 256), ("fixed", 1), ("fixed", 32), ("fixed", 256),
    ]

    @Test(arguments: layouts)
    func convertedByQemu(subformat: String, blockMiB: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("disk.img")
        try await makeExt4Image(at: image, size: Self.size, in: directory, seed: blockMiB)
        let vhdx = directory.file("disk.vhdx")
        try await runOK(
            "qemu-img",
            ["convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=\(subformat),block_size=\(blockMiB)M", image, vhdx])
        // qemu marks blocks it never wrote NOT_PRESENT (dynamic) or ZERO (fixed, space kept).
        let raw = directory.file("qemu.raw")
        try await runOK("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", vhdx, raw])
        try expectSameAsImage(
            vhdx, image: image, judged: raw, fixed: subformat == "fixed", blockMiB: blockMiB, sectorSize: 512,
            everyBlockPresent: false)
    }

    @Test(arguments: layouts)
    func writtenWith4096ByteSectors(subformat: String, blockMiB: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("disk.img")
        try await makeExt4Image(at: image, size: Self.size, in: directory, seed: blockMiB + 4096)
        let vhdx = directory.file("disk.vhdx")
        try TestVHDXWriter.holding(
            try contents(of: image), blockSize: UInt32(blockMiB << 20), logicalSectorSize: 4096,
            fixed: subformat == "fixed"
        ).write(to: vhdx)
        // The writer's fixed disk has every block FULLY_PRESENT, as Hyper-V writes them.
        let raw = directory.file("pyvhdi.raw")
        try await readWithPyvhdi(chain: [vhdx], into: raw, in: directory)
        try expectSameAsImage(
            vhdx, image: image, judged: raw, fixed: subformat == "fixed", blockMiB: blockMiB, sectorSize: 4096,
            everyBlockPresent: subformat == "fixed")
    }

    /// Our reader's bytes equal the image and `judged`, the bytes an outside reader got from the file.
    private func expectSameAsImage(
        _ vhdx: String, image: String, judged: String, fixed: Bool, blockMiB: UInt64, sectorSize: UInt32,
        everyBlockPresent: Bool
    ) throws {
        let disk = try DiskImage.open(vhdx)
        #expect(disk.format == (fixed ? .vhdxFixed : .vhdxDynamic))
        #expect(disk.virtualSize == Self.size)
        #expect(disk.blockSize == UInt32(blockMiB << 20))
        #expect(disk.logicalSectorSize == sectorSize)
        #expect(disk.parent == nil)
        #expect(disk.warnings.isEmpty == (sectorSize == 512))
        if sectorSize == 4096 {
            #expect(disk.warnings.first?.contains("the guest sees 4096-byte logical sectors") == true)
        }

        let bytes = try readAll(disk)
        #expect(bytes == (try contents(of: image)))
        #expect(bytes == (try contents(of: judged)))

        let extents = try disk.allocatedExtents()
        #expect(extentsAreNormalized(extents, within: disk.virtualSize))
        #expect(uncoveredNonZeroBytes(bytes, extents).isEmpty)
        if everyBlockPresent {
            #expect(extents == [ByteRange(offset: 0, length: Self.size)])
        } else if blockMiB == 1 {
            // This file system leaves most 1 MiB blocks empty, and they are not allocated.
            #expect(extents.reduce(0) { $0 + $1.length } < disk.virtualSize / 2)
        }
    }

    /// `qemu-img create`: nothing written, every byte zero; a dynamic disk has no extents.
    @Test(arguments: ["dynamic", "fixed"])
    func createdEmpty(subformat: String) async throws {
        let directory = try TemporaryDirectory()
        let vhdx = directory.file("empty.vhdx")
        try await runOK(
            "qemu-img", ["create", "-q", "-f", "vhdx", "-o", "subformat=\(subformat),block_size=8M", vhdx, "20M"])
        let disk = try DiskImage.open(vhdx)
        #expect(disk.virtualSize == 20 << 20)
        #expect(try readAll(disk).allSatisfy { $0 == 0 })
        if subformat == "dynamic" {
            #expect(try disk.allocatedExtents().isEmpty)
        }
    }

    /// Reads at odd offsets and lengths that cross block boundaries agree with the whole image.
    @Test func unalignedReadsAcrossBlocks() async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("disk.img")
        let size: UInt64 = 6 << 20
        var generator = SplitMix64(seed: 99)
        try write(generator.bytes(Int(size)), to: image)
        let vhdx = directory.file("disk.vhdx")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=1M", image, vhdx])
        let disk = try DiskImage.open(vhdx)
        let expected = try contents(of: image)
        for _ in 0..<200 {
            let offset = Int(generator.next() % size)
            let count = Int(generator.next() % UInt64(min(3 << 20, Int(size) - offset))) + 1
            var buffer = [UInt8](repeating: 0xEE, count: count)
            try buffer.withUnsafeMutableBytes { try disk.read(into: $0, at: UInt64(offset)) }
            #expect(buffer[...] == expected[offset..<(offset + count)])
        }
    }
}
