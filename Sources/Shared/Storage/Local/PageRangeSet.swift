/// A set of bytes held as sorted, non-overlapping, non-adjacent ranges: the shape in which the local
/// store keeps a page blob's written pages and its change log, and in which Get Page Ranges answers.
struct PageRangeSet: Hashable, Sendable {
    /// Sorted; no two ranges overlap or touch; none is empty.
    private(set) var ranges: [ByteRange]

    init() { ranges = [] }

    /// Builds the set from ranges in any order, overlapping or not.
    init(_ ranges: some Sequence<ByteRange>) {
        self.ranges = []
        for range in ranges.sorted(by: { $0.offset < $1.offset }) where range.length > 0 {
            if let last = self.ranges.last, range.offset <= last.end {
                self.ranges[self.ranges.count - 1].length = max(last.end, range.end) - last.offset
            } else {
                self.ranges.append(range)
            }
        }
    }

    /// Adds `range`, merging it with the ranges it overlaps or touches.
    mutating func insert(_ range: ByteRange) {
        guard range.length > 0 else { return }
        let first = firstIndex(endingAtOrAfter: range.offset)
        var last = first
        var merged = range
        while last < ranges.count, ranges[last].offset <= range.end {
            let start = min(merged.offset, ranges[last].offset)
            merged = ByteRange(offset: start, length: max(merged.end, ranges[last].end) - start)
            last += 1
        }
        ranges.replaceSubrange(first..<last, with: [merged])
    }

    /// Removes `range`, splitting a range that it cuts in the middle.
    mutating func remove(_ range: ByteRange) {
        guard range.length > 0 else { return }
        let first = firstIndex(endingAfter: range.offset)
        var last = first
        var kept: [ByteRange] = []
        while last < ranges.count, ranges[last].offset < range.end {
            let current = ranges[last]
            if current.offset < range.offset {
                kept.append(ByteRange(offset: current.offset, length: range.offset - current.offset))
            }
            if current.end > range.end {
                kept.append(ByteRange(offset: range.end, length: current.end - range.end))
            }
            last += 1
        }
        ranges.replaceSubrange(first..<last, with: kept)
    }

    /// The bytes in both sets.
    func intersection(_ other: PageRangeSet) -> PageRangeSet {
        var result = PageRangeSet()
        var i = 0
        var j = 0
        while i < ranges.count, j < other.ranges.count {
            let a = ranges[i]
            let b = other.ranges[j]
            let start = max(a.offset, b.offset)
            let end = min(a.end, b.end)
            if start < end { result.ranges.append(ByteRange(offset: start, length: end - start)) }
            if a.end <= b.end { i += 1 } else { j += 1 }
        }
        return result
    }

    /// The bytes of this set that are not in `other`.
    func subtracting(_ other: PageRangeSet) -> PageRangeSet {
        var result = self
        for range in other.ranges { result.remove(range) }
        return result
    }

    /// The part of the set inside `bounds`.
    func clipped(to bounds: ByteRange) -> PageRangeSet {
        intersection(PageRangeSet([bounds]))
    }

    /// Index of the first range whose end is at or after `offset` (so that it overlaps or touches).
    private func firstIndex(endingAtOrAfter offset: UInt64) -> Int {
        partitionPoint { $0.end >= offset }
    }

    /// Index of the first range whose end is after `offset` (so that it overlaps).
    private func firstIndex(endingAfter offset: UInt64) -> Int {
        partitionPoint { $0.end > offset }
    }

    /// Binary search: ranges are sorted by offset and by end alike, so `predicate` is false, then true.
    private func partitionPoint(_ predicate: (ByteRange) -> Bool) -> Int {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(ranges[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
