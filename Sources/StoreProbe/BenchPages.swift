import ArgumentParser
import Foundation
import RelayShared

extension StoreProbeCommand {
    /// Local page blob writes of 4 MiB pages against `dd bs=4M` writing the same bytes to the same file
    /// system, in one run (scripts/bench-storage). Prints `blob-bench:` lines.
    struct BenchPages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-pages", abstract: "Measure local Put Page of 4 MiB against dd bs=4M (MB/s).")

        @Option(help: "Mebibytes written per run.") var mib = 512
        @Option(help: "The file system to measure: a fresh directory is made in it and removed afterwards.")
        var directory = NSTemporaryDirectory()

        func validate() throws {
            guard (4...(1 << 20)).contains(mib) else { throw ValidationError("--mib must be between 4 and 1048576") }
        }

        func run() async throws {
            let chunk = 4 << 20
            let total = UInt64(mib / 4 * chunk)
            let directory = try makeDirectory(in: directory, label: "blob-bench")
            defer { try? FileManager.default.removeItem(atPath: directory) }

            // The same seeded random bytes for both: in memory for the service, in a file (in the page
            // cache) for dd.
            let source = directory + "/source"
            var generator = SplitMix64(seed: 0x5EED_0B10_B000)
            let chunks = (0..<mib / 4).map { _ in generator.bytes(chunk) }
            try await onThread {
                let file = try SystemFile.create(source)
                for (index, bytes) in chunks.enumerated() {
                    try bytes.withUnsafeBytes { try file.write($0, at: UInt64(index * chunk)) }
                }
            }
            let service = try await LocalBlobService(store: LocalStore(path: directory + "/store"))
            try await service.createContainer("bench")
            let blob = BlobAddress(container: "bench", name: "disk.vhd")

            // Rounds alternate which writer goes first, so that neither always meets the other's writeback.
            var dd: [Double] = []
            var local: [Double] = []
            var localMD5: [Double] = []
            for round in 0..<5 {
                let ddRun = {
                    try await onThread { sync() }
                    let start = ContinuousClock.now
                    let status = try await onThread {
                        try Self.runDD(from: source, to: directory + "/dd.out", count: chunks.count)
                    }
                    guard status == 0 else { throw BenchFailure(description: "dd exited with status \(status)") }
                    dd.append(Self.rate(total, since: start))
                    try FileManager.default.removeItem(atPath: directory + "/dd.out")
                }
                let localRun = { (withMD5: Bool) in
                    try await service.createPageBlob(
                        blob, size: total, sequenceNumber: 0, metadata: [:], conditions: .none)
                    try await onThread { sync() }
                    let start = ContinuousClock.now
                    for (index, data) in chunks.enumerated() {
                        try await service.putPages(
                            blob, offset: UInt64(index * chunk), data: data,
                            checksum: withMD5 ? .md5(MD5.digest(data)) : nil, conditions: .none)
                    }
                    if withMD5 {
                        localMD5.append(Self.rate(total, since: start))
                    } else {
                        local.append(Self.rate(total, since: start))
                    }
                    try await service.deleteBlob(blob, snapshot: nil, deleteSnapshots: nil, conditions: .none)
                }
                if round % 2 == 0 {
                    try await ddRun()
                    try await localRun(false)
                } else {
                    try await localRun(false)
                    try await ddRun()
                }
                try await localRun(true)
            }
            let ratios = zip(local, dd).map { $0 / $1 }.sorted()
            let best = (dd: dd.max() ?? 0, local: local.max() ?? 0, localMD5: localMD5.max() ?? 0)
            print(
                """
                blob-bench: \(mib / 4 * 4) MiB in 4 MiB pages, 5 rounds, best (all runs)
                blob-bench: dd bs=4M                   \(Self.format(best.dd)) MB/s  (\(dd.map(Self.format).joined(separator: ", ")))
                blob-bench: local putPages             \(Self.format(best.local)) MB/s  (\(local.map(Self.format).joined(separator: ", ")))
                blob-bench: local putPages + MD5 (*)   \(Self.format(best.localMD5)) MB/s  (\(localMD5.map(Self.format).joined(separator: ", ")))
                blob-bench: ratio best/best            \(Self.format(best.local / best.dd * 100)) %  (target: at least 50 %)
                blob-bench: ratio per round, median    \(Self.format(ratios[ratios.count / 2] * 100)) %
                blob-bench: (*) MD5 computed by the caller and checked by the service, as the worker does
                """)
        }

        private static func runDD(from source: String, to destination: String, count: Int) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/dd")
            process.arguments = ["if=\(source)", "of=\(destination)", "bs=4M", "count=\(count)", "status=none"]
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }

        private static func rate(_ bytes: UInt64, since start: ContinuousClock.Instant) -> Double {
            Double(bytes) / 1e6 / (ContinuousClock.now - start).seconds
        }

        private static func format(_ value: Double) -> String { String(format: "%.0f", value) }
    }
}

/// A benchmark that could not measure: what failed.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

/// Makes a fresh directory named for `label` inside `parent`.
func makeDirectory(in parent: String, label: String) throws -> String {
    let path = URL(fileURLWithPath: parent).appendingPathComponent("relay-\(label)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs blocking work (file writes, `sync`, waiting for a process) on a thread of its own, off Swift's
/// cooperative pool. `sync` before each timed run keeps one writer's dirty pages from slowing the next.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
