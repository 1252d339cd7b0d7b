import Foundation
import RelayShared

/// The result of `relay-client bench codecs`, shaped as its `--json` output.
/// Rates are MB/s of plain bytes, MB = 10^6 bytes.
public struct CodecBenchReport: Codable, Sendable {
    public struct Input: Codable, Sendable {
        public var path: String
        public var format: String
        public var virtualSize: UInt64
        public var allocatedBytes: UInt64
        public var sampledBytes: Int
        /// How the sampled bytes were chosen.
        public var sampling: String
        public var frameSize: Int
        public var frames: Int
        public var threads: Int
        public var cores: Int
        /// How each rate was timed.
        public var timing: String
        /// The system's 1, 5 and 15 minute load averages before and after the measurements: other
        /// work on the machine lowers every rate and the all-core scaling.
        public var loadAverageBefore: [Double]
        public var loadAverageAfter: [Double]

        enum CodingKeys: String, CodingKey {
            case path, format, sampling, frames, threads, cores, timing
            case virtualSize = "virtual_size"
            case allocatedBytes = "allocated_bytes"
            case sampledBytes = "sampled_bytes"
            case frameSize = "frame_size"
            case loadAverageBefore = "load_average_before"
            case loadAverageAfter = "load_average_after"
        }
    }

    public struct Result: Codable, Sendable {
        public var codec: String
        public var ratio: Double
        public var compressedBytes: Int
        public var compressMBps1Core: Double
        public var decompressMBps1Core: Double
        public var compressMBpsAll: Double
        public var decompressMBpsAll: Double
        /// All-core rate over one-core rate.
        public var compressScaling: Double
        public var decompressScaling: Double
        /// Estimated seconds to ship the disk's allocated bytes over each link, by link name.
        public var linkSeconds: [String: Double]

        enum CodingKeys: String, CodingKey {
            case codec, ratio
            case compressedBytes = "compressed_bytes"
            case compressMBps1Core = "compress_mbps_1core"
            case decompressMBps1Core = "decompress_mbps_1core"
            case compressMBpsAll = "compress_mbps_all"
            case decompressMBpsAll = "decompress_mbps_all"
            case compressScaling = "compress_scaling"
            case decompressScaling = "decompress_scaling"
            case linkSeconds = "link_seconds"
        }
    }

    public struct Reference: Codable, Sendable {
        public var tool: String
        /// Our codec that does the same work.
        public var codec: String
        public var measures: String
        public var ratio: Double
        public var compressedBytes: Int
        public var compressMBps1Core: Double
        public var decompressMBps1Core: Double

        enum CodingKeys: String, CodingKey {
            case tool, codec, measures, ratio
            case compressedBytes = "compressed_bytes"
            case compressMBps1Core = "compress_mbps_1core"
            case decompressMBps1Core = "decompress_mbps_1core"
        }
    }

    /// The targets: our zstd:1 on one core reaches 90% of `zstd -b1` in both directions, and the
    /// all-core rate of zstd:1 reaches 0.85 × threads (1.7 on 2 threads) times the one-core rate.
    /// A field is absent when its figures were not measured.
    public struct Check: Codable, Sendable {
        public var compressVsTool: Double?
        public var decompressVsTool: Double?
        public var toolTargetMet: Bool?
        public var compressScaling: Double?
        public var decompressScaling: Double?
        public var scalingTarget: Double?
        public var scalingTargetMet: Bool?

        enum CodingKeys: String, CodingKey {
            case compressVsTool = "zstd1_compress_vs_tool"
            case decompressVsTool = "zstd1_decompress_vs_tool"
            case toolTargetMet = "zstd1_tool_target_met"
            case compressScaling = "zstd1_compress_scaling"
            case decompressScaling = "zstd1_decompress_scaling"
            case scalingTarget = "scaling_target"
            case scalingTargetMet = "scaling_target_met"
        }
    }

    public var input: Input
    public var results: [Result]
    public var reference: [Reference]
    public var check: Check
    public var peakRSSBytes: Int
    /// Anything the reader should know: sampling, skipped reference tools.
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case input, results, reference, check, notes
        case peakRSSBytes = "peak_rss_bytes"
    }

    /// Fraction of the tool's rate our zstd:1 must reach.
    public static let toolTarget = 0.9
    /// All-core speed-up per thread that counts as scaling.
    public static let scalingPerThread = 0.85

    public init(
        sample: DiskSample, configuration: CodecBenchmark.Configuration, links: [LinkSpeed],
        measurements: [CodecMeasurement], references: [ReferenceMeasurement],
        loadAverageBefore: [Double], loadAverageAfter: [Double], notes: [String]
    ) {
        let threads = max(1, configuration.threads)
        input = Input(
            path: sample.path, format: sample.format.rawValue, virtualSize: sample.virtualSize,
            allocatedBytes: sample.allocatedBytes, sampledBytes: sample.bytes.count,
            sampling: sample.isPartial
                ? "\(sample.frames.count) frames spread evenly over the allocated bytes (limited by --max-bytes)"
                : "all allocated bytes",
            frameSize: sample.frameSize, frames: sample.frames.count, threads: threads,
            cores: ProcessInfo.processInfo.activeProcessorCount,
            timing:
                "fastest of \(configuration.runs) runs, each repeating the frames for at least \(configuration.minSeconds) s; monotonic clock",
            loadAverageBefore: loadAverageBefore.map { Self.rounded($0, 2) },
            loadAverageAfter: loadAverageAfter.map { Self.rounded($0, 2) })
        let allocated = Double(sample.allocatedBytes)
        results = measurements.map { measured in
            Result(
                codec: measured.codec.description, ratio: Self.rounded(measured.ratio, 3),
                compressedBytes: measured.compressedBytes,
                compressMBps1Core: Self.mbps(measured.compressOneCore.bytesPerSecond),
                decompressMBps1Core: Self.mbps(measured.decompressOneCore.bytesPerSecond),
                compressMBpsAll: Self.mbps(measured.compressAllCores.bytesPerSecond),
                decompressMBpsAll: Self.mbps(measured.decompressAllCores.bytesPerSecond),
                compressScaling: Self.rounded(
                    measured.compressAllCores.bytesPerSecond / measured.compressOneCore.bytesPerSecond, 2),
                decompressScaling: Self.rounded(
                    measured.decompressAllCores.bytesPerSecond / measured.decompressOneCore.bytesPerSecond, 2),
                linkSeconds: Dictionary(
                    links.map { link in
                        (
                            link.name,
                            Self.rounded(
                                link.shipSeconds(
                                    plainBytes: allocated, compressedBytes: allocated / measured.ratio,
                                    compressBytesPerSecond: measured.compressAllCores.bytesPerSecond), 1)
                        )
                    }, uniquingKeysWith: { first, _ in first }))
        }
        reference = references.map { tool in
            Reference(
                tool: tool.tool, codec: tool.codec.description, measures: tool.measures,
                ratio: Self.rounded(tool.ratio, 3),
                compressedBytes: tool.compressedBytes,
                compressMBps1Core: Self.mbps(tool.compressBytesPerSecond),
                decompressMBps1Core: Self.mbps(tool.decompressBytesPerSecond))
        }
        let ours = measurements.first { $0.codec == .zstd(level: 1) }
        let tool = references.first { $0.codec == .zstd(level: 1) }
        check = Check()
        if let ours, let tool {
            let compress = ours.compressOneCore.bytesPerSecond / tool.compressBytesPerSecond
            let decompress = ours.decompressOneCore.bytesPerSecond / tool.decompressBytesPerSecond
            check.compressVsTool = Self.rounded(compress, 3)
            check.decompressVsTool = Self.rounded(decompress, 3)
            check.toolTargetMet = compress >= Self.toolTarget && decompress >= Self.toolTarget
        }
        if let ours, threads > 1 {
            let compress = ours.compressAllCores.bytesPerSecond / ours.compressOneCore.bytesPerSecond
            let decompress = ours.decompressAllCores.bytesPerSecond / ours.decompressOneCore.bytesPerSecond
            let target = Self.scalingPerThread * Double(threads)
            check.compressScaling = Self.rounded(compress, 2)
            check.decompressScaling = Self.rounded(decompress, 2)
            check.scalingTarget = Self.rounded(target, 2)
            check.scalingTargetMet = compress >= target && decompress >= target
        }
        peakRSSBytes = Self.peakRSSBytes()
        self.notes = notes
    }

    /// The JSON object `--json` prints: keys sorted, so that runs diff cleanly.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    private static func mbps(_ bytesPerSecond: Double) -> Double { rounded(bytesPerSecond / 1e6, 1) }

    /// Rounds for display; JSON cannot carry infinities or NaN, so those become 0.
    private static func rounded(_ value: Double, _ digits: Int) -> Double {
        guard value.isFinite else { return 0 }
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    /// The system's 1, 5 and 15 minute load averages (empty when the system does not say).
    public static func loadAverage() -> [Double] {
        var averages = [Double](repeating: 0, count: 3)
        let count = getloadavg(&averages, 3)
        return count > 0 ? Array(averages.prefix(Int(count))) : []
    }

    /// The process's peak resident set size (Linux reports `ru_maxrss` in KiB).
    private static func peakRSSBytes() -> Int {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return usage.ru_maxrss * 1024
    }
}
