import Foundation
import Glibc
import TestSupport
import Testing

@testable import RelayShared

/// Files that are not VHDs, VHDXs or raw disks are refused, not replicated as a raw disk: other formats
/// by their signature, with the conversion command; odd sizes; FIFOs (which would block the open).
@Suite(.ownThreads)
struct WrongFormatTests {
    @Test(arguments: [("qcow2", "qcow2"), ("vmdk", "VMDK"), ("vdi", "VDI")])
    func otherFormatsAreRefusedWithTheConversionCommand(_ format: String, _ name: String) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("disk.\(format)")
        try await runOK("qemu-img", ["create", "-q", "-f", format, path, "64M"])
        let error = try #require(throws: VHDError.self) { _ = try DiskImage.open(path) }
        #expect(error.code == .unsupportedFormat)
        #expect(error.description.contains("\(name) image"))
        #expect(error.description.contains("qemu-img convert -O vpc -o subformat=dynamic \(path) OUT.vhd"))
    }

    /// VHDX was refused like these until it had a reader; now it opens as what it is.
    @Test func vhdxIsReadNotRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("disk.vhdx")
        try await runOK("qemu-img", ["create", "-q", "-f", "vhdx", path, "64M"])
        #expect(try DiskImage.open(path).format == .vhdxDynamic)
    }

    @Test func vmdkDescriptorIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("disk.vmdk")
        try write(Array("# Disk DescriptorFile\nversion=1\n".utf8) + [UInt8](repeating: 0, count: 512 - 32), to: path)
        #expect(throws: VHDError.self) { _ = try DiskImage.open(path) }
    }

    @Test func rawImageOfPartialSectorsIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("odd.img")
        try write([UInt8](repeating: 3, count: 4096 + 100), to: path)
        let error = try #require(throws: VHDError.self) { _ = try DiskImage.open(path) }
        #expect(error.code == .notADisk)
        try write([UInt8](repeating: 3, count: 4096), to: path)
        #expect(try DiskImage.open(path).format == .raw)
    }

    @Test func fifoIsRefusedWithoutBlocking() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("fifo")
        #expect(mkfifo(path, 0o600) == 0)
        let error = try #require(throws: VHDError.self) { _ = try DiskImage.open(path) }
        #expect(error.code == .notADisk)
    }
}
