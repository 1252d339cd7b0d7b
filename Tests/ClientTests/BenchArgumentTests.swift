import Foundation
import RelayBench
import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads)
struct BenchArgumentTests {
    @Test(arguments: [
        ("4096", 4096), ("512K", 512 << 10), ("4M", 4 << 20), ("1G", 1 << 30), ("2GiB", 2 << 30),
        ("1t", 1 << 40), ("64mib", 64 << 20), ("100b", 100), ("0", 0),
    ])
    func byteSizeParses(text: String, bytes: Int) throws {
        #expect(try ByteSize.parse(text).bytes == bytes)
    }

    @Test(arguments: ["", "M", "4X", "-1", "4.5M", "4 M", "4MB", "99999999999999T", "1e6"])
    func byteSizeRefuses(text: String) {
        #expect(throws: UnitParseError.self) { try ByteSize.parse(text) }
        #expect(ByteSize(text) == nil)
    }

    @Test(arguments: [(4 << 20, "4M"), (1536 << 10, "1536K"), (1 << 30, "1G"), (1000, "1000"), (0, "0")])
    func byteSizePrintsShortestExactForm(bytes: Int, text: String) throws {
        #expect(ByteSize(bytes: bytes).description == text)
        #expect(try ByteSize.parse(text).bytes == bytes)
    }

    @Test(arguments: [
        ("100Mbit", 100e6), ("1Gbit", 1e9), ("10Gbit", 10e9), ("500Mbit", 500e6), ("2.5Gbit", 2.5e9),
        ("64kbit", 64e3), ("9600bit", 9600),
    ])
    func linkSpeedParses(text: String, bitsPerSecond: Double) throws {
        let link = try LinkSpeed.parse(text)
        #expect(link.bitsPerSecond == bitsPerSecond)
        #expect(link.name == text)
    }

    @Test(arguments: ["100", "100MB", "0Gbit", "Gbit", "1.2.3Gbit", "100Xbit", "-1Gbit", "1 Gbit"])
    func linkSpeedRefuses(text: String) {
        #expect(throws: UnitParseError.self) { try LinkSpeed.parse(text) }
    }

    @Test func shippingIsPacedByTheLinkWhenCompressionIsFaster() throws {
        let link = try LinkSpeed.parse("100Mbit")
        // 1 GB compressed to 500 MB: 4e9 bits at 1e8 bit/s is 40 s; compressing at 500 MB/s takes 2 s.
        let seconds = link.shipSeconds(plainBytes: 1e9, compressedBytes: 5e8, compressBytesPerSecond: 5e8)
        #expect(abs(seconds - 40) < 1e-9)
    }

    @Test func shippingIsPacedByCompressionWhenTheLinkIsFaster() throws {
        let link = try LinkSpeed.parse("10Gbit")
        // 1 GB compressed to 500 MB: the link needs 0.4 s; compressing at 100 MB/s takes 10 s.
        let seconds = link.shipSeconds(plainBytes: 1e9, compressedBytes: 5e8, compressBytesPerSecond: 1e8)
        #expect(abs(seconds - 10) < 1e-9)
    }

    /// The list options parse in the client: the codecs and links of a run come out in the order given.
    @Test func codecAndLinkListsKeepTheirOrder() async throws {
        let dir = try TemporaryDirectory()
        let disk = dir.file("disk.img")
        var random = SplitMix64(seed: 7)
        try write(random.bytes(64 << 10), to: disk)
        let output = try await runOK(
            relayClient,
            [
                "bench", "codecs", disk, "--codecs", "zlib:6, lz4,none", "--link", "1Gbit,100Mbit", "--frame-size",
                "16K",
                "--max-bytes", "64K", "--runs", "1", "--min-seconds", "0.01", "--no-reference", "--json",
            ])
        let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let results = try #require(object?["results"] as? [[String: Any]])
        #expect(results.compactMap { $0["codec"] as? String } == ["zlib:6", "lz4", "none"])
        let links = try #require(results.first?["link_seconds"] as? [String: Double])
        #expect(Set(links.keys) == ["1Gbit", "100Mbit"])
    }

    /// A refused value ends the command with a usage error (exit 64) that says why.
    @Test(arguments: [
        (["--codecs", "zstd:1,brotli"], "codec 'brotli'"),
        (["--codecs", "zstd:1,zstd:1"], "names 'zstd:1' twice"),
        (["--codecs", ""], "codec ''"),
        (["--link", "1Gbit,1Gbit"], "names '1Gbit' twice"),
        (["--link", "100MB"], "link speed '100MB'"),
        (["--frame-size", "4X"], "unknown suffix 'x'"),
    ])
    func refusedValuesEndWithAUsageErrorThatSaysWhy(arguments: [String], reason: String) async throws {
        let result = try await run(relayClient, ["bench", "codecs", "/nonexistent.vhd"] + arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains(reason), "\(result.stderr)")
    }
}
