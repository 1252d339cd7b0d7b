import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// The Azure backend against relay-devstore's seeded fault injection: throttling is retried and narrows
/// the page blob's pacer; a Put Page whose answer is lost (500 after taking effect) is repeated only
/// behind the sequence-number fence. Each retry, fence and pacer change is logged with its metadata.
@Suite(.enabled(if: AzureBackends.devStoreIsBuilt, "relay-devstore is not built"), .timeLimit(.minutes(2)))
struct AzureFaultTests {
    static let patient = RetryPolicy(
        maxRetries: 12, baseDelay: .milliseconds(5), maxDelay: .milliseconds(200), random: { 0.5 })

    let log = LogRecorder()

    func blobService(_ faults: [String]) async throws -> (AzureBlobService, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let (process, connectionString) = try await AzureBackends.startDevStore(
            directory: directory.path, arguments: faults)
        let transport = ProcessBoundTransport(process: process, base: try CurlTransport())
        let service = try AzureBlobService(
            connectionString: connectionString, transport: transport, configuration: .init(retryPolicy: Self.patient),
            logger: log.logger)
        return (service, directory)
    }

    static func page(_ index: Int) -> [UInt8] {
        [UInt8](repeating: UInt8(truncatingIfNeeded: index * 7 + 1), count: 512)
    }

    @Test func throttledWritesAreRetriedAndNarrowThePacer() async throws {
        let (blobs, scratch) = try await blobService(["--fault-503-rate", "0.3", "--fault-seed", "7"])
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let blob = BlobAddress(container: "faults", name: "disk.vhd")
        try await blobs.createContainer("faults")
        try await blobs.createPageBlob(blob, size: 64 * 512, sequenceNumber: 0, metadata: [:], conditions: .none)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try await blobs.putPages(
                        blob, offset: UInt64(index * 512), data: Self.page(index),
                        checksum: .md5(MD5.digest(Self.page(index))), conditions: .none)
                }
            }
            try await group.waitForAll()
        }
        let back = try await blobs.getBlob(blob, range: nil, snapshot: nil, conditions: .none).data
        #expect(back == (0..<64).flatMap(Self.page))
        // With 30 % of calls refused, the window cannot have stayed at its maximum.
        #expect(blobs.pacers.pacer(for: blob).window < blobs.configuration.maxPageWritesPerBlob)

        let retries = log.records(containing: "retrying a storage request")
        #expect(!retries.isEmpty)
        #expect(retries.allSatisfy { $0.metadata["storage.status"] == "503" && $0.metadata["retry.attempt"] != nil })
        let narrowed = log.records(containing: "page writes narrowed")
        #expect(!narrowed.isEmpty)
        for record in narrowed {
            #expect(record.level == .notice)
            #expect(record.metadata["blob.name"] == "\(blob)")
            let window = try #require(record.metadata["pacer.window"].flatMap { Int($0) })
            let previous = try #require(record.metadata["pacer.previous_window"].flatMap { Int($0) })
            #expect(window == max(1, previous / 2))
        }
    }

    @Test func lostPageAnswersAreRepeatedBehindTheSequenceFence() async throws {
        let (blobs, scratch) = try await blobService(["--fault-500-rate", "0.3", "--fault-seed", "11"])
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let blob = BlobAddress(container: "faults", name: "disk.vhd")
        try await blobs.createContainer("faults")
        try await blobs.createPageBlob(blob, size: 32 * 512, sequenceNumber: 0, metadata: [:], conditions: .none)
        var sequence: Int64 = 0
        for index in 0..<32 {
            let result = try await blobs.putPages(
                blob, offset: UInt64(index * 512), data: Self.page(index), checksum: nil,
                conditions: BlobConditions(ifSequenceNumberLessThan: sequence + 1))
            sequence = try #require(result.sequenceNumber)
        }
        let properties = try await blobs.blobProperties(blob, snapshot: nil, conditions: .none)
        // Every fence raised the sequence number by one; with 30 % lost answers some fences were needed.
        #expect(properties.sequenceNumber == sequence)
        #expect(sequence > 0)
        #expect(
            try await blobs.getBlob(blob, range: nil, snapshot: nil, conditions: .none).data
                == (0..<32).flatMap(Self.page))
        // One log record per fence, each naming the blob and the sequence number it raised to.
        let fences = log.records(containing: "raising the blob's sequence number")
        #expect(fences.count == Int(sequence))
        #expect(
            fences.compactMap { $0.metadata["blob.sequence_number"].flatMap { Int64($0) } }.sorted()
                == Array(stride(from: 1, through: sequence, by: 1)))
    }

    @Test func aWriteUnderAPassedSequenceNumberIsFencedOffAndLogged() async throws {
        let (blobs, scratch) = try await blobService([])
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let blob = BlobAddress(container: "faults", name: "disk.vhd")
        try await blobs.createContainer("faults")
        try await blobs.createPageBlob(blob, size: 4 * 512, sequenceNumber: 5, metadata: [:], conditions: .none)
        await expectStorageError(.sequenceNumberConditionNotMet, 412) {
            try await blobs.putPages(
                blob, offset: 0, data: Self.page(0), checksum: nil,
                conditions: BlobConditions(ifSequenceNumberEqual: 4))
        }
        let records = log.records(containing: "fenced off")
        #expect(records.count == 1)
        let fenced = try #require(records.first)
        #expect(fenced.level == .notice)
        #expect(fenced.metadata["blob.name"] == "\(blob)")
        #expect(fenced.metadata["blob.sequence_number_condition"] == "eq 4")
        #expect(log.records(containing: "retrying").isEmpty)
    }
}
