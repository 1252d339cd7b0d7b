import Glibc
import TestSupport
import Testing

@testable import RelayShared

@Suite(.ownThreads)
struct SystemFileTests {
    @Test func writesReadsAndGrowsSparse() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("file.bin")
        let file = try SystemFile.create(path)
        let payload: [UInt8] = Array(1...200)
        try payload.withUnsafeBytes { try file.write($0, at: 4096) }
        try file.truncate(to: 1 << 20)
        #expect(try file.size() == 1 << 20)
        #expect(try file.readExactly(200, at: 4096) == payload)
        #expect(try file.readExactly(512, at: 8192) == [UInt8](repeating: 0, count: 512))
    }

    /// A write goes out in pwrites of at most `writeChunk` bytes: one of several chunks and a part, at an
    /// offset that is a multiple of nothing, reads back whole.
    @Test func aWriteOfSeveralChunksReadsBackWhole() throws {
        let directory = try TemporaryDirectory()
        let file = try SystemFile.create(directory.file("chunks.bin"))
        var random = SplitMix64(seed: 5)
        let data = random.bytes(3 * SystemFile.writeChunk + 1000)
        try file.write(data, at: 777)
        #expect(try file.size() == UInt64(777 + data.count))
        #expect(try file.readExactly(data.count, at: 777) == data)
    }

    @Test func shortReadNamesFileAndOffset() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("short.bin")
        let file = try SystemFile.create(path)
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try file.write($0, at: 0) }
        let error = #expect(throws: FileError.self) { try file.readExactly(64, at: 80) }
        #expect(error?.offset == 80)
        #expect(error?.description.contains(path) == true)
    }

    @Test func punchedHolesReadAsZerosAndFreeTheirBlocks() throws {
        let directory = try TemporaryDirectory()
        let file = try SystemFile.create(directory.file("holes.bin"))
        var random = SplitMix64(seed: 3)
        let data = random.bytes(4 << 20)
        try file.write(data, at: 0)
        try file.sync()
        #expect(try file.allocatedBytes() >= 4 << 20)
        try file.punchHole(ByteRange(offset: 1 << 20, length: 2 << 20))
        #expect(try file.size() == 4 << 20)
        #expect(try file.allocatedBytes() <= 2 << 20 + 64 << 10)
        #expect(try file.readExactly(2 << 20, at: 1 << 20) == [UInt8](repeating: 0, count: 2 << 20))
        #expect(try file.readExactly(1 << 20, at: 3 << 20) == Array(data[(3 << 20)...]))
    }

    /// A copy has the same bytes and, where blocks cannot be shared, holes where the original has them.
    @Test func copiesKeepBytesAndHoles() throws {
        let directory = try TemporaryDirectory()
        let original = try SystemFile.create(directory.file("original.bin"))
        var random = SplitMix64(seed: 4)
        let head = random.bytes(512 << 10)
        let tail = random.bytes(256 << 10)
        try original.truncate(to: 64 << 20)
        try original.write(head, at: 0)
        try original.write(tail, at: 40 << 20)
        let copy = try original.copy(to: directory.file("copy.bin"))
        #expect(try copy.size() == 64 << 20)
        #expect(try copy.readExactly(head.count, at: 0) == head)
        #expect(try copy.readExactly(tail.count, at: 40 << 20) == tail)
        #expect(try copy.readExactly(1 << 20, at: 20 << 20) == [UInt8](repeating: 0, count: 1 << 20))
        #expect(try copy.allocatedBytes() < 4 << 20)
    }

    @Test func creatingNewRefusesAnExistingFileAndRemovingToleratesAMissingOne() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("once.bin")
        _ = try SystemFile.createNew(path)
        let error = #expect(throws: FileError.self) { try SystemFile.createNew(path) }
        #expect(error?.errno == EEXIST)
        try SystemFile.remove(path)
        try SystemFile.remove(path)
        #expect(throws: FileError.self) { try SystemFile.openForWriting(path) }
    }

    @Test func missingFileIsReported() {
        let error = #expect(throws: FileError.self) { try SystemFile.openForReading("/nonexistent/disk.vhd") }
        #expect(error?.errno == ENOENT)
        #expect(error?.description.contains("/nonexistent/disk.vhd") == true)
    }

    /// A whole disk given as a raw source: `fstat` says 0 bytes for a block device, the size must not.
    @Test func blockDeviceReportsItsSize() async throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("backing.img")
        try SystemFile.create(image).truncate(to: 8 << 20)
        let device = try await runOK("losetup", ["--find", "--show", image]).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let checked = Result {
            #expect(try SystemFile.openForReading(device).size() == 8 << 20)
            let disk = try DiskImage.open(device)
            #expect(disk.format == .raw)
            #expect(disk.virtualSize == 8 << 20)
        }
        try await runOK("losetup", ["--detach", device])
        try checked.get()
    }
}
