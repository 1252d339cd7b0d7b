import Foundation
import RelayShared

/// `vhd`: the bytes as a disk file, opened as `relay-client inspect` and `sync` open one: footer,
/// dynamic header, BAT, sector bitmaps, parent locators (a differencing disk looks for its parent
/// beside it), then the extents and reads of the data they point at.
enum FuzzVHD {
    static let path = FuzzScratch.directory + "/disk.vhd"

    static func run(_ bytes: UnsafeRawBufferPointer) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0, write(fd, bytes.baseAddress, bytes.count) == bytes.count else {
            fatalError("relay-fuzz: cannot write \(path)")
        }
        close(fd)
        guard let disk = try? DiskImage.open(path) else { return }
        _ = try? DiskInfo(disk: disk)
        guard let extents = try? disk.allocatedExtents() else { return }
        readSome(disk, extents: extents)
    }

    /// One buffer for every input: a new 64 KiB one each time cost fresh zeroed pages (AddressSanitizer's
    /// quarantine keeps freed memory from being reused at once).
    nonisolated(unsafe) static var buffer = [UInt8](repeating: 0, count: 64 << 10)

    /// Reads the start of the first 8 extents (64 KiB at most each) and the disk's last 4 KiB: every kind
    /// of block a disk's metadata can point at, with work bounded whatever sizes it claims.
    static func readSome(_ disk: any VirtualDisk, extents: [ByteRange]) {
        var reads = extents.prefix(8).map { (offset: $0.offset, length: min($0.length, UInt64(buffer.count))) }
        if disk.virtualSize > 0 {
            let length = min(disk.virtualSize, 4096)
            reads.append((disk.virtualSize - length, length))
        }
        for read in reads {
            buffer.withUnsafeMutableBytes { whole in
                _ = try? disk.read(
                    into: UnsafeMutableRawBufferPointer(rebasing: whole[..<Int(read.length)]), at: read.offset)
            }
        }
    }
}
