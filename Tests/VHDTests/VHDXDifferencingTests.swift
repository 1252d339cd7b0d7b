import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Differencing VHDX chains written by `TestVHDXWriter` (qemu-img writes none), read against the writer's
/// model and against libvhdi: partially present blocks through their sector bitmaps, NOT_PRESENT from the
/// parent, ZERO over it; the parent found by its locator's paths and checked by its data write GUID;
/// cycles and depth.
@Suite(.ownThreads)
struct VHDXDifferencingTests {
    /// A dynamic base, a child and a grandchild, with partial and full blocks and a zeroed block.
    @Test(arguments: [(UInt32(512), UInt32(1 << 20)), (4096, 2 << 20)])
    func chainReadsLikeTheModel(sectorSize: UInt32, blockSize: UInt32) async throws {
        let directory = try TemporaryDirectory()
        let size = UInt64(5 * Int(blockSize)) + UInt64(3 * sectorSize)
        let sector = Int(sectorSize)
        var base = TestVHDXWriter(virtualSize: size, blockSize: blockSize, logicalSectorSize: sectorSize)
        base.writes = [
            (0, seededBytes(1, 10 * sector)), (UInt64(blockSize) + 7 * UInt64(sector), seededBytes(2, 300 * sector)),
            (UInt64(3 * Int(blockSize)), seededBytes(3, Int(blockSize))),
            (size - UInt64(2 * sector), seededBytes(4, 2 * sector)),
        ]
        try base.write(to: directory.file("base.vhdx"))

        var child = TestVHDXWriter(virtualSize: size, blockSize: blockSize, logicalSectorSize: sectorSize)
        child.parent = .at(directory.file("base.vhdx"), linkage: base.dataWriteGUID)
        // Sectors 5-8 over the base's first write, a whole block (fully present), scattered sectors in
        // block 3, and block 1 zeroed over the base's data.
        child.writes = [
            (UInt64(5 * sector), seededBytes(5, 4 * sector)),
            (UInt64(2 * Int(blockSize)), seededBytes(6, Int(blockSize))),
            (UInt64(3 * Int(blockSize) + 64 * sector), seededBytes(7, sector)),
            (UInt64(3 * Int(blockSize) + 200 * sector), seededBytes(8, 3 * sector)),
        ]
        child.states = [1: 2]
        let childLayout = try child.write(to: directory.file("child.vhdx"))
        #expect(childLayout.bitmapOffsets.count == 1)

        var grandchild = TestVHDXWriter(virtualSize: size, blockSize: blockSize, logicalSectorSize: sectorSize)
        grandchild.parent = .at(directory.file("child.vhdx"), linkage: child.dataWriteGUID)
        grandchild.writes = [
            (UInt64(sector), seededBytes(9, sector)),
            (UInt64(3 * Int(blockSize) + 201 * sector), seededBytes(10, sector)),
            (size - UInt64(sector), seededBytes(11, sector)),
        ]
        try grandchild.write(to: directory.file("grandchild.vhdx"))

        let expected = grandchild.model(below: child.model(below: base.model()))
        let disk = try DiskImage.open(directory.file("grandchild.vhdx"))
        #expect(disk.format == .vhdxDifferencing)
        #expect(disk.uniqueID == grandchild.page83)
        #expect(disk.logicalSectorSize == sectorSize)
        #expect(disk.parent?.path == directory.file("child.vhdx"))
        #expect(disk.parent?.format == .vhdxDifferencing)
        #expect(disk.parent?.parent?.format == .vhdxDynamic)
        let bytes = try readAll(disk)
        #expect(bytes == expected)
        // libvhdi, an outside reader, agrees with the model (so the writer's layout is the format's), but
        // for the child's ZERO block: libvhdi reads it from the parent, where [MS-VHDX] 2.5.1.1 defines
        // its contents as zeros (a child must be able to hide its parent's data).
        let judged = directory.file("pyvhdi.raw")
        try await readWithPyvhdi(
            chain: ["grandchild", "child", "base"].map { directory.file("\($0).vhdx") }, into: judged, in: directory)
        var libvhdiExpected = expected
        let zeroBlock = Int(blockSize)..<(2 * Int(blockSize))
        libvhdiExpected.replaceSubrange(zeroBlock, with: base.model()[zeroBlock])
        #expect(try contents(of: judged) == libvhdiExpected)
        let extents = try disk.allocatedExtents()
        #expect(extentsAreNormalized(extents, within: size))
        #expect(uncoveredNonZeroBytes(bytes, extents).isEmpty)

        // The child alone: its own sectors where set, the base's elsewhere, zeros in block 1.
        let childDisk = try DiskImage.open(directory.file("child.vhdx"))
        #expect(try readAll(childDisk) == child.model(below: base.model()))
        let own = try #require(childDisk as? VHDXDisk).ownAllocatedExtents()
        #expect(own.contains(ByteRange(offset: UInt64(5 * sector), length: UInt64(4 * sector))))
        #expect(own.contains(ByteRange(offset: UInt64(2 * Int(blockSize)), length: UInt64(blockSize))))

        let info = try DiskInfo(disk: disk)
        #expect(info.format == .vhdxDifferencing)
        #expect(info.parentChain.map(\.path) == [directory.file("child.vhdx"), directory.file("base.vhdx")])
        #expect(info.parentChain.map(\.format) == [.vhdxDifferencing, .vhdxDynamic])
    }

    /// A child bigger than its parent reads zeros past the parent's end.
    @Test func childLargerThanItsParent() async throws {
        let directory = try TemporaryDirectory()
        var base = TestVHDXWriter(virtualSize: 2 << 20)
        base.writes = [((2 << 20) - 4096, seededBytes(1, 4096))]
        try base.write(to: directory.file("base.vhdx"))
        var child = TestVHDXWriter(virtualSize: 4 << 20)
        child.parent = .at(directory.file("base.vhdx"), linkage: base.dataWriteGUID)
        child.writes = [((3 << 20) + 512, seededBytes(2, 512))]
        try child.write(to: directory.file("child.vhdx"))
        #expect(try readAll(DiskImage.open(directory.file("child.vhdx"))) == child.model(below: base.model()))
    }

    /// A second chunk (past 2^23 sectors) has its own sector bitmap block; reads there use it.
    @Test func secondChunkUsesItsOwnSectorBitmap() async throws {
        let directory = try TemporaryDirectory()
        let chunk: UInt64 = (1 << 23) * 512
        let size = chunk + (2 << 20)
        var base = TestVHDXWriter(virtualSize: size)
        base.writes = [(chunk, seededBytes(1, 1 << 20)), (100 << 20, seededBytes(2, 4096))]
        try base.write(to: directory.file("base.vhdx"))
        var child = TestVHDXWriter(virtualSize: size)
        child.parent = .at(directory.file("base.vhdx"), linkage: base.dataWriteGUID)
        child.writes = [(chunk + 4096, seededBytes(3, 1024)), ((100 << 20) + 512, seededBytes(4, 512))]
        let layout = try child.write(to: directory.file("child.vhdx"))
        #expect(Set(layout.bitmapOffsets.keys) == [0, 1])
        let disk = try DiskImage.open(directory.file("child.vhdx"))
        for start in [chunk, UInt64(100 << 20)] {
            var read = [UInt8](repeating: 0, count: 1 << 20)
            try read.withUnsafeMutableBytes { try disk.read(into: $0, at: start) }
            var expected = [UInt8](repeating: 0, count: 1 << 20)
            for (offset, bytes) in base.writes + child.writes where offset >= start && offset < start + (1 << 20) {
                expected.replaceSubrange(Int(offset - start)..<(Int(offset - start) + bytes.count), with: bytes)
            }
            #expect(read == expected, "the MiB at \(start)")
        }
        // The base's two fully present blocks cover the child's partial ones.
        #expect(
            try disk.allocatedExtents() == [
                ByteRange(offset: 100 << 20, length: 1 << 20), ByteRange(offset: chunk, length: 1 << 20),
            ])
        #expect(
            try #require(disk as? VHDXDisk).ownAllocatedExtents()
                == [ByteRange(offset: (100 << 20) + 512, length: 512), ByteRange(offset: chunk + 4096, length: 1024)])
    }

    // MARK: Finding the parent

    @Test func parentIsFoundByEachPath() async throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("base"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.file("kids"), withIntermediateDirectories: true)
        var base = TestVHDXWriter(virtualSize: 1 << 20)
        base.writes = [(0, seededBytes(1, 512))]
        let basePath = directory.file("base/parent.vhdx")
        try base.write(to: basePath)
        let linkage = "{\(base.dataWriteGUID.uuidString)}"
        let cases: [(String, [(key: String, value: String)])] = [
            ("relative", [("parent_linkage", linkage), ("relative_path", "..\\base\\parent.vhdx")]),
            (
                "absolute",
                [
                    ("parent_linkage", linkage), ("relative_path", ".\\gone.vhdx"),
                    ("absolute_win32_path", "C:" + basePath.replacingOccurrences(of: "/", with: "\\")),
                ]
            ),
            (
                "volume",
                [
                    ("parent_linkage", linkage),
                    (
                        "volume_path",
                        "\\\\?\\Volume{26A21BDA-A627-11D7-9931-806E6F6E6963}"
                            + basePath.replacingOccurrences(of: "/", with: "\\")
                    ),
                ]
            ),
        ]
        for (name, entries) in cases {
            var child = TestVHDXWriter(virtualSize: 1 << 20)
            child.parent = TestVHDXWriter.Parent(linkage: base.dataWriteGUID, entries: entries)
            let path = directory.file("kids/\(name).vhdx")
            try child.write(to: path)
            #expect(try DiskImage.open(path).parent?.path.hasSuffix("parent.vhdx") == true, "\(name)")
        }
        // Only a file name that resolves nowhere: found in the child's directory.
        try FileManager.default.copyItem(atPath: basePath, toPath: directory.file("kids/parent.vhdx"))
        var child = TestVHDXWriter(virtualSize: 1 << 20)
        child.parent = TestVHDXWriter.Parent(
            linkage: base.dataWriteGUID,
            entries: [
                ("parent_linkage", linkage), ("absolute_win32_path", "D:\\elsewhere\\parent.vhdx"),
            ])
        try child.write(to: directory.file("kids/by-name.vhdx"))
        #expect(
            try DiskImage.open(directory.file("kids/by-name.vhdx")).parent?.path == directory.file("kids/parent.vhdx"))
    }

    /// A parent written to since (another data write GUID) no longer fits the child, unless
    /// `parent_linkage2` names its GUID.
    @Test func parentMustHaveTheLinkedDataWriteGUID() async throws {
        let directory = try TemporaryDirectory()
        let base = TestVHDXWriter(virtualSize: 1 << 20)
        try base.write(to: directory.file("base.vhdx"))
        var child = TestVHDXWriter(virtualSize: 1 << 20)
        let stale = UUID()
        child.parent = .at(directory.file("base.vhdx"), linkage: stale)
        let layout = try child.write(to: directory.file("child.vhdx"))
        let error = try #require(vhdxOpenError(directory.file("child.vhdx")))
        #expect(error.code == .parentMismatch)
        #expect(error.structure == .parentLocator)
        #expect(error.offset == layout.locatorOffset)
        #expect(error.detail.contains(stale.uuidString))
        #expect(error.detail.contains("data write GUID \(base.dataWriteGUID.uuidString)"))

        child.parent?.entries.append(("parent_linkage2", "{\(base.dataWriteGUID.uuidString)}"))
        try child.write(to: directory.file("child.vhdx"))
        #expect(try DiskImage.open(directory.file("child.vhdx")).parent?.path == directory.file("base.vhdx"))
        // A VHD under the name is no VHDX parent.
        try write(
            [UInt8](repeating: 0, count: 1 << 20)
                + VHDFooter.fixedTarget(virtualSize: 1 << 20, uniqueID: UUID()).serialized(),
            to: directory.file("base.vhdx"))
        #expect(vhdxOpenError(directory.file("child.vhdx"))?.detail.contains("no valid VHDX header") == true)
    }

    @Test func missingParentNamesThePathsTried() async throws {
        let directory = try TemporaryDirectory()
        var child = TestVHDXWriter(virtualSize: 1 << 20)
        child.parent = .at("/nowhere/base.vhdx", linkage: UUID())
        try child.write(to: directory.file("child.vhdx"))
        let error = try #require(vhdxOpenError(directory.file("child.vhdx")))
        #expect(error.code == .parentMissing)
        #expect(error.detail.contains(directory.file("base.vhdx")))
        #expect(error.detail.contains("/nowhere/base.vhdx"))
    }

    @Test func cycleIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let (a, b) = (UUID(), UUID())
        var first = TestVHDXWriter(virtualSize: 1 << 20)
        first.dataWriteGUID = a
        first.parent = .at(directory.file("second.vhdx"), linkage: b)
        try first.write(to: directory.file("first.vhdx"))
        var second = TestVHDXWriter(virtualSize: 1 << 20)
        second.dataWriteGUID = b
        second.parent = .at(directory.file("first.vhdx"), linkage: a)
        try second.write(to: directory.file("second.vhdx"))
        #expect(vhdxOpenError(directory.file("first.vhdx"))?.code == .chainCycle)
    }

    @Test func chainDepthIsLimited() async throws {
        let directory = try TemporaryDirectory()
        var previous = TestVHDXWriter(virtualSize: 1 << 20)
        previous.writes = [(0, seededBytes(1, 512))]
        try previous.write(to: directory.file("disk-0.vhdx"))
        for depth in 1..<DiskImage.maximumChainDepth + 1 {
            var child = TestVHDXWriter(virtualSize: 1 << 20)
            child.parent = .at(directory.file("disk-\(depth - 1).vhdx"), linkage: previous.dataWriteGUID)
            try child.write(to: directory.file("disk-\(depth).vhdx"))
            previous = child
        }
        // 64 files (disk-0 … disk-63) open; 65 do not.
        let deepest = try DiskImage.open(directory.file("disk-\(DiskImage.maximumChainDepth - 1).vhdx"))
        #expect(try readAll(deepest).prefix(512) == seededBytes(1, 512)[...])
        #expect(vhdxOpenError(directory.file("disk-\(DiskImage.maximumChainDepth).vhdx"))?.code == .chainTooDeep)
    }

    // MARK: Damage

    @Test func partialBlockWithoutItsSectorBitmapIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let base = TestVHDXWriter(virtualSize: 2 << 20)
        try base.write(to: directory.file("base.vhdx"))
        var child = TestVHDXWriter(virtualSize: 2 << 20)
        child.parent = .at(directory.file("base.vhdx"), linkage: base.dataWriteGUID)
        child.writes = [(4096, seededBytes(1, 512))]
        let layout = try child.write(to: directory.file("child.vhdx"))
        let bitmapEntry = layout.batOffset + 8 * UInt64(layout.bitmapEntry(0))
        try patch(directory.file("child.vhdx"), at: bitmapEntry, with: [0, 0, 0, 0, 0, 0, 0, 0])
        let error = try #require(vhdxOpenError(directory.file("child.vhdx")))
        #expect(error.code == .badField)
        #expect(error.structure == .bat)
        #expect(error.field == "entry 0")
        #expect(error.detail.contains("sector bitmap block is not present"))
        // A sector bitmap block past the end of the file.
        try patch(directory.file("child.vhdx"), at: bitmapEntry, with: le(UInt64(1) << 40 | 6))
        let past = try #require(vhdxOpenError(directory.file("child.vhdx")))
        #expect(past.code == .outOfBounds)
        #expect(past.field == "entry \(layout.bitmapEntry(0))")
        #expect(past.offset == bitmapEntry)
    }

    @Test func damagedParentLocatorIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let base = TestVHDXWriter(virtualSize: 1 << 20)
        try base.write(to: directory.file("base.vhdx"))
        var child = TestVHDXWriter(virtualSize: 1 << 20)
        child.parent = .at(directory.file("base.vhdx"), linkage: base.dataWriteGUID)
        let path = directory.file("child.vhdx")
        let layout = try child.write(to: path)
        let locator = try #require(layout.locatorOffset)
        let pristine = try contents(of: path)
        let damages: [(UInt64, [UInt8], String)] = [
            (0, guidBytes(UUID()), "locator type"),
            (18, le(UInt16(5000)), "key value count"),
            (20, le(UInt32(1 << 20)), "entry 0 key"),
            (20 + 10, le(UInt16(0)), "entry 0 value"),
            (20 + 8, le(UInt16(3)), "entry 0 key"),
        ]
        for (offset, bytes, field) in damages {
            try write(pristine, to: path)
            try patch(path, at: locator + offset, with: bytes)
            let error = try #require(vhdxOpenError(path))
            #expect(error.code == .badParentLocator, "\(field): \(error)")
            #expect(error.field == field, "\(error)")
        }
        // Without parent_linkage the parent cannot be identified.
        child.parent?.entries.removeFirst()
        try child.write(to: path)
        #expect(vhdxOpenError(path)?.field == "parent_linkage")
    }
}
