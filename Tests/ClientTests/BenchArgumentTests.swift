import RelayShared
import Testing

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
        #expect(throws: BenchError.self) { try ByteSize.parse(text) }
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
        #expect(throws: BenchError.self) { try LinkSpeed.parse(text) }
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

    @Test func codecListKeepsOrderAndRefusesUnknownOrRepeatedCodecs() throws {
        #expect(try CodecBench.parseCodecs("zstd:1,zlib:6,lz4,none")
            == [.zstd(level: 1), .zlib(level: 6), .lz4, .none])
        #expect(throws: BenchError.self) { try CodecBench.parseCodecs("zstd:1,brotli") }
        #expect(throws: BenchError.self) { try CodecBench.parseCodecs("zstd:1,zstd:1") }
        #expect(throws: BenchError.self) { try CodecBench.parseCodecs("") }
    }

    @Test func linkListKeepsOrder() throws {
        let links = try CodecBench.parseLinks("1Gbit, 100Mbit")
        #expect(links.map(\.name) == ["1Gbit", "100Mbit"])
        #expect(throws: BenchError.self) { try CodecBench.parseLinks("1Gbit,1Gbit") }
    }
}
