/// The sector bitmap of one block: bit `s` set means sector `s` of the block is stored in this file.
/// VHD puts it in front of each block, most significant bit first within each byte, 512-byte sectors;
/// VHDX keeps it in sector bitmap blocks, least significant bit first, 512- or 4096-byte sectors.
struct SectorBitmap {
    let bytes: [UInt8]
    var sectorSize: UInt64 = 512
    var leastSignificantBitFirst = false

    /// A stretch of the block whose sectors are all present or all absent, as in-block byte offsets.
    struct Run {
        var range: Range<UInt64>
        var present: Bool
    }

    /// The runs covering `range` (in-block byte offsets, any alignment), in order, each as long as possible.
    /// `range` must lie inside the block, whose bitmap covers every sector.
    func runs(in range: Range<UInt64>) -> [Run] {
        guard !range.isEmpty else { return [] }
        var runs: [Run] = []
        var sector = range.lowerBound / sectorSize
        let lastSector = (range.upperBound - 1) / sectorSize
        while sector <= lastSector {
            let present = isSet(sector)
            let start = sector
            sector += 1
            while sector <= lastSector {
                // Whole bytes of equal bits are the common case (fully written or untouched blocks).
                if sector % 8 == 0, sector + 8 <= lastSector + 1,
                    bytes[Int(sector / 8)] == (present ? 0xFF : 0x00)
                {
                    sector += 8
                } else if isSet(sector) == present {
                    sector += 1
                } else {
                    break
                }
            }
            let lower = max(start * sectorSize, range.lowerBound)
            let upper = min(sector * sectorSize, range.upperBound)
            runs.append(Run(range: lower..<upper, present: present))
        }
        return runs
    }

    /// More runs of set sectors than this in one block are reported as one extent.
    static let maximumRunsPerBlock = 32

    /// The disk ranges of the set sectors of the block's first `length` bytes, the block starting at
    /// `blockStart`. A bitmap of many runs (garbage, or a fragmented block) becomes one extent over them:
    /// the extents may cover zeros (readers skip those), but their number stays bounded by the BAT, not
    /// by what a hostile bitmap holds.
    func presentExtents(length: UInt64, at blockStart: UInt64) -> [ByteRange] {
        let runs = runs(in: 0..<length).filter(\.present)
        if runs.count > Self.maximumRunsPerBlock, let first = runs.first, let last = runs.last {
            return [
                ByteRange(
                    offset: blockStart + first.range.lowerBound, length: last.range.upperBound - first.range.lowerBound)
            ]
        }
        return runs.map { ByteRange(offset: blockStart + $0.range.lowerBound, length: UInt64($0.range.count)) }
    }

    private func isSet(_ sector: UInt64) -> Bool {
        bytes[Int(sector / 8)] & (leastSignificantBitFirst ? 1 << UInt8(sector % 8) : 0x80 >> UInt8(sector % 8)) != 0
    }
}

/// Sorts `ranges` and merges those that overlap or touch, dropping empty ones.
func coalesced(_ ranges: [ByteRange]) -> [ByteRange] {
    var result: [ByteRange] = []
    for range in ranges.sorted(by: { $0.offset < $1.offset }) where range.length > 0 {
        if let last = result.last, range.offset <= last.end {
            result[result.count - 1].length = max(last.end, range.end) - last.offset
        } else {
            result.append(range)
        }
    }
    return result
}
