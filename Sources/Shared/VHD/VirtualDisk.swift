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

/// The on-disk format of a source disk: a raw image, a VHD (`fixed`, `dynamic`, `differencing`) or a
/// VHDX (`vhdx-fixed`, `vhdx-dynamic`, `vhdx-differencing`).
public enum DiskFormat: String, Sendable, Codable {
    case raw
    case fixed
    case dynamic
    case differencing
    case vhdxFixed = "vhdx-fixed"
    case vhdxDynamic = "vhdx-dynamic"
    case vhdxDifferencing = "vhdx-differencing"
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

    /// The VHD footer's unique id, or the VHDX page 83 id; nil for a raw image.
    var uniqueID: UUID? { get }
    /// The allocation unit of a dynamic or differencing VHD, or of any VHDX; nil for raw images and
    /// fixed VHDs.
    var blockSize: UInt32? { get }
    /// The disk a differencing VHD or VHDX reads unset sectors from; nil for every other disk.
    var parent: (any VirtualDisk)? { get }
    /// The sector sizes the guest sees: 512 except for VHDX, which may say 4096.
    var logicalSectorSize: UInt32 { get }
    var physicalSectorSize: UInt32 { get }
    /// Problems that did not stop the disk from opening (e.g. a damaged footer copy), each naming its
    /// file; a differencing disk's list includes its parents'.
    var warnings: [String] { get }
}

/// Defaults for disks without identity, blocks, parent or warnings (a raw image, a test double), with
/// 512-byte sectors.
extension VirtualDisk {
    public var uniqueID: UUID? { nil }
    public var blockSize: UInt32? { nil }
    public var parent: (any VirtualDisk)? { nil }
    public var warnings: [String] { [] }
    public var logicalSectorSize: UInt32 { 512 }
    public var physicalSectorSize: UInt32 { 512 }
}

/// What differencing disks (VHD and VHDX) share: reading what lies under them, and adding their parent's
/// extents to their own.
extension VirtualDisk {
    /// What lies under this disk at `offset`: the parent's bytes (zeros past the parent's end), or zeros.
    func readBelow(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        var filled = 0
        if let parent, offset < parent.virtualSize {
            filled = Int(min(UInt64(buffer.count), parent.virtualSize - offset))
            try parent.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<filled]), at: offset)
        }
        UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]).initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Reads `buffer`, the bytes at in-block offset `inBlock` of the block that starts at `blockStart`,
    /// run by run of the block's sector `bitmap`: set sectors from `file` at `dataStart` plus their
    /// in-block offset, clear ones from below.
    func readByBitmap(
        into buffer: UnsafeMutableRawBufferPointer, inBlock: UInt64, blockStart: UInt64, bitmap: SectorBitmap,
        file: SystemFile, dataStart: UInt64
    ) throws {
        for run in bitmap.runs(in: inBlock..<(inBlock + UInt64(buffer.count))) {
            let lower = Int(run.range.lowerBound - inBlock)
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[lower..<(lower + Int(run.range.count))])
            if run.present {
                try readFully(file, into: piece, at: dataStart + run.range.lowerBound, structure: .block)
            } else {
                try readBelow(into: piece, at: blockStart + run.range.lowerBound)
            }
        }
    }

    /// `own` plus the parent's extents inside this disk's size, coalesced.
    func withInheritedExtents(_ own: [ByteRange]) throws -> [ByteRange] {
        guard let parent else { return own }
        let inherited = try parent.allocatedExtents().compactMap { extent -> ByteRange? in
            guard extent.offset < virtualSize else { return nil }
            return ByteRange(offset: extent.offset, length: min(extent.end, virtualSize) - extent.offset)
        }
        return coalesced(own + inherited)
    }
}
