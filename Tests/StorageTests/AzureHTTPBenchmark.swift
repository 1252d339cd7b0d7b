import Foundation
import Testing
@testable import RelayShared

/// Put Page throughput over loopback HTTP to relay-devstore, 4 MiB per request, with 1, 4 and 16 requests
/// in flight. A measurement, not a check: it runs only when `RELAY_BENCH_HTTP` is set (scripts/bench-http
/// sets it on a release build) and prints one JSON line per window.
struct AzureHTTPBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["RELAY_BENCH_HTTP"] != nil

    @Test("Put Page 4 MiB to relay-devstore with 1, 4, 16 in flight", .enabled(if: enabled, "set RELAY_BENCH_HTTP to run the HTTP benchmark"))
    func putPageThroughput() async throws {
        let megabytes = Int(ProcessInfo.processInfo.environment["RELAY_BENCH_HTTP_MIB"] ?? "") ?? 512
        let pageSize = 4 << 20
        let pages = max(1, megabytes / 4)
        let directory = try makeTemporaryDirectory("bench-http")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (process, connectionString) = try await AzureBackends.startDevStore(directory: directory)
        let blobs = try AzureBlobService(connectionString: connectionString, transport: ProcessBoundTransport(process: process, base: try CurlTransport()))
        try await blobs.createContainer("bench")
        var data = [UInt8](repeating: 0, count: pageSize)
        var generator = SystemRandomNumberGenerator()
        for index in stride(from: 0, to: data.count, by: 8) {
            withUnsafeBytes(of: generator.next() as UInt64) { data.replaceSubrange(index..<index + 8, with: $0) }
        }
        let payload = data
        for window in [1, 4, 16] {
            let blob = BlobAddress(container: "bench", name: "disk-\(window).vhd")
            try await blobs.createPageBlob(blob, size: UInt64(pages * pageSize), sequenceNumber: 0, metadata: [:], conditions: .none)
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for page in 0..<pages {
                    if page >= window { try await group.next() }
                    group.addTask {
                        try await blobs.putPages(blob, offset: UInt64(page * pageSize), data: payload, contentMD5: nil, conditions: .none)
                    }
                }
                try await group.waitForAll()
            }
            let seconds = (ContinuousClock.now - start).seconds
            let rate = Double(pages * pageSize) / seconds / 1e6
            print("{\"benchmark\":\"put-page-4MiB\",\"inFlight\":\(window),\"bytes\":\(pages * pageSize),\"seconds\":\(String(format: "%.3f", seconds)),\"MBps\":\(String(format: "%.1f", rate))}")
            // Spot check: the last page reads back as written.
            let back = try await blobs.getBlob(blob, range: ByteRange(offset: UInt64((pages - 1) * pageSize), length: UInt64(pageSize)), snapshot: nil, conditions: .none)
            #expect(back.data == payload)
        }
    }
}
