import Foundation

/// A disk whose bytes lie in the file as they are, from offset 0: a raw image (virtual size = file size,
/// any size) or a fixed VHD (virtual size = the footer's current size, then the footer).
public final class FlatDisk: VirtualDisk {
    public let path: String
    public let format: DiskFormat
    public let virtualSize: UInt64
    public let uniqueID: UUID?
    public let warnings: [String]
    /// The fixed VHD's footer; nil for a raw image.
    public let footer: VHDFooter?
    private let file: SystemFile

    init(file: SystemFile, format: DiskFormat, virtualSize: UInt64, footer: VHDFooter?, warnings: [String]) {
        self.file = file
        self.path = file.path
        self.format = format
        self.virtualSize = virtualSize
        self.footer = footer
        self.uniqueID = footer?.uniqueID
        self.warnings = warnings
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try checkReadRange(path: path, virtualSize: virtualSize, offset: offset, count: buffer.count)
        try readFully(file, into: buffer, at: offset, structure: .block)
    }

    /// The whole disk: without reading the data nothing tells which parts are zero.
    public func allocatedExtents() throws -> [ByteRange] {
        virtualSize == 0 ? [] : [ByteRange(offset: 0, length: virtualSize)]
    }
}

/// Refuses a read that the protocol forbids, naming the disk, instead of reading past the virtual size.
func checkReadRange(path: String, virtualSize: UInt64, offset: UInt64, count: Int) throws {
    guard fits(offset, UInt64(count), within: virtualSize) else {
        throw VHDError(
            .readOutOfRange, path: path, structure: .virtualDisk, offset: offset,
            "a read of \(count) bytes at \(offset) passes the virtual size \(virtualSize)")
    }
}

/// Reads all of `buffer` at `offset`; the range was checked against the file size at open, so a short
/// read means the file shrank while open.
func readFully(
    _ file: SystemFile, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, structure: VHDError.Structure
) throws {
    let count = try file.read(into: buffer, at: offset)
    guard count == buffer.count else {
        throw VHDError(
            .fileChanged, path: file.path, structure: structure, offset: offset + UInt64(count),
            "the file ends early (it shrank after it was opened); reopen it")
    }
}
