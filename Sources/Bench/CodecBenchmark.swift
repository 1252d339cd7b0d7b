import Foundation
import RelayShared

/// Measures codecs on a `DiskSample`: ratio, and compression and decompression throughput of plain
/// bytes on one thread and on `threads` threads, each context reused across frames as the client's
/// pipeline reuses them.
public struct CodecBenchmark: Sendable {
    public struct Configuration: Sendable {
        /// Threads for the all-core figures.
        public var threads: Int
        /// Each run repeats the work over the frames until at least this long has passed.
        public var minSeconds: Double
        /// Runs per figure; the fastest one is reported, as `zstd -b` reports its fastest.
        public var runs: Int

        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, minSeconds: Double = 1, runs: Int = 3)
        {
            self.threads = threads
            self.minSeconds = minSeconds
            self.runs = runs
        }
    }

    public let sample: DiskSample
    public let configuration: Configuration

    public init(sample: DiskSample, configuration: Configuration) {
        self.sample = sample
        self.configuration = configuration
    }

    /// Compresses every frame once and checks that each decompresses to its plain bytes (untimed),
    /// then times compression and decompression.
    public func measure(_ codec: Codec) throws -> CodecMeasurement {
        let threads = max(1, configuration.threads)
        let workers = try CodecWorkers(codec: codec, sample: sample, threads: threads)
        _ = try FrameLoop.run(threads: threads, frameCount: sample.frames.count, minSeconds: 0, workers.compressAndKeep)
        _ = try FrameLoop.run(threads: threads, frameCount: sample.frames.count, minSeconds: 0, workers.verify)

        func best(threads: Int, _ work: @escaping @Sendable (Int, Int) throws -> Int) throws -> Throughput {
            var fastest = Throughput(bytes: 0, seconds: 0)
            for _ in 0..<max(1, configuration.runs) {
                let run = try FrameLoop.run(
                    threads: threads, frameCount: sample.frames.count, minSeconds: configuration.minSeconds, work)
                if run.bytesPerSecond > fastest.bytesPerSecond { fastest = run }
            }
            return fastest
        }
        return CodecMeasurement(
            codec: codec,
            plainBytes: sample.bytes.count,
            compressedBytes: workers.compressedBytes,
            compressOneCore: try best(threads: 1, workers.compress),
            compressAllCores: try best(threads: threads, workers.compress),
            decompressOneCore: try best(threads: 1, workers.decompress),
            decompressAllCores: try best(threads: threads, workers.decompress)
        )
    }
}

/// One codec's figures on one sample; rates are of plain bytes.
public struct CodecMeasurement: Sendable {
    public let codec: Codec
    public let plainBytes: Int
    public let compressedBytes: Int
    public let compressOneCore: Throughput
    public let compressAllCores: Throughput
    public let decompressOneCore: Throughput
    public let decompressAllCores: Throughput

    /// Plain bytes per compressed byte.
    public var ratio: Double { Double(plainBytes) / Double(max(1, compressedBytes)) }
}

/// The per-thread codec contexts and buffers of one measurement, and the compressed frames.
///
/// `@unchecked Sendable`: while a `FrameLoop` runs, worker `w` alone touches `compressors[w]`,
/// `decompressors[w]`, `outputs[w]` and `plains[w]`; `compressed[f]` is written only by
/// `compressAndKeep`, whose loop hands each frame to exactly one worker, and read only by later loops.
/// Everything is freed in `deinit`, when no loop runs any more.
private final class CodecWorkers: @unchecked Sendable {
    let codec: Codec
    let sample: DiskSample
    let compressors: [FrameCompressor]
    let decompressors: [FrameDecompressor]
    let outputs: [UnsafeMutableRawBufferPointer]
    let plains: [UnsafeMutableRawBufferPointer]
    let compressed: UnsafeMutableBufferPointer<UnsafeMutableRawBufferPointer>

    init(codec: Codec, sample: DiskSample, threads: Int) throws {
        self.codec = codec
        self.sample = sample
        compressors = try (0..<threads).map { _ in try FrameCompressor(codec: codec) }
        decompressors = try (0..<threads).map { _ in try FrameDecompressor() }
        let bound = FrameCompressor.maxCompressedSize(codec: codec, plainCount: sample.frameSize)
        outputs = (0..<threads).map { _ in .allocate(byteCount: bound, alignment: 64) }
        plains = (0..<threads).map { _ in .allocate(byteCount: sample.frameSize, alignment: 64) }
        compressed = .allocate(capacity: sample.frames.count)
        compressed.initialize(repeating: UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    deinit {
        outputs.forEach { $0.deallocate() }
        plains.forEach { $0.deallocate() }
        compressed.forEach { $0.deallocate() }
        compressed.deallocate()
    }

    var compressedBytes: Int { compressed.reduce(0) { $0 + $1.count } }

    private func plain(_ frame: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: sample.bytes[sample.frames[frame]])
    }

    func compress(worker: Int, frame: Int) throws -> Int {
        let input = plain(frame)
        _ = try compressors[worker].compress(input, into: outputs[worker])
        return input.count
    }

    /// Compresses `frame` and keeps an exact-size copy for the decompression runs.
    func compressAndKeep(worker: Int, frame: Int) throws -> Int {
        let input = plain(frame)
        let count = try compressors[worker].compress(input, into: outputs[worker])
        let kept = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        kept.copyMemory(from: UnsafeRawBufferPointer(rebasing: outputs[worker][0..<count]))
        compressed[frame] = kept
        return input.count
    }

    func decompress(worker: Int, frame: Int) throws -> Int {
        let count = sample.frames[frame].count
        try decompressors[worker].decompress(
            UnsafeRawBufferPointer(compressed[frame]), codec: codec,
            into: UnsafeMutableRawBufferPointer(rebasing: plains[worker][0..<count]))
        return count
    }

    func verify(worker: Int, frame: Int) throws -> Int {
        let count = try decompress(worker: worker, frame: frame)
        let range = sample.frames[frame]
        guard memcmp(plains[worker].baseAddress!, sample.bytes.baseAddress! + range.lowerBound, count) == 0 else {
            throw BenchError(
                .roundTripMismatch,
                "\(codec): frame \(frame) (sample bytes \(range.lowerBound)..<\(range.upperBound) of \(sample.path)) did not decompress to its plain bytes"
            )
        }
        return count
    }
}
