import Foundation
import RelayBench
import RelayShared
import TestSupport
import Testing

/// The reference tools' output parser, fed with what the installed tools print now.
@Suite(.ownThreads)
struct BenchReferenceTests {
    /// Runs `tool` with `arguments` and returns its stdout and stderr, one after the other.
    private func output(of tool: String, _ arguments: [String]) async throws -> String {
        let result = try await run(tool, arguments)
        #expect(result.status == 0)
        return result.stdout + result.stderr
    }

    /// Writes 3 MiB of compressible bytes to a file and returns the file's path and the bytes' count.
    private func writeSample(in directory: String) throws -> (path: String, count: Int) {
        let bytes = compressibleBytes(count: 3 << 20)
        let path = directory + "/sample.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes.count)
    }

    @Test(.enabled(if: ReferenceTools.locate("zstd") != nil), arguments: [["-q"], []])
    func parsesTheResultLineZstdPrints(quiet: [String]) async throws {
        let zstd = try #require(ReferenceTools.locate("zstd"))
        let scratch = try TemporaryDirectory()
        let directory = scratch.path
        let (path, count) = try writeSample(in: directory)
        let text = try await output(of: zstd, ["-b1", "-i1", "-B1M", "--single-thread"] + quiet + [path])
        let parsed = try ZstdBenchOutput.parse(text)
        // The tool prints the ratio rounded to 3 decimals; the size must agree with it.
        #expect(parsed.compressedBytes > 0 && parsed.compressedBytes < count)
        #expect(abs(Double(count) / Double(parsed.compressedBytes) - parsed.ratio) < 0.001)
        #expect(parsed.compressMBps > 0 && parsed.decompressMBps > 0)
    }

    @Test func theSampleFileHoldsTheSampledBytesUntilRemoved() throws {
        let bytes = compressibleBytes(count: 100_000)
        let disk = MemoryDisk(bytes: bytes, extents: [ByteRange(offset: 0, length: UInt64(bytes.count))])
        let sample = try DiskSample.load(from: disk, frameSize: 32 << 10, maxBytes: 1 << 20)
        let tools = try ReferenceTools.writingSample(sample, seconds: 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: tools.sampleFile)) == Data(bytes))
        tools.removeSample()
        #expect(!FileManager.default.fileExists(atPath: (tools.sampleFile as NSString).deletingLastPathComponent))
    }

    @Test func aCallersSampleFileIsNeverRemoved() throws {
        let scratch = try TemporaryDirectory()
        let directory = scratch.path
        let (path, count) = try writeSample(in: directory)
        ReferenceTools(sampleFile: path, plainBytes: count, seconds: 1).removeSample()
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func refusesOutputWithoutAResultLine() {
        #expect(throws: BenchError.self) {
            try ZstdBenchOutput.parse("Loading sample.bin...\r |-sample.bin : 3145728 -> \r")
        }
        #expect(throws: BenchError.self) { try ZstdBenchOutput.parse("zstd: error 30 : cannot open sample.bin\n") }
    }

    @Test(.enabled(if: ReferenceTools.locate("zstd") != nil))
    func zstdReferenceAgreesWithOurZstdOnTheSameFrames() throws {
        let zstd = try #require(ReferenceTools.locate("zstd"))
        let scratch = try TemporaryDirectory()
        let directory = scratch.path
        let (path, count) = try writeSample(in: directory)
        let tools = ReferenceTools(sampleFile: path, plainBytes: count, seconds: 1)
        let reference = try tools.zstdBench(zstd: zstd, level: 1, frameSize: 1 << 20)
        #expect(reference.tool == "zstd -b1")
        #expect(reference.codec == .zstd(level: 1))
        #expect(reference.compressBytesPerSecond > 0 && reference.decompressBytesPerSecond > 0)
        // Same library, level and independent 1 MiB blocks: our frames come out within 1% of its size.
        let disk = MemoryDisk(
            bytes: compressibleBytes(count: count), extents: [ByteRange(offset: 0, length: UInt64(count))])
        let sample = try DiskSample.load(from: disk, frameSize: 1 << 20, maxBytes: count)
        let ours = try CodecBenchmark(
            sample: sample, configuration: .init(threads: 1, minSeconds: 0.01, runs: 1)
        ).measure(.zstd(level: 1))
        #expect(abs(Double(ours.compressedBytes) / Double(reference.compressedBytes) - 1) < 0.01)
    }

    @Test(.enabled(if: ReferenceTools.locate("gzip") != nil))
    func gzipReferenceMeasuresRatioAndBothDirections() throws {
        let gzip = try #require(ReferenceTools.locate("gzip"))
        let scratch = try TemporaryDirectory()
        let directory = scratch.path
        let (path, count) = try writeSample(in: directory)
        let reference = try ReferenceTools(sampleFile: path, plainBytes: count, seconds: 0.1).gzip(gzip: gzip, level: 1)
        #expect(reference.tool == "gzip -1")
        #expect(reference.ratio > 1.5)
        #expect(reference.compressBytesPerSecond > 0 && reference.decompressBytesPerSecond > 0)
        // The temporary .gz is gone: the directory holds the sample only.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["sample.bin"])
    }
}
