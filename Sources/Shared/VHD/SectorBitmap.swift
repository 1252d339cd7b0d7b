/// The sector bitmap in front of a dynamic or differencing block: bit `s` (most significant bit first
/// within each byte) set means sector `s` of the block is stored in this file.
struct SectorBitmap {
    let bytes: [UInt8]

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
        var sector = range.lowerBound / 512
        let lastSector = (range.upperBound - 1) / 512
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
            let lower = max(start * 512, range.lowerBound)
            let upper = min(sector * 512, range.upperBound)
            runs.append(Run(range: lower..<upper, present: present))
        }
        return runs
    }

    private func isSet(_ sector: UInt64) -> Bool {
        bytes[Int(sector / 8)] & (0x80 >> UInt8(sector % 8)) != 0
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
