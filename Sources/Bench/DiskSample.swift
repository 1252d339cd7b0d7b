import RelayShared

/// The allocated bytes of a disk, or an evenly spread sample of them, loaded into memory once and
/// cut into frames the way `zstd -b -B<frame size>` cuts its input: consecutive, independent,
/// `frameSize` bytes each (the last one may be shorter).
///
/// `@unchecked Sendable`: the buffer is written only in `load` and is read-only afterwards, so
/// any number of threads may read it; it is freed in `deinit`, after the last reader is gone.
public final class DiskSample: @unchecked Sendable {
    public let path: String
    public let format: DiskFormat
    public let virtualSize: UInt64
    /// The bytes of every allocated extent: what an initial sync reads.
    public let allocatedBytes: UInt64
    public let frameSize: Int
    /// The sampled bytes, frames back to back.
    public let bytes: UnsafeRawBufferPointer
    /// Each frame's range in `bytes`.
    public let frames: [Range<Int>]

    /// Whether only part of the allocated bytes was loaded (the disk holds more than `maxBytes`).
    public var isPartial: Bool { UInt64(bytes.count) < allocatedBytes }

    private init(
        disk: any VirtualDisk, allocatedBytes: UInt64, frameSize: Int,
        bytes: UnsafeMutableRawBufferPointer, frames: [Range<Int>]
    ) {
        self.path = disk.path
        self.format = disk.format
        self.virtualSize = disk.virtualSize
        self.allocatedBytes = allocatedBytes
        self.frameSize = frameSize
        self.bytes = UnsafeRawBufferPointer(bytes)
        self.frames = frames
    }

    deinit { bytes.deallocate() }

    /// Reads the disk's allocated extents into memory. When they hold more than `maxBytes`, it loads
    /// `maxBytes / frameSize` whole frames spread evenly over the allocated bytes instead, so that a
    /// huge disk is represented from start to end and memory stays bounded by `maxBytes`.
    public static func load(from disk: any VirtualDisk, frameSize: Int, maxBytes: Int) throws -> DiskSample {
        guard frameSize > 0, maxBytes >= frameSize else {
            throw BenchError(
                .invalidArgument,
                "the sample limit (\(maxBytes) bytes) must hold at least one frame of \(frameSize) bytes")
        }
        let map = AllocatedMap(try disk.allocatedExtents())
        guard map.totalBytes > 0 else {
            throw BenchError(.noData, "\(disk.path): the disk has no allocated extents")
        }
        // The starts of the frames in allocated-byte coordinates (0 ..< map.totalBytes).
        let starts: [UInt64]
        let sampledBytes: Int
        if map.totalBytes <= UInt64(maxBytes) {
            sampledBytes = Int(map.totalBytes)
            starts = Array(stride(from: 0, to: map.totalBytes, by: frameSize))
        } else {
            // Spacing of at least frameSize (totalBytes > count * frameSize), so frames never overlap.
            let count = maxBytes / frameSize
            sampledBytes = count * frameSize
            starts = (0..<count).map { index in
                UInt64((Double(index) * Double(map.totalBytes) / Double(count)).rounded(.down))
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: sampledBytes, alignment: 64)
        var frames: [Range<Int>] = []
        frames.reserveCapacity(starts.count)
        do {
            var filled = 0
            for start in starts {
                let count = min(frameSize, sampledBytes - filled)
                try map.read(
                    disk, from: start, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + count]))
                frames.append(filled..<filled + count)
                filled += count
            }
        } catch {
            buffer.deallocate()
            throw error
        }
        return DiskSample(
            disk: disk, allocatedBytes: map.totalBytes, frameSize: frameSize, bytes: buffer, frames: frames)
    }
}

/// The allocated extents laid end to end: maps an offset among the allocated bytes to the disk offset.
private struct AllocatedMap {
    let extents: [ByteRange]
    /// `firsts[i]` is the allocated-byte offset where `extents[i]` begins.
    let firsts: [UInt64]
    let totalBytes: UInt64

    init(_ extents: [ByteRange]) {
        self.extents = extents.filter { $0.length > 0 }
        var firsts: [UInt64] = []
        var total: UInt64 = 0
        for extent in self.extents {
            firsts.append(total)
            total += extent.length
        }
        self.firsts = firsts
        self.totalBytes = total
    }

    /// Fills `buffer` with the allocated bytes starting at allocated-byte offset `start`, which
    /// may span several extents; the caller keeps `start + buffer.count <= totalBytes`.
    func read(_ disk: any VirtualDisk, from start: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        // The last extent whose first allocated byte is at or before `start`.
        var low = 0
        var high = firsts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if firsts[middle] <= start { low = middle } else { high = middle }
        }
        var index = low
        var position = start - firsts[index]
        var done = 0
        while done < buffer.count, index < extents.count {
            let count = Int(min(UInt64(buffer.count - done), extents[index].length - position))
            try disk.read(
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count]),
                at: extents[index].offset + position)
            done += count
            index += 1
            position = 0
        }
    }
}
