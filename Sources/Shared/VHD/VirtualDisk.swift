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
}
