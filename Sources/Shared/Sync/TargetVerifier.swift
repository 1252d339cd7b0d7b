import Foundation

/// Compares a target's data area with a source disk (`relay-client verify`), reading only the target's
/// page ranges and the source's allocated extents: everywhere else both read as zeros.
public struct TargetVerifier: Sendable {
    public struct Report: Codable, Sendable, Hashable {
        public struct Difference: Codable, Sendable, Hashable {
            public var offset: UInt64
            public var length: UInt64
        }

        public var target: String
        public var source: String
        public var equal: Bool
        public var comparedBytes: UInt64
        /// The differing ranges, in 512-byte sectors coalesced, the first `maxListed` of them.
        public var differences: [Difference]
        public var differentBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case target, source, equal, differences
            case comparedBytes = "compared_bytes"
            case differentBytes = "different_bytes"
        }
    }

    public static let maxListed = 1000
    static let chunk = 4 << 20

    public let control: TargetControl

    public init(control: TargetControl) {
        self.control = control
    }

    public func verify(source: String) async throws -> Report {
        let pool = try BlockingPool<Void>(name: "relay-verify", threads: 1) { () }
        defer { pool.shutdown() }
        let (disk, allocated) = try await pool.run { _ in
            let disk = try DiskImage.open(source)
            return (disk, try disk.allocatedExtents())
        }
        guard let existing = try await control.blobIdentity() else {
            throw SyncError(.targetMismatch, "\(control.target): the target page blob does not exist")
        }
        let dataSize = VHDFooter.targetSize(forVirtualSize: existing.identity.virtualSize)
        guard existing.identity.virtualSize == disk.virtualSize else {
            throw SyncError(
                .targetMismatch,
                "\(control.target) holds a disk of \(existing.identity.virtualSize) bytes, "
                    + "\(source) has \(disk.virtualSize)")
        }
        let pages = try await control.dataPageRanges(virtualSize: disk.virtualSize)
        var report = Report(
            target: control.target.description, source: source, equal: true, comparedBytes: 0, differences: [],
            differentBytes: 0)
        for range in Self.union(pages, allocated, limit: dataSize) {
            var offset = range.offset
            while offset < range.end {
                let length = Int(min(UInt64(Self.chunk), range.end - offset))
                let here = offset
                let expected = try await pool.run { _ in
                    var bytes = [UInt8](repeating: 0, count: length)
                    let readable = here < disk.virtualSize ? Int(min(UInt64(length), disk.virtualSize - here)) : 0
                    if readable > 0 {
                        try bytes.withUnsafeMutableBytes {
                            try disk.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<readable]), at: here)
                        }
                    }
                    return bytes
                }
                let actual = try await control.services.blob.getBlob(
                    control.target.address, range: ByteRange(offset: here, length: UInt64(length)),
                    snapshot: nil, conditions: .none
                ).data
                guard actual.count == length else {
                    throw SyncError(
                        .badState, "\(control.target): a read of \(length) bytes at \(here) returned \(actual.count)")
                }
                report.record(expected: expected, actual: actual, at: here)
                report.comparedBytes += UInt64(length)
                offset += UInt64(length)
            }
        }
        report.equal = report.differentBytes == 0
        return report
    }

    /// The sorted, coalesced union of two sorted range lists, cut at `limit`.
    static func union(_ a: [ByteRange], _ b: [ByteRange], limit: UInt64) -> [ByteRange] {
        var merged: [ByteRange] = []
        for range in (a + b).sorted(by: { $0.offset < $1.offset }) {
            let end = min(range.end, limit)
            guard range.offset < end else { continue }
            if let last = merged.last, range.offset <= last.end {
                merged[merged.count - 1].length = max(last.end, end) - last.offset
            } else {
                merged.append(ByteRange(offset: range.offset, length: end - range.offset))
            }
        }
        return merged
    }
}

extension TargetVerifier.Report {
    /// Adds the sectors where `actual` differs from `expected` (both starting at disk offset `base`).
    mutating func record(expected: [UInt8], actual: [UInt8], at base: UInt64) {
        guard expected != actual else { return }
        var sector = 0
        while sector < expected.count {
            let end = min(expected.count, sector + 512)
            if expected[sector..<end] != actual[sector..<end] {
                let offset = base + UInt64(sector)
                let length = UInt64(end - sector)
                differentBytes += length
                if let last = differences.last, last.offset + last.length == offset {
                    differences[differences.count - 1].length += length
                } else if differences.count < TargetVerifier.maxListed {
                    differences.append(Difference(offset: offset, length: length))
                }
            }
            sector = end
        }
    }
}
