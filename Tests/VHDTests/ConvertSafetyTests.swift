import Foundation
import Glibc
import TestSupport
import Testing

@testable import RelayShared

/// `FixedVHDConverter` never writes what the user gave as input: a source named like the converter's
/// temporary file, an output that is the source or one of its parents (by name, symbolic link or hard
/// link), a planted symbolic link where the temporary file goes, a directory as the output.
@Suite(.ownThreads)
struct ConvertSafetyTests {
    static func convert(_ source: String, to output: String) throws -> FixedVHDConverter.Summary {
        let disk = try DiskImage.open(source)
        return try FixedVHDConverter().convert(
            disk, footer: VHDFooter.fixedTarget(virtualSize: disk.virtualSize, uniqueID: disk.uniqueID ?? UUID()),
            to: output)
    }

    /// A base dynamic VHD and a differencing child over it, each with some random sectors.
    static func chain(in directory: TemporaryDirectory) throws -> (base: String, child: String) {
        let size: UInt64 = 4 << 20
        var base = TestVHDWriter(virtualSize: size)
        base.writes = randomWrites(seed: 21, size: size, count: 8)
        try base.write(to: directory.file("base.vhd"))
        var child = TestVHDWriter(virtualSize: size)
        child.parent = .windows(parentPath: directory.file("base.vhd"), uniqueID: base.uniqueID)
        child.writes = randomWrites(seed: 22, size: size, count: 8)
        try child.write(to: directory.file("child.vhd"))
        return (directory.file("base.vhd"), directory.file("child.vhd"))
    }

    @Test func sourceNamedLikeTheTemporaryFileIsLeftIntact() throws {
        let directory = try TemporaryDirectory()
        var random = SplitMix64(seed: 5)
        let bytes = random.bytes(1 << 20)
        let source = directory.file("X.partial")
        try write(bytes, to: source)
        _ = try Self.convert(source, to: directory.file("X"))
        #expect(try contents(of: source) == bytes)
        #expect(try Array(contents(of: directory.file("X")).prefix(bytes.count)) == bytes)
    }

    @Test func refusesAnOutputThatIsTheSourceOrAParent() throws {
        let directory = try TemporaryDirectory()
        let (base, child) = try Self.chain(in: directory)
        let before = try [base, child].map(contents(of:))
        #expect(symlink(base, directory.file("link-to-base.vhd")) == 0)
        #expect(link(child, directory.file("hardlink-to-child.vhd")) == 0)
        for output in [
            child, base, directory.file("link-to-base.vhd"), directory.file("hardlink-to-child.vhd"),
            directory.path + "/./base.vhd",
        ] {
            #expect(throws: ConvertError.self, "\(output)") { _ = try Self.convert(child, to: output) }
        }
        #expect(try [base, child].map(contents(of:)) == before)
        // Nothing left behind: no temporary file was created.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!names.contains { $0.contains(".partial") })
    }

    @Test func plantedSymbolicLinkAtTheTemporaryNameIsNotFollowed() throws {
        let directory = try TemporaryDirectory()
        let victim = directory.file("victim")
        try write(Array("keep me".utf8), to: victim)
        let output = directory.file("out.vhd")
        #expect(symlink(victim, output + ".partial") == 0)
        let source = directory.file("disk.raw")
        try write([UInt8](repeating: 7, count: 64 << 10), to: source)
        _ = try Self.convert(source, to: output)
        #expect(try contents(of: victim) == Array("keep me".utf8))
        var info = stat()
        #expect(lstat(output, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
    }

    @Test func refusesADirectoryOutputBeforeAnyWork() throws {
        let directory = try TemporaryDirectory()
        let source = directory.file("disk.raw")
        try write([UInt8](repeating: 1, count: 4096), to: source)
        #expect(mkdir(directory.file("out"), 0o755) == 0)
        let error = try #require(throws: ConvertError.self) { _ = try Self.convert(source, to: directory.file("out")) }
        #expect(error.code == .outputIsDirectory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["disk.raw", "out"])
    }
}
