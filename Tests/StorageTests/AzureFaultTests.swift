import Foundation
import Testing
@testable import RelayShared

/// The Azure backend against relay-devstore's seeded fault injection: throttling is retried and narrows
/// the page blob's pacer; a Put Page whose answer is lost (500 after taking effect) is repeated only
/// behind the sequence-number fence.
@Suite(.enabled(if: AzureBackends.devStoreIsBuilt, "relay-devstore is not built"), .timeLimit(.minutes(2)))
struct AzureFaultTests {
    static let patient = RetryPolicy(maxRetries: 12, baseDelay: .milliseconds(5), maxDelay: .milliseconds(200), random: { 0.5 })

    func blobService(_ faults: [String]) async throws -> (AzureBlobService, String) {
        let directory = try makeTemporaryDirectory("devstore-faults")
        let (process, connectionString) = try await AzureBackends.startDevStore(directory: directory, arguments: faults)
        let transport = ProcessBoundTransport(process: process, base: try CurlTransport())
        return (try AzureBlobService(connectionString: connectionString, transport: transport, configuration: .init(retryPolicy: Self.patient)), directory)
    }

    static func page(_ index: Int) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: index * 7 + 1), count: 512) }

    @Test func throttledWritesAreRetriedAndNarrowThePacer() async throws {
        let (blobs, directory) = try await blobService(["--fault-503-rate", "0.3", "--fault-seed", "7"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let blob = BlobAddress(container: "faults", name: "disk.vhd")
        try await blobs.createContainer("faults")
        try await blobs.createPageBlob(blob, size: 64 * 512, sequenceNumber: 0, metadata: [:], conditions: .none)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask { try await blobs.putPages(blob, offset: UInt64(index * 512), data: Self.page(index), contentMD5: MD5.digest(Self.page(index)), conditions: .none) }
            }
            try await group.waitForAll()
        }
        let back = try await blobs.getBlob(blob, range: nil, snapshot: nil, conditions: .none).data
        #expect(back == (0..<64).flatMap(Self.page))
        // With 30 % of calls refused, the window cannot have stayed at its maximum.
        #expect(blobs.pacers.pacer(for: blob).window < blobs.configuration.maxPageWritesPerBlob)
    }

    @Test func lostPageAnswersAreRepeatedBehindTheSequenceFence() async throws {
        let (blobs, directory) = try await blobService(["--fault-500-rate", "0.3", "--fault-seed", "11"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let blob = BlobAddress(container: "faults", name: "disk.vhd")
        try await blobs.createContainer("faults")
        try await blobs.createPageBlob(blob, size: 32 * 512, sequenceNumber: 0, metadata: [:], conditions: .none)
        var sequence: Int64 = 0
        for index in 0..<32 {
            let result = try await blobs.putPages(blob, offset: UInt64(index * 512), data: Self.page(index), contentMD5: nil,
                                                  conditions: BlobConditions(ifSequenceNumberLessThan: sequence + 1))
            sequence = try #require(result.sequenceNumber)
        }
        let properties = try await blobs.blobProperties(blob, snapshot: nil, conditions: .none)
        // Every fence raised the sequence number by one; with 30 % lost answers some fences were needed.
        #expect(properties.sequenceNumber == sequence)
        #expect(sequence > 0)
        #expect(try await blobs.getBlob(blob, range: nil, snapshot: nil, conditions: .none).data == (0..<32).flatMap(Self.page))
    }
}
