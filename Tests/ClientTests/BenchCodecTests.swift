import Foundation
import RelayBench
import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads)
struct BenchCodecTests {
    private let timing = CodecBenchmark.Configuration(threads: 2, minSeconds: 0.05, runs: 2)

    private func sample(megabytes: Int) throws -> DiskSample {
        let bytes = compressibleBytes(count: megabytes << 20)
        let disk = MemoryDisk(bytes: bytes, extents: [ByteRange(offset: 0, length: UInt64(bytes.count))])
        return try DiskSample.load(from: disk, frameSize: 1 << 20, maxBytes: 64 << 20)
    }

    @Test(arguments: [Codec.zstd(level: 1), .zstd(level: 3), .zlib(level: 1), .lz4])
    func compressibleDataShrinksAndEveryRateIsPositive(codec: Codec) throws {
        let sample = try sample(megabytes: 4)
        let measured = try CodecBenchmark(sample: sample, configuration: timing).measure(codec)
        #expect(measured.plainBytes == 4 << 20)
        #expect(measured.ratio > 1.5)
        #expect(measured.compressedBytes < measured.plainBytes)
        for rate in [
            measured.compressOneCore, measured.compressAllCores, measured.decompressOneCore,
            measured.decompressAllCores,
        ] {
            #expect(rate.bytesPerSecond > 0)
            // Each run covers every frame at least once and lasts at least minSeconds.
            #expect(rate.bytes >= measured.plainBytes)
            #expect(rate.seconds >= timing.minSeconds)
        }
    }

    @Test func storingRawKeepsTheSize() throws {
        let measured = try CodecBenchmark(sample: try sample(megabytes: 2), configuration: timing).measure(.none)
        #expect(measured.compressedBytes == measured.plainBytes)
        #expect(measured.ratio == 1)
    }

    @Test func reportCarriesTheIssueFieldsAndLinkEstimates() throws {
        let sample = try sample(megabytes: 2)
        let links = [try LinkSpeed.parse("100Mbit"), try LinkSpeed.parse("1Gbit")]
        let measured = try CodecBenchmark(sample: sample, configuration: timing).measure(.zstd(level: 1))
        let report = CodecBenchReport(
            sample: sample, configuration: timing, links: links, measurements: [measured], references: [],
            loadAverageBefore: [0.5, 0.25, 1.75], loadAverageAfter: [1.5, 0.75, 2], notes: [])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any])
        let input = try #require(object["input"] as? [String: Any])
        #expect(input["allocated_bytes"] as? Int == 2 << 20)
        #expect(input["sampled_bytes"] as? Int == 2 << 20)
        #expect(input["frame_size"] as? Int == 1 << 20)
        #expect(input["frames"] as? Int == 2)
        #expect(input["threads"] as? Int == 2)
        #expect(input["format"] as? String == "dynamic")
        #expect(input["load_average_before"] as? [Double] == [0.5, 0.25, 1.75])
        #expect(input["load_average_after"] as? [Double] == [1.5, 0.75, 2])
        let result = try #require((object["results"] as? [[String: Any]])?.first)
        #expect(result["codec"] as? String == "zstd:1")
        for field in [
            "ratio", "compress_mbps_1core", "decompress_mbps_1core", "compress_mbps_all", "decompress_mbps_all",
        ] {
            #expect((result[field] as? Double ?? 0) > 0, "\(field)")
        }
        let seconds = try #require(result["link_seconds"] as? [String: Double])
        #expect(Set(seconds.keys) == ["100Mbit", "1Gbit"])
        // The slow link is at least the compressed bits over its rate.
        let compressedBits = Double(measured.compressedBytes) * 8
        let slow = try #require(seconds["100Mbit"])
        let fast = try #require(seconds["1Gbit"])
        #expect(slow >= (compressedBits / 100e6 * 10).rounded(.down) / 10)
        #expect(slow >= fast)
        #expect(object["reference"] as? [Any] != nil)
        #expect((object["peak_rss_bytes"] as? Int ?? 0) > 0)
        #expect(report.table().contains("zstd:1"))
    }
}
