import Foundation

/// `relay-client bench codecs`: loads a sample of a disk's allocated bytes, measures each codec on
/// it, runs the reference tools on the same bytes, and reports.
public enum CodecBench {
    public struct Options: Sendable {
        public static let defaultCodecs: [Codec] = [.zstd(level: 1), .zstd(level: 3), .zlib(level: 1), .zlib(level: 6), .lz4, .none]
        public static let defaultLinks = [LinkSpeed(name: "100Mbit", bitsPerSecond: 100e6), LinkSpeed(name: "1Gbit", bitsPerSecond: 1e9)]

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
    public static func run(disk: any VirtualDisk, options: Options, progress: (String) -> Void) throws -> CodecBenchReport {
        progress("reading allocated data of \(disk.path) (at most \(ByteSize(bytes: options.maxBytes)))")
        let sample = try DiskSample.load(from: disk, frameSize: options.frameSize, maxBytes: options.maxBytes)
        var notes: [String] = []
        if sample.isPartial {
            notes.append("sampled \(sample.bytes.count) of \(sample.allocatedBytes) allocated bytes (--max-bytes \(ByteSize(bytes: options.maxBytes))): \(sample.frames.count) frames spread evenly; link times are scaled to all allocated bytes")
        }
        let benchmark = CodecBenchmark(sample: sample, configuration: options.timing)
        var measurements: [CodecMeasurement] = []
        for codec in options.codecs {
            progress("measuring \(codec) on \(sample.frames.count) frames of \(ByteSize(bytes: sample.frameSize))")
            measurements.append(try benchmark.measure(codec))
        }
        var references: [ReferenceMeasurement] = []
        if options.references {
            references = try runReferences(sample: sample, options: options, notes: &notes, progress: progress)
        }
        return CodecBenchReport(
            sample: sample, configuration: options.timing, links: options.links,
            measurements: measurements, references: references, notes: notes)
    }

    /// `zstd -bL` for each `zstd:L` (L ≥ 1) and `gzip -L` for each `zlib:L` among the codecs, on a
    /// temporary file holding the sampled bytes. A missing or failing tool is a note, not an error:
    /// the references only put our figures in context.
    private static func runReferences(
        sample: DiskSample, options: Options, notes: inout [String], progress: (String) -> Void
    ) throws -> [ReferenceMeasurement] {
        let zstd = ReferenceTools.locate("zstd")
        let gzip = ReferenceTools.locate("gzip")
        var jobs: [(codec: Codec, run: (ReferenceTools) throws -> ReferenceMeasurement)] = []
        for codec in options.codecs {
            switch codec {
            case .zstd(let level) where level >= 1:
                if let zstd {
                    jobs.append((codec, { try $0.zstdBench(zstd: zstd, level: level, frameSize: sample.frameSize) }))
                } else {
                    notes.append("no zstd tool on PATH: no reference row for \(codec)")
                }
            case .zlib(let level):
                if let gzip {
                    jobs.append((codec, { try $0.gzip(gzip: gzip, level: level) }))
                } else {
                    notes.append("no gzip tool on PATH: no reference row for \(codec)")
                }
            default:
                break
            }
        }
        guard !jobs.isEmpty else { return [] }

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("relay-bench-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/sample.bin"
        try SystemFile.create(file, mode: 0o600).write(sample.bytes, at: 0)
        let tools = ReferenceTools(
            sampleFile: file, plainBytes: sample.bytes.count,
            seconds: options.timing.minSeconds * Double(max(1, options.timing.runs)))

        var references: [ReferenceMeasurement] = []
        for job in jobs {
            progress("reference tool for \(job.codec)")
            do {
                references.append(try job.run(tools))
            } catch {
                notes.append("reference for \(job.codec) failed: \(error)")
            }
        }
        return references
    }
}

extension CodecBench {
    /// Parses a comma-separated codec list such as `zstd:1,zlib:6,lz4,none`.
    public static func parseCodecs(_ text: String) throws(BenchError) -> [Codec] {
        try parseList(text, what: "codec") { item throws(BenchError) in
            guard let codec = Codec(item) else {
                throw BenchError(.invalidArgument, "codec '\(item)': expected none, lz4, zlib:1…9 or zstd:LEVEL")
            }
            return codec
        }
    }

    /// Parses a comma-separated link list such as `100Mbit,1Gbit`.
    public static func parseLinks(_ text: String) throws(BenchError) -> [LinkSpeed] {
        try parseList(text, what: "link speed") { item throws(BenchError) in try LinkSpeed.parse(item) }
    }

    private static func parseList<Item: Hashable>(
        _ text: String, what: String, _ parse: (String) throws(BenchError) -> Item
    ) throws(BenchError) -> [Item] {
        var items: [Item] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = try parse(part.trimmingCharacters(in: .whitespaces))
            guard !items.contains(item) else {
                throw BenchError(.invalidArgument, "\(what) list '\(text)' names '\(part)' twice")
            }
            items.append(item)
        }
        return items
    }
}
