import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Writes of 1 to 40 sectors of random data (some all zeros) at random sector offsets inside `size`,
/// each ending on a multiple of `endAlignment` sectors.
func randomWrites(
    seed: UInt64, size: UInt64, count: Int, endAlignment: Int = 1
) -> [(offset: UInt64, bytes: [UInt8])] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { index in
        var sectors = 1 + Int(random.next() % 40)
        let offset = (random.next() % (size / 512 - UInt64(sectors) - UInt64(endAlignment))) * 512
        let end = Int(offset / 512) + sectors
        sectors += (endAlignment - end % endAlignment) % endAlignment
        let bytes = index % 7 == 3 ? [UInt8](repeating: 0, count: sectors * 512) : random.bytes(sectors * 512)
        return (offset, bytes)
    }
}

@Suite(.ownThreads)
struct DifferencingTests {
    /// base (qemu dynamic over ext4) ← c1 ← c2 ← c3, with partial sector bitmaps, blocks out of order and
    /// both Windows locators (c2's relative one is wrong, so its absolute one is used); checked against a
    /// model, against libvhdi (vhdiinfo and pyvhdi) and for extents.
    ///
    /// Two libvhdi 20210425 limits shape this chain; `partialSectorsAndMixedBlockSizes` covers the rest
    /// against the model:
    /// - runs of set bits end on whole bitmap bytes (8 sectors), starting anywhere: libvhdi does not mask
    ///   the bit it extracts (`element_value = byte_value >> (7 - bit_index)` in
    ///   `libvhdi_block_descriptor_read_sector_bitmap_data`), so it takes the clear bits after a set bit
    ///   in the same byte from the child;
    /// - every disk has 2 MiB blocks: for a 512 KiB-block child it returned zeros for sectors the child
    ///   holds (consistent with taking the 128-byte bitmap unpadded, where the format pads it to 512).
    @Test func chainOfFourMatchesModelAndLibvhdi() async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("disk.img")
        try await makeExt4Image(at: image, size: (32 << 20) + 7 * 512, in: directory, seed: 11)
        let basePath = directory.file("base.vhd")
        try await runOK("qemu-img", ["convert", "-f", "raw", "-O", "vpc", image, basePath])
        let base = try DiskImage.open(basePath)
        let baseID = try #require(base.uniqueID)
        var expected = try readAll(base)
        let size = base.virtualSize

        var c1 = TestVHDWriter(virtualSize: size)
        c1.parent = .windows(parentPath: basePath, uniqueID: baseID)
        c1.writes = randomWrites(seed: 1, size: size, count: 60, endAlignment: 8)
        // Out-of-order blocks in the file must not matter.
        c1.blockOrder = Array((0..<Int(size / (2 << 20) + 1)).reversed())
        try c1.write(to: directory.file("c1.vhd"))
        expected = c1.expected(over: expected)

        var c2 = TestVHDWriter(virtualSize: size)
        c2.parent = .windows(parentPath: directory.file("c1.vhd"), uniqueID: c1.uniqueID, relative: "missing.vhd")
        c2.writes = randomWrites(seed: 2, size: size, count: 60, endAlignment: 8)
        try c2.write(to: directory.file("c2.vhd"))
        expected = c2.expected(over: expected)

        var c3 = TestVHDWriter(virtualSize: size)
        c3.parent = .windows(parentPath: directory.file("c2.vhd"), uniqueID: c2.uniqueID)
        // Zeros written over the parents' data must read as zeros, not as the parents' bytes.
        c3.writes =
            randomWrites(seed: 3, size: size, count: 30, endAlignment: 8)
            + [(offset: 4 << 20, bytes: [UInt8](repeating: 0, count: 64 << 10))]
        try c3.write(to: directory.file("c3.vhd"))
        expected = c3.expected(over: expected)

        let child = try DiskImage.open(directory.file("c3.vhd"))
        #expect(child.format == .differencing)
        #expect(child.virtualSize == size)
        #expect(child.warnings.isEmpty)
        #expect(try readAll(child) == expected)

        let sparse = try #require(child as? SparseDisk)
        #expect(try sparse.ownAllocatedExtents() == c3.writtenExtents)
        let extents = try child.allocatedExtents()
        #expect(extentsAreNormalized(extents, within: size))
        #expect(uncoveredNonZeroBytes(expected, extents).isEmpty)
        let chainExtents = try coalesced(
            base.allocatedExtents() + c1.writtenExtents + c2.writtenExtents
                + c3.writtenExtents)
        #expect(extents == chainExtents)

        let info = try DiskInfo(disk: child)
        #expect(info.parentChain.map(\.path) == [directory.file("c2.vhd"), directory.file("c1.vhd"), basePath])
        #expect(
            info.parentChain.map(\.uniqueID) == [c2.uniqueID, c1.uniqueID, baseID].map { $0.uuidString.lowercased() })
        #expect(info.parentChain.map(\.format) == [.differencing, .differencing, .dynamic])

        let vhdiinfo = try await runOK("vhdiinfo", [directory.file("c3.vhd")])
        #expect(vhdiinfo.contains("Disk type\t\t: Differential"), "\(vhdiinfo)")
        #expect(vhdiinfo.contains("(\(size) bytes)"), "\(vhdiinfo)")
        #expect(vhdiinfo.lowercased().contains(c2.uniqueID.uuidString.lowercased()), "\(vhdiinfo)")

        let judged = directory.file("pyvhdi.raw")
        let report = try await readWithPyvhdi(
            chain: ["c3", "c2", "c1"].map { directory.file("\($0).vhd") } + [basePath], into: judged, in: directory)
        #expect(report.hasPrefix("\(size) "), "\(report)")
        #expect(try contents(of: judged) == expected)
    }

    /// Sector-granular bitmaps in a dynamic parent (64 KiB blocks) and a differencing child (1 MiB
    /// blocks): clear sectors read as zeros in the parent and as the parent in the child, and reads of any
    /// offset and length equal the same slice of one whole read.
    @Test func partialSectorsAndMixedBlockSizes() throws {
        let directory = try TemporaryDirectory()
        var parent = TestVHDWriter(virtualSize: (4 << 20) + 3 * 512, blockSize: 64 << 10)
        parent.writes = randomWrites(seed: 5, size: parent.virtualSize, count: 80)
        try parent.write(to: directory.file("dyn.vhd"))
        let dynamic = try DiskImage.open(directory.file("dyn.vhd"))
        #expect(dynamic.format == .dynamic)
        #expect(try readAll(dynamic) == parent.expected())
        #expect(try dynamic.allocatedExtents() == parent.writtenExtents)

        var child = TestVHDWriter(virtualSize: parent.virtualSize, blockSize: 1 << 20)
        child.parent = .windows(parentPath: directory.file("dyn.vhd"), uniqueID: parent.uniqueID)
        child.writes = randomWrites(seed: 4, size: child.virtualSize, count: 80)
        try child.write(to: directory.file("child.vhd"))
        let disk = try DiskImage.open(directory.file("child.vhd"))
        let whole = try readAll(disk)
        #expect(whole == child.expected(over: parent.expected()))
        #expect(try disk.allocatedExtents() == coalesced(parent.writtenExtents + child.writtenExtents))

        var random = SplitMix64(seed: 6)
        for _ in 0..<300 {
            let offset = Int(random.next() % disk.virtualSize)
            let count = min(Int(random.next() % (300 << 10)), whole.count - offset)
            var part = [UInt8](repeating: 0xAA, count: count)
            try part.withUnsafeMutableBytes { try disk.read(into: $0, at: UInt64(offset)) }
            #expect(part[...] == whole[offset..<(offset + count)], "read of \(count) at \(offset)")
        }
        var pastEnd = [UInt8](repeating: 0, count: 2)
        let error = #expect(throws: VHDError.self) {
            try pastEnd.withUnsafeMutableBytes { try disk.read(into: $0, at: disk.virtualSize - 1) }
        }
        #expect(error?.code == .readOutOfRange)
    }

    /// Each locator kind alone finds the parent; the parent's name in the header is the last resort.
    @Test(arguments: ["W2ru", "W2ku", "Wi2r", "Wi2k", "MacX", "name"])
    func locatorKinds(kind: String) throws {
        let directory = try TemporaryDirectory()
        var parent = TestVHDWriter(virtualSize: 1 << 20, blockSize: 512 << 10)
        parent.writes = randomWrites(seed: 7, size: parent.virtualSize, count: 10)
        let parentPath = directory.file("parent disk.vhd")
        try parent.write(to: parentPath)

        var child = TestVHDWriter(virtualSize: 1 << 20, blockSize: 512 << 10)
        let data: [UInt8]
        switch kind {
        case "W2ru": data = TestVHDWriter.utf16LE(".\\parent disk.vhd")
        case "W2ku": data = TestVHDWriter.utf16LE("C:" + parentPath.replacingOccurrences(of: "/", with: "\\"))
        case "Wi2r": data = Array(".\\parent disk.vhd".utf8)
        case "Wi2k": data = Array(parentPath.utf8)
        case "MacX": data = Array(URL(fileURLWithPath: parentPath).absoluteString.utf8)
        default: data = []
        }
        child.parent = TestVHDWriter.ParentReference(
            uniqueID: parent.uniqueID, unicodeName: kind == "name" ? "parent disk.vhd" : "elsewhere.vhd",
            locators: kind == "name" ? [] : [(FourCharacterCode(stringLiteral: kind), data)])
        child.writes = randomWrites(seed: 8, size: child.virtualSize, count: 10)
        try child.write(to: directory.file("child.vhd"))

        let disk = try DiskImage.open(directory.file("child.vhd"))
        #expect(disk.parent?.path == parentPath)
        #expect(try readAll(disk) == child.expected(over: parent.expected()))
    }

    @Test func chainDepthIsBounded() throws {
        let directory = try TemporaryDirectory()
        var previous = TestVHDWriter(virtualSize: 1 << 20, blockSize: 512 << 10)
        previous.writes = [(0, [UInt8](repeating: 1, count: 512))]
        try previous.write(to: directory.file("disk-0.vhd"))
        for depth in 1..<DiskImage.maximumChainDepth + 1 {
            var child = TestVHDWriter(virtualSize: 1 << 20, blockSize: 512 << 10)
            child.parent = .windows(parentPath: directory.file("disk-\(depth - 1).vhd"), uniqueID: previous.uniqueID)
            child.writes = [(UInt64(depth) * 512, [UInt8](repeating: UInt8(depth % 256), count: 512))]
            try child.write(to: directory.file("disk-\(depth).vhd"))
            previous = child
        }
        // 64 files (disk-63 and its 63 ancestors) open; 65 do not.
        let deepest = try DiskImage.open(directory.file("disk-63.vhd"))
        #expect(try DiskInfo(disk: deepest).parentChain.count == 63)
        var sector = [UInt8](repeating: 0, count: 512)
        try sector.withUnsafeMutableBytes { try deepest.read(into: $0, at: 0) }
        #expect(sector == [UInt8](repeating: 1, count: 512))
        let error = #expect(throws: VHDError.self) { try DiskImage.open(directory.file("disk-64.vhd")) }
        #expect(error?.code == .chainTooDeep)
        #expect(error?.path == directory.file("disk-1.vhd"))
    }

    @Test func cycleIsRefused() throws {
        let directory = try TemporaryDirectory()
        var a = TestVHDWriter(virtualSize: 1 << 20, blockSize: 512 << 10)
        var b = TestVHDWriter(virtualSize: 1 << 20, blockSize: 512 << 10)
        a.parent = .windows(parentPath: directory.file("b.vhd"), uniqueID: b.uniqueID)
        b.parent = .windows(parentPath: directory.file("a.vhd"), uniqueID: a.uniqueID)
        try a.write(to: directory.file("a.vhd"))
        try b.write(to: directory.file("b.vhd"))
        let error = #expect(throws: VHDError.self) { try DiskImage.open(directory.file("a.vhd")) }
        #expect(error?.code == .chainCycle)
        #expect(error?.path == directory.file("b.vhd"))
    }
}
