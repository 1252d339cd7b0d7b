import ArgumentParser
import Foundation
import RelayShared

extension StoreProbeCommand {
    /// Put Page throughput of the Azure backend (libcurl) over HTTP, 4 MiB per request, with 1, 4 and 16
    /// requests in flight (scripts/bench-http, against relay-devstore on loopback). Prints one JSON line
    /// per window.
    struct BenchHTTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-http",
            abstract: "Measure Put Page of 4 MiB over HTTP with 1, 4 and 16 in flight (MB/s).",
            discussion:
                "The account comes from AZURE_STORAGE_CONNECTION_STRING, so that its key stays out of process listings."
        )

        @Option(help: "Mebibytes written per window.") var mib = 512
        @Option(help: "The container to create and write in.") var container = "bench"

        func validate() throws {
            guard (4...(1 << 20)).contains(mib) else { throw ValidationError("--mib must be between 4 and 1048576") }
        }

        func run() async throws {
            guard let text = ProcessInfo.processInfo.environment["AZURE_STORAGE_CONNECTION_STRING"] else {
                throw ValidationError("set AZURE_STORAGE_CONNECTION_STRING to the account to write to")
            }
            let pageSize = 4 << 20
            let pages = mib / 4
            let blobs = try AzureBlobService(
                connectionString: try ConnectionString(text), transport: try CurlTransport())
            try await blobs.createContainer(container)
            var generator = SplitMix64(seed: 0x5EED_4774_B000)
            let payload = generator.bytes(pageSize)
            for window in [1, 4, 16] {
                let blob = BlobAddress(container: container, name: "disk-\(window).vhd")
                try await blobs.createPageBlob(
                    blob, size: UInt64(pages * pageSize), sequenceNumber: 0, metadata: [:], conditions: .none)
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for page in 0..<pages {
                        if page >= window { try await group.next() }
                        group.addTask {
                            try await blobs.putPages(
                                blob, offset: UInt64(page * pageSize), data: payload, checksum: nil, conditions: .none
                            )
                        }
                    }
                    try await group.waitForAll()
                }
                let seconds = (ContinuousClock.now - start).seconds
                let rate = Double(pages * pageSize) / seconds / 1e6
                // Spot check: the last page reads back as written.
                let back = try await blobs.getBlob(
                    blob, range: ByteRange(offset: UInt64((pages - 1) * pageSize), length: UInt64(pageSize)),
                    snapshot: nil, conditions: .none)
                guard back.data == payload else {
                    throw BenchFailure(description: "\(blob): the last page reads back wrong")
                }
                print(
                    "{\"benchmark\":\"put-page-4MiB\",\"client\":\"swift-libcurl\",\"inFlight\":\(window),\"bytes\":\(pages * pageSize),\"seconds\":\(String(format: "%.3f", seconds)),\"MBps\":\(String(format: "%.1f", rate))}"
                )
            }
        }
    }
}
