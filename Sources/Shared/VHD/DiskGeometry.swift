/// Cylinder/head/sector geometry as stored in a VHD footer.
public struct DiskGeometry: Hashable, Sendable, CustomStringConvertible {
    public var cylinders: UInt16
    public var heads: UInt8
    public var sectorsPerTrack: UInt8

    public init(cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8) {
        self.cylinders = cylinders
        self.heads = heads
        self.sectorsPerTrack = sectorsPerTrack
    }

    /// The bytes the geometry addresses; readers such as qemu take this as the disk size for creators
    /// they do not know (see `VHDFooter.fixedTarget`).
    public var capacity: UInt64 {
        UInt64(cylinders) * UInt64(heads) * UInt64(sectorsPerTrack) * 512
    }

    public var description: String { "(\(cylinders), \(heads), \(sectorsPerTrack))" }

    /// The geometry the VHD specification's appendix computes for a disk of `size` bytes
    /// (the algorithm every VHD writer uses; sizes past 65535 × 16 × 255 sectors are capped).
    public init(forSize size: UInt64) {
        let totalSectors = min(size / 512, 65535 * 16 * 255)
        var sectorsPerTrack: UInt64
        var heads: UInt64
        var cylinderTimesHeads: UInt64
        if totalSectors >= 65535 * 16 * 63 {
            sectorsPerTrack = 255
            heads = 16
            cylinderTimesHeads = totalSectors / sectorsPerTrack
        } else {
            sectorsPerTrack = 17
            cylinderTimesHeads = totalSectors / sectorsPerTrack
            heads = max(4, (cylinderTimesHeads + 1023) / 1024)
            if cylinderTimesHeads >= heads * 1024 || heads > 16 {
                sectorsPerTrack = 31
                heads = 16
                cylinderTimesHeads = totalSectors / sectorsPerTrack
            }
            if cylinderTimesHeads >= heads * 1024 {
                sectorsPerTrack = 63
                heads = 16
                cylinderTimesHeads = totalSectors / sectorsPerTrack
            }
        }
        // Every value is bounded by the cap above: cylinders ≤ 65535, heads ≤ 16, sectors ≤ 255.
        self.init(
            cylinders: UInt16(cylinderTimesHeads / heads),
            heads: UInt8(heads),
            sectorsPerTrack: UInt8(sectorsPerTrack))
    }
}
