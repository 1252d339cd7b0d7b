import Foundation
import RelayShared

/// `relay-client bench codecs`: loads a sample of a disk's allocated bytes, measures each codec on
/// it, runs the reference tools on the same bytes, and reports.
public enum CodecBench {
    public struct Options: Sendable {
        public static let defaultCodecs: [Codec] = [
            .zstd(level: 1), .zstd(level: 3), .zlib(level: 1), .zlib(level: 6), .lz4, .none,
        ]
        public static let defaultLinks = [
            LinkSpeed(name: "100Mbit", bitsPerSecond: 100e6), LinkSpeed(name: "1Gbit", bitsPerSecond: 1e9),
        ]

        public var codecs: [Codec]
        public var frameSize: Int
        /// At most this many sampled bytes are held in memory.
        public var maxBytes: Int
        public var links: [LinkSpeed]
        public var timing: CodecBenchmark.Configuration
        /// Whether to run the `zstd` and `gzip` tools as reference rows when they are installed.
        public var references: Bool

        public init(
            codecs: [Codec], frameSize: Int, maxBytes: Int, links: [LinkSpeed],
            timing: CodecBenchmark.Configuration, references: Bool
        ) {
            self.codecs = codecs
            self.frameSize = frameSize
            self.maxBytes = maxBytes
            self.links = links
            self.timing = timing
            self.references = references
        }
    }

    /// Runs the benchmark; `progress` receives one line per step (the CLI prints it on stderr).
    /// Blocking: call it from a synchronous command or a dedicated thread.
    public static func run(disk: any VirtualDisk, options: Options, progress: (String) -> Void) throws
        -> CodecBenchReport
    {
        progress("reading allocated data of \(disk.path) (at most \(ByteSize(bytes: options.maxBytes)))")
        let sample = try DiskSample.load(from: disk, frameSize: options.frameSize, maxBytes: options.maxBytes)
        var notes: [String] = []
        if sample.isPartial {
            notes.append(
                "sampled \(sample.bytes.count) of \(sample.allocatedBytes) allocated bytes (--max-bytes \(ByteSize(bytes: options.maxBytes))): \(sample.frames.count) frames spread evenly; link times are scaled to all allocated bytes"
            )
        }
        let loadAverageBefore = CodecBenchReport.loadAverage()
        let benchmark = CodecBenchmark(sample: sample, configuration: options.timing)
        let references =
            options.references ? referenceJobs(options.codecs, frameSize: sample.frameSize, notes: &notes) : [:]
        let tools =
            references.isEmpty
            ? nil
            : try ReferenceTools.writingSample(
                sample, seconds: options.timing.minSeconds * Double(max(1, options.timing.runs)))
        defer { tools?.removeSample() }

        var measurements: [CodecMeasurement] = []
        var referenceMeasurements: [ReferenceMeasurement] = []
        for codec in options.codecs {
            progress("measuring \(codec) on \(sample.frames.count) frames of \(ByteSize(bytes: sample.frameSize))")
            measurements.append(try benchmark.measure(codec))
            // Right after our own figures, so that both see the same load on the machine.
            if let tools, let job = references[codec] {
                progress("measuring the reference tool for \(codec)")
                do {
                    referenceMeasurements.append(try job(tools))
                } catch {
                    notes.append("reference for \(codec) failed: \(error)")
                }
            }
        }
        let loadAverageAfter = CodecBenchReport.loadAverage()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let load = [loadAverageBefore.first, loadAverageAfter.first].compactMap({ $0 }).max(), load > Double(cores) {
            notes.append(
                "the machine was busy (1-minute load average up to \(String(format: "%.2f", load)) on \(cores) cores): rates and all-core scaling are lower than on an idle machine"
            )
        }
        return CodecBenchReport(
            sample: sample, configuration: options.timing, links: options.links,
            measurements: measurements, references: referenceMeasurements,
            loadAverageBefore: loadAverageBefore, loadAverageAfter: loadAverageAfter, notes: notes)
    }

    /// `zstd -bL` for each `zstd:L` (L ≥ 1) and `gzip -L` for each `zlib:L` among the codecs. A
    /// missing tool is a note, not an error: the references only put our figures in context.
    private static func referenceJobs(
        _ codecs: [Codec], frameSize: Int, notes: inout [String]
    ) -> [Codec: (ReferenceTools) throws -> ReferenceMeasurement] {
        let zstd = ReferenceTools.locate("zstd")
        let gzip = ReferenceTools.locate("gzip")
        var jobs: [Codec: (ReferenceTools) throws -> ReferenceMeasurement] = [:]
        for codec in codecs {
            switch codec {
            case .zstd(let level) where level >= 1:
                if let zstd {
                    jobs[codec] = { try $0.zstdBench(zstd: zstd, level: level, frameSize: frameSize) }
                } else {
                    notes.append("no zstd tool on PATH: no reference row for \(codec)")
                }
            case .zlib(let level):
                if let gzip {
                    jobs[codec] = { try $0.gzip(gzip: gzip, level: level) }
                } else {
                    notes.append("no gzip tool on PATH: no reference row for \(codec)")
                }
            default:
                break
            }
        }
        return jobs
    }
}
