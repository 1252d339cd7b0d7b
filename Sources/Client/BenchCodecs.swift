import ArgumentParser
import Foundation
import RelayBench
import RelayShared

extension RelayClientCommand.Bench {
    struct Codecs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ratio and speed of each codec on a disk's allocated data, with zstd and gzip as references.",
            discussion: """
                Rates are MB/s (10^6 bytes) of plain data, on one thread and on --threads threads, the \
                fastest of --runs runs of at least --min-seconds each. Link times estimate shipping all \
                allocated bytes: max(plain / all-core compression rate, compressed / link rate).
                """
        )

        @Argument(help: "The source disk: raw image, or fixed, dynamic or differencing VHD or VHDX.")
        var disk: String

        @Option(
            help: "Comma-separated codecs to measure (default: zstd:1,zstd:3,zlib:1,zlib:6,lz4,none).",
            transform: BenchArguments.codecs)
        var codecs = CodecBench.Options.defaultCodecs

        @Option(
            help: "Plain bytes per frame, binary units such as 512K, at most 4M (default: 4M).",
            transform: BenchArguments.byteSize)
        var frameSize = ByteSize(bytes: 4 << 20)

        @Option(help: "Threads for the all-core figures; defaults to the number of cores.")
        var threads = ProcessInfo.processInfo.activeProcessorCount

        @Option(
            help: "Comma-separated link speeds for the transfer estimate, such as 2.5Gbit (default: 100Mbit,1Gbit).",
            transform: BenchArguments.links)
        var link = CodecBench.Options.defaultLinks

        @Option(
            help: "Load at most this many allocated bytes; a larger disk is sampled evenly (default: 1G).",
            transform: BenchArguments.byteSize)
        var maxBytes = ByteSize(bytes: 1 << 30)

        @Option(help: "Timed runs per figure; the fastest is reported.")
        var runs = 3

        @Option(help: "Each run repeats the frames for at least this many seconds.")
        var minSeconds = 1.0

        @Flag(help: "Do not run the zstd and gzip tools as references.")
        var noReference = false

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard (4 << 10)...(4 << 20) ~= frameSize.bytes else {
                throw ValidationError("--frame-size must be between 4K and 4M (a segment frame holds at most 4 MiB)")
            }
            guard maxBytes >= frameSize else {
                throw ValidationError(
                    "--max-bytes (\(maxBytes)) must hold at least one frame of --frame-size (\(frameSize))")
            }
            guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256") }
            guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
            guard minSeconds > 0, minSeconds <= 600 else { throw ValidationError("--min-seconds must be in (0, 600]") }
        }

        func run() throws {
            let options = CodecBench.Options(
                codecs: codecs, frameSize: frameSize.bytes, maxBytes: maxBytes.bytes, links: link,
                timing: CodecBenchmark.Configuration(threads: threads, minSeconds: minSeconds, runs: runs),
                references: !noReference)
            let report = try CodecBench.run(disk: try DiskImage.open(disk), options: options) { line in
                FileHandle.standardError.write(Data("bench: \(line)\n".utf8))
            }
            if json {
                print(try report.json())
            } else {
                print(report.table(), terminator: "")
            }
        }
    }
}
