import Foundation

/// A half-open byte range `[offset, offset + length)` of a disk.
public struct ByteRange: Hashable, Sendable, CustomStringConvertible {
    public var offset: UInt64
    public var length: UInt64

    public init(offset: UInt64, length: UInt64) {
        self.offset = offset
        self.length = length
    }

    public var end: UInt64 { offset + length }
    public var description: String { "[\(offset), \(end))" }
}

/// The on-disk format of a source disk.
public enum DiskFormat: String, Sendable, Codable {
    case raw
    case fixed
    case dynamic
    case differencing
}

/// A source disk as the rest of the program sees it, whatever its file format.
///
/// Reads are blocking file I/O: call them from a dedicated thread or synchronous code, never from a
/// task on Swift's cooperative pool.
public protocol VirtualDisk: Sendable {
    /// The file this disk was opened from (for a differencing disk, the child).
    var path: String { get }
    var format: DiskFormat { get }
    /// The size of the disk as a guest sees it, in bytes.
    var virtualSize: UInt64 { get }

    /// Fills `buffer` with the disk's bytes starting at `offset`: zeros where nothing is allocated,
    /// the parent's bytes where a differencing disk has none of its own.
    /// `offset + buffer.count` must not exceed `virtualSize`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws

    /// The ranges that may hold data, sorted, non-overlapping, coalesced, within `virtualSize`.
    /// Computed from metadata only (BAT and sector bitmaps), never from the data itself.
    func allocatedExtents() throws -> [ByteRange]

    /// The VHD footer's unique id; nil for a raw image.
    var uniqueID: UUID? { get }
    /// The allocation unit of a dynamic or differencing VHD; nil for raw images and fixed VHDs.
    var blockSize: UInt32? { get }
    /// The disk a differencing VHD reads unset sectors from; nil for every other disk.
    var parent: (any VirtualDisk)? { get }
    /// Problems that did not stop the disk from opening (e.g. a damaged footer copy), each naming its
    /// file; a differencing disk's list includes its parents'.
    var warnings: [String] { get }
}

/// Defaults for disks without identity, blocks, parent or warnings (a raw image, a test double).
extension VirtualDisk {
    public var uniqueID: UUID? { nil }
    public var blockSize: UInt32? { nil }
    public var parent: (any VirtualDisk)? { nil }
    public var warnings: [String] { [] }
}
