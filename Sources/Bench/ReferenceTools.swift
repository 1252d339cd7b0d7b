import Foundation
import RelayShared

/// A figure measured by an outside tool on the same sampled bytes, shown next to ours.
public struct ReferenceMeasurement: Sendable {
    /// How the tool was invoked, e.g. `zstd -b1`, `gzip -1`.
    public let tool: String
    /// Exactly what the figures measure.
    public let measures: String
    /// Our codec that does the same work.
    public let codec: Codec
    public let plainBytes: Int
    public let compressedBytes: Int
    public let compressBytesPerSecond: Double
    public let decompressBytesPerSecond: Double

    public var ratio: Double { Double(plainBytes) / Double(max(1, compressedBytes)) }
}

/// Runs the `zstd` and `gzip` command-line tools on a file holding the sampled bytes.
///
/// The tools are separate processes started and awaited synchronously: call this from a synchronous
/// command or a dedicated thread.
public struct ReferenceTools: Sendable {
    /// The file with the sampled bytes, frames back to back.
    public let sampleFile: String
    public let plainBytes: Int
    /// Measure each figure for at least this long in total, keeping the fastest run (as `zstd -i`).
    public let seconds: Double

    /// The temporary directory `writingSample` made, which `removeSample` deletes.
    private let ownedDirectory: String?

    /// Uses an existing file of `plainBytes` bytes, which stays the caller's.
    public init(sampleFile: String, plainBytes: Int, seconds: Double) {
        self.init(sampleFile: sampleFile, plainBytes: plainBytes, seconds: seconds, ownedDirectory: nil)
    }

    private init(sampleFile: String, plainBytes: Int, seconds: Double, ownedDirectory: String?) {
        self.sampleFile = sampleFile
        self.plainBytes = plainBytes
        self.seconds = seconds
        self.ownedDirectory = ownedDirectory
    }

    /// Writes the sampled bytes to a new private temporary directory; `removeSample()` deletes it.
    public static func writingSample(_ sample: DiskSample, seconds: Double) throws -> ReferenceTools {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("relay-bench-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let file = directory + "/sample.bin"
        do {
            try SystemFile.create(file, mode: 0o600).write(sample.bytes, at: 0)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        return ReferenceTools(
            sampleFile: file, plainBytes: sample.bytes.count, seconds: seconds, ownedDirectory: directory)
    }

    /// Deletes the temporary directory `writingSample` made; a caller's own file is left alone.
    public func removeSample() {
        guard let ownedDirectory else { return }
        try? FileManager.default.removeItem(atPath: ownedDirectory)
    }

    /// The full path of `name` on `PATH`, or nil when it is not installed.
    public static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `zstd -b<level> -B<frameSize> -i<seconds> --single-thread -q`: zstd's in-memory benchmark,
    /// which cuts the file into independent `frameSize` blocks as our frames are cut, and reports its
    /// fastest compression and decompression runs on one thread.
    public func zstdBench(zstd: String, level: Int32, frameSize: Int) throws -> ReferenceMeasurement {
        let arguments = [
            "-b\(level)", "-B\(frameSize)", "-i\(max(1, Int(seconds.rounded(.up))))", "--single-thread", "-q",
            sampleFile,
        ]
        let output = try Self.run(zstd, arguments, stdout: .capture).output
        let parsed = try ZstdBenchOutput.parse(output)
        return ReferenceMeasurement(
            tool: "zstd -b\(level)",
            measures:
                "zstd \(arguments.dropLast().joined(separator: " ")): in-memory, one thread, independent \(frameSize)-byte blocks, fastest run",
            codec: .zstd(level: level), plainBytes: plainBytes, compressedBytes: parsed.compressedBytes,
            compressBytesPerSecond: parsed.compressMBps * 1e6, decompressBytesPerSecond: parsed.decompressMBps * 1e6)
    }

    /// `gzip -<level> -c FILE >/dev/null` and `gzip -d -c FILE.gz >/dev/null`, timed from process
    /// start to exit (so including start-up and reading the file from the page cache), fastest run.
    /// gzip streams the whole file as one deflate stream; our zlib frames are independent.
    public func gzip(gzip: String, level: Int32) throws -> ReferenceMeasurement {
        let compressedFile = sampleFile + ".gz"
        defer { try? FileManager.default.removeItem(atPath: compressedFile) }
        _ = try Self.run(gzip, ["-\(level)", "-c", sampleFile], stdout: .file(compressedFile))
        let compressedBytes = try Int(SystemFile.openForReading(compressedFile).size())
        let compress = try fastest { try Self.run(gzip, ["-\(level)", "-c", sampleFile], stdout: .discard).seconds }
        let decompress = try fastest { try Self.run(gzip, ["-d", "-c", compressedFile], stdout: .discard).seconds }
        return ReferenceMeasurement(
            tool: "gzip -\(level)",
            measures:
                "wall time of gzip -\(level) -c FILE >/dev/null and gzip -d -c FILE.gz >/dev/null, one process each, fastest run",
            codec: .zlib(level: level), plainBytes: plainBytes, compressedBytes: compressedBytes,
            compressBytesPerSecond: Double(plainBytes) / compress,
            decompressBytesPerSecond: Double(plainBytes) / decompress)
    }

    /// Repeats `timedRun` until `seconds` have passed in total (at least once); the shortest time.
    private func fastest(_ timedRun: () throws -> Double) throws -> Double {
        var best = Double.infinity
        var total = 0.0
        repeat {
            let time = try timedRun()
            best = min(best, time)
            total += time
        } while total < seconds
        return best
    }

    private enum Output {
        case capture
        case discard
        case file(String)
    }

    /// Runs `tool` to completion; a non-zero exit is an error naming the command and its messages.
    /// In `.capture` mode stdout and stderr share one pipe, so one read to the end drains both and
    /// the tool can never block on a full pipe nobody reads.
    private static func run(_ tool: String, _ arguments: [String], stdout: Output) throws -> (
        output: String, seconds: Double
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let messages = Pipe()
        process.standardError = messages
        var outputFile: FileHandle?
        switch stdout {
        case .capture:
            process.standardOutput = messages
        case .discard:
            process.standardOutput = FileHandle.nullDevice
        case .file(let path):
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let handle = FileHandle(forWritingAtPath: path)
            else {
                throw BenchError(.referenceToolFailed, "cannot create \(path) for the output of \(tool)")
            }
            outputFile = handle
            process.standardOutput = handle
        }
        defer { try? outputFile?.close() }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try process.run()
        } catch {
            throw BenchError(.referenceToolFailed, "cannot start \(tool): \(error)")
        }
        let output = String(decoding: messages.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let elapsed = clock.now - start
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw BenchError(
                .referenceToolFailed,
                "\(tool) \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus): \(output.suffix(500))"
            )
        }
        return (output, elapsed.seconds)
    }
}
