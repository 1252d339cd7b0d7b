import Foundation
import Testing

@testable import RelayShared

/// The pure parts under the local Blob service: MD5, the page range set, snapshot ids and the lease
/// state machine (with a made-up clock, so expiry needs no waiting).
struct BlobUnitTests {
    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a"
        ),
    ])
    func md5MatchesRFC1321(_ input: String, _ expected: String) {
        let hex = MD5.digest(Array(input.utf8)).map {
            String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
        }
        #expect(hex.joined() == expected)
    }

    /// Issue 10: a blob name's length is counted as Azure counts it, in UTF-16 code units (at most
    /// 1024), not in characters: a combining accent or an emoji outside the BMP counts twice.
    @Test func blobNameLengthIsCountedInUTF16CodeUnits() {
        func valid(_ name: String) -> Bool {
            (try? LocalBlobValidation.address(BlobAddress(container: "vhds", name: name))) != nil
        }
        #expect(valid(String(repeating: "a", count: 1024)) && !valid(String(repeating: "a", count: 1025)))
        #expect(valid(String(repeating: "\u{e9}", count: 1024)))
        #expect(valid(String(repeating: "\u{1F600}", count: 512)) && !valid(String(repeating: "\u{1F600}", count: 513)))
        let accented = String(repeating: "e\u{301}", count: 600)
        #expect(accented.count == 600 && !valid(accented))
        #expect(!valid(""))
    }

    @Test func md5OfAZeroPageIsAzuresExample() {
        // docs/azure-rest.md, "Checksums": 512 zero bytes → Content-MD5 v2GerAzfP2jUluqTRBN+iw==
        #expect(Data(MD5.digest([UInt8](repeating: 0, count: 512))).base64EncodedString() == "v2GerAzfP2jUluqTRBN+iw==")
        // Lengths around the padding boundary (55, 56, 64 bytes) all differ and are stable.
        let digests = [55, 56, 63, 64, 65].map { MD5.digest([UInt8](repeating: 0x61, count: $0)) }
        #expect(Set(digests).count == 5)
    }

    /// Random inserts and removes agree with a page bitmap, and the set stays sorted, disjoint and merged.
    @Test func pageRangeSetMatchesABitmap() {
        var generator = SplitMix64(seed: 200)
        let pages = 200
        for _ in 0..<50 {
            var set = PageRangeSet()
            var bitmap = [Bool](repeating: false, count: pages)
            for _ in 0..<40 {
                let start = Int.random(in: 0..<pages, using: &generator)
                let count = Int.random(in: 1...min(30, pages - start), using: &generator)
                let range = ByteRange(offset: UInt64(start) * 512, length: UInt64(count) * 512)
                let insert = Bool.random(using: &generator)
                if insert { set.insert(range) } else { set.remove(range) }
                for page in start..<start + count { bitmap[page] = insert }
                #expect(set.ranges == Self.ranges(of: bitmap))
            }
            let other = PageRangeSet([
                ByteRange(offset: 10 * 512, length: 50 * 512), ByteRange(offset: 100 * 512, length: 80 * 512),
            ])
            let otherBitmap = (0..<pages).map { (10..<60).contains($0) || (100..<180).contains($0) }
            #expect(set.intersection(other).ranges == Self.ranges(of: zip(bitmap, otherBitmap).map { $0 && $1 }))
            #expect(set.subtracting(other).ranges == Self.ranges(of: zip(bitmap, otherBitmap).map { $0 && !$1 }))
        }
    }

    private static func ranges(of bitmap: [Bool]) -> [ByteRange] {
        var result: [ByteRange] = []
        var start: Int?
        for (page, set) in (bitmap + [false]).enumerated() {
            if set, start == nil { start = page }
            if !set, let first = start {
                result.append(ByteRange(offset: UInt64(first) * 512, length: UInt64(page - first) * 512))
                start = nil
            }
        }
        return result
    }

    @Test func snapshotIDsHaveSevenFractionalDigitsAndRoundTrip() {
        let ticks: Int64 = 1_704_067_200 * 10_000_000 + 1_234_567  // 2024-01-01T00:00:00.1234567Z
        #expect(LocalBlobSnapshotID.string(ticks: ticks) == "2024-01-01T00:00:00.1234567Z")
        #expect(LocalBlobSnapshotID.ticks(of: "2024-01-01T00:00:00.1234567Z") == ticks)
        #expect(LocalBlobSnapshotID.string(ticks: 5) == "1970-01-01T00:00:00.0000005Z")
        #expect(LocalBlobSnapshotID.ticks(of: "not a snapshot") == nil)
    }

    @Test func leaseStateFollowsTheClock() throws {
        let blob = BlobAddress(container: "c", name: "b")
        let id = UUID().uuidString
        var lease = LocalBlobLease()
        #expect(try lease.apply(.acquire(.seconds(15), proposedID: id), at: 1000, blob: blob).id == id)
        #expect(lease.state(at: 1014.9) == .leased)
        #expect(lease.state(at: 1015) == .expired)
        #expect(!lease.isActive(at: 1015))
        // Renewing an expired lease restarts the same duration.
        _ = try lease.apply(.renew(id: id.lowercased()), at: 2000, blob: blob)
        #expect(lease.state(at: 2014) == .leased)
        #expect(lease.info(at: 2014).duration == .fixed)
        // Break with a longer period than remains: breaks at the expiry.
        #expect(try lease.apply(.break(period: 60), at: 2005, blob: blob).breakSeconds == 10)
        #expect(lease.state(at: 2014) == .breaking)
        #expect(lease.isActive(at: 2014))
        #expect(lease.state(at: 2015) == .broken)
        // Breaking again while breaking only shortens.
        var breaking = lease
        #expect(try breaking.apply(.break(period: 2), at: 2006, blob: blob).breakSeconds == 2)
        #expect(breaking.state(at: 2008) == .broken)
        #expect(throws: StorageError.self) { try lease.checkWrite(leaseID: nil, at: 2010, blob: blob) }
        try lease.checkWrite(leaseID: nil, at: 2016, blob: blob)
    }
}
