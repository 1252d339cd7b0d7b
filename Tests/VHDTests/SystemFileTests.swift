import Glibc
import Testing
@testable import RelayShared
import TestSupport

struct SystemFileTests {
    @Test func writesReadsAndGrowsSparse() throws {
        let path = "/tmp/relay-systemfile-\(getpid()).bin"
        defer { unlink(path) }
        let file = try SystemFile.create(path)
        let payload: [UInt8] = Array(1...200)
        try payload.withUnsafeBytes { try file.write($0, at: 4096) }
        try file.truncate(to: 1 << 20)
        #expect(try file.size() == 1 << 20)
        #expect(try file.readExactly(200, at: 4096) == payload)
        #expect(try file.readExactly(512, at: 8192) == [UInt8](repeating: 0, count: 512))
    }

    @Test func shortReadNamesFileAndOffset() throws {
        let path = "/tmp/relay-systemfile-short-\(getpid()).bin"
        defer { unlink(path) }
        let file = try SystemFile.create(path)
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try file.write($0, at: 0) }
        let error = #expect(throws: FileError.self) { try file.readExactly(64, at: 80) }
        #expect(error?.offset == 80)
        #expect(error?.description.contains(path) == true)
    }

    @Test func missingFileIsReported() {
        let error = #expect(throws: FileError.self) { try SystemFile.openForReading("/nonexistent/disk.vhd") }
        #expect(error?.errno == ENOENT)
        #expect(error?.description.contains("/nonexistent/disk.vhd") == true)
    }

    /// A whole disk given as a raw source: `fstat` says 0 bytes for a block device, the size must not.
    @Test func blockDeviceReportsItsSize() throws {
        let directory = try TemporaryDirectory()
        let image = directory.file("backing.img")
        try SystemFile.create(image).truncate(to: 8 << 20)
        let device = try runOK("losetup", ["--find", "--show", image]).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? runOK("losetup", ["--detach", device]) }
        #expect(try SystemFile.openForReading(device).size() == 8 << 20)
        let disk = try DiskImage.open(device)
        #expect(disk.format == .raw)
        #expect(disk.virtualSize == 8 << 20)
    }
}
