import Foundation
import RelayShared

/// `vhd`: the bytes as a disk file, opened as `relay-client inspect` and `sync` open one: footer,
/// dynamic header, BAT, sector bitmaps, parent locators (a differencing disk looks for its parent
/// beside it), then the extents and reads of the data they point at.
enum FuzzVHD {
    static let path = FuzzScratch.directory + "/disk.vhd"

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            fatalError("relay-fuzz: cannot write \(path)")
        }
        guard let disk = try? DiskImage.open(path) else { return }
        _ = try? DiskInfo(disk: disk)
        guard let extents = try? disk.allocatedExtents() else { return }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
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
