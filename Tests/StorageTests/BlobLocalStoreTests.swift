import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// What only the local store promises: sparse files, several processes sharing one store (each
/// `LocalStore` here has its own SQLite connections, as a separate process would), and persistence.
struct BlobLocalStoreTests {
    let scratch: TemporaryDirectory
    var directory: String { scratch.path }
    let blob = BlobAddress(container: "disks", name: "target.vhd")

    init() throws { scratch = try TemporaryDirectory() }

    /// A service over its own store on the shared directory, as another process would open it.
    func openProcess() async throws -> LocalBlobService {
        try await LocalBlobService(store: LocalStore(path: directory))
    }

    /// The only data file of the store (tests create one blob).
    func dataFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/blobs").sorted().map {
            directory + "/blobs/" + $0
        }
    }

    @Test func aFencedOffPageWriteIsLoggedWithItsBlobAndCondition() async throws {
        let log = LogRecorder()
        let service = try await LocalBlobService(store: LocalStore(path: directory, logger: log.logger))
        try await service.createContainer(blob.container)
        try await service.createPageBlob(blob, size: 4096, sequenceNumber: 7, metadata: [:], conditions: .none)
        try await service.putPages(
            blob, offset: 0, data: [UInt8](repeating: 1, count: 512), checksum: nil,
            conditions: BlobConditions(ifSequenceNumberLessThan: 8))
        #expect(log.records(containing: "fenced off").isEmpty)
        await expectStorageError(.sequenceNumberConditionNotMet, 412) {
            try await service.clearPages(
                self.blob, range: ByteRange(offset: 0, length: 512),
                conditions: BlobConditions(ifSequenceNumberLessThanOrEqual: 6))
        }
        let records = log.records(containing: "fenced off")
        #expect(records.count == 1)
        #expect(records.first?.level == .notice)
        #expect(records.first?.metadata["blob.name"] == "\(blob)")
        #expect(records.first?.metadata["blob.sequence_number_condition"] == "le 6")
    }

    @Test func pageBlobFileIsSparseAndClearPunchesHoles() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let service = try await openProcess()
        try await service.createContainer("disks")
        try await service.createPageBlob(blob, size: 1 << 30, sequenceNumber: 0, metadata: [:], conditions: .none)
        let file = try #require(try dataFiles().first)
        #expect(try SystemFile.openForReading(file).allocatedBytes() < 1 << 20)

        let data = randomBytes(4 << 20)
        for index in 0..<4 {
            try await service.putPages(
                blob, offset: UInt64(index) << 22, data: data, checksum: nil, conditions: .none)
        }
        #expect(try SystemFile.openForReading(file).allocatedBytes() >= 16 << 20)
        // A snapshot copies data regions only (or shares blocks), so holes stay holes.
        _ = try await service.snapshot(blob, metadata: nil, conditions: .none)
        let copy = try #require(try dataFiles().first { $0 != file })
        #expect(try SystemFile.openForReading(copy).allocatedBytes() < 17 << 20)

        try await service.clearPages(blob, range: ByteRange(offset: 0, length: 16 << 20), conditions: .none)
        #expect(try SystemFile.openForReading(file).allocatedBytes() < 1 << 20)
        #expect(
            try await service.getBlob(
                blob, range: ByteRange(offset: 0, length: 4 << 20), snapshot: nil, conditions: .none
            ).data
                == [UInt8](repeating: 0, count: 4 << 20))
    }

    @Test func twoProcessesNeverHoldTheLeaseTogether() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await openProcess()
        let second = try await openProcess()
        try await first.createContainer("disks")
        try await first.createPageBlob(blob, size: 1 << 20, sequenceNumber: 0, metadata: [:], conditions: .none)
        for round in 0..<50 {
            let outcomes = try await withThrowingTaskGroup(of: (LocalBlobService, String)?.self) { group in
                for service in [first, second] {
                    group.addTask {
                        let id = leaseID()
                        do {
                            _ = try await service.lease(blob, .acquire(.seconds(60), proposedID: id), conditions: .none)
                            return (service, id)
                        } catch let error as StorageError where error.code == .leaseAlreadyPresent {
                            return nil
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }.compactMap { $0 }
            }
            #expect(outcomes.count == 1, "round \(round): \(outcomes.count) winners")
            for (service, id) in outcomes { _ = try await service.lease(blob, .release(id: id), conditions: .none) }
        }
    }

    /// The worker's fencing: once another process has taken the lease and raised the sequence number,
    /// no write of the old holder lands, not even one that was in flight during the takeover.
    @Test func takeoverFencesTheOldHolderOut() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let old = try await openProcess()
        let new = try await openProcess()
        try await old.createContainer("disks")
        try await old.createPageBlob(blob, size: 1 << 20, sequenceNumber: 0, metadata: [:], conditions: .none)
        let oldID = leaseID()
        _ = try await old.lease(blob, .acquire(.seconds(60), proposedID: oldID), conditions: .none)
        try await old.setSequenceNumber(blob, .max(1), conditions: BlobConditions(leaseID: oldID))

        // The old holder writes page 0 as fast as it can until a write is refused.
        let blob = blob
        // (Bounded by a deadline, so that broken fencing fails the test instead of hanging it.)
        let writer = Task { () -> (Int, StorageError?) in
            var acknowledged = 0
            let fenced = BlobConditions(leaseID: oldID, ifSequenceNumberEqual: 1)
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                do {
                    try await old.putPages(
                        blob, offset: 0, data: [UInt8](repeating: 0xAA, count: 4096), checksum: nil,
                        conditions: fenced)
                    acknowledged += 1
                } catch let error as StorageError {
                    return (acknowledged, error)
                }
            }
            return (acknowledged, nil)
        }
        try await Task.sleep(for: .milliseconds(100))
        _ = try await new.lease(blob, .break(period: 0), conditions: .none)
        let newID = leaseID()
        _ = try await new.lease(blob, .acquire(.seconds(60), proposedID: newID), conditions: .none)
        try await new.setSequenceNumber(blob, .max(2), conditions: BlobConditions(leaseID: newID))
        try await new.putPages(
            blob, offset: 0, data: [UInt8](repeating: 0xBB, count: 4096), checksum: nil,
            conditions: BlobConditions(leaseID: newID, ifSequenceNumberEqual: 2))

        let (acknowledged, refusal) = try await writer.value
        #expect(acknowledged > 0)
        #expect(refusal?.status == 412)
        let page = try await new.getBlob(
            blob, range: ByteRange(offset: 0, length: 4096), snapshot: nil, conditions: .none
        ).data
        #expect(
            page.allSatisfy { $0 == 0xBB },
            "page 0 holds the old holder's bytes: a fenced write landed after the takeover")
    }

    @Test func everythingSurvivesReopening() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = randomBytes(8192)
        let id = leaseID()
        let snapshot: String
        do {
            let service = try await openProcess()
            try await service.createContainer("disks")
            try await service.createPageBlob(
                blob, size: 1 << 20, sequenceNumber: 3, metadata: ["k": "v"], conditions: .none)
            try await service.putPages(blob, offset: 8192, data: data, checksum: nil, conditions: .none)
            snapshot = try await service.snapshot(blob, metadata: nil, conditions: .none)
            try await service.clearPages(blob, range: ByteRange(offset: 8192, length: 4096), conditions: .none)
            _ = try await service.lease(blob, .acquire(.infinite, proposedID: id), conditions: .none)
        }
        let service = try await openProcess()
        let properties = try await service.blobProperties(blob, snapshot: nil, conditions: .none)
        #expect(properties.sequenceNumber == 3)
        #expect(properties.metadata == ["k": "v"])
        #expect(properties.lease.state == .leased)
        #expect(
            try await service.getBlob(
                blob, range: ByteRange(offset: 8192, length: 8192), snapshot: snapshot, conditions: .none
            ).data == data)
        let changes = try await service.pageRanges(
            blob, range: nil, snapshot: nil, previousSnapshot: snapshot, conditions: .none)
        #expect(changes == PageRangeList(pageRanges: [], clearRanges: [ByteRange(offset: 8192, length: 4096)]))
    }

    @Test func twoProcessesWritingAtOnceLoseNoWrite() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let processes = [try await openProcess(), try await openProcess()]
        try await processes[0].createContainer("disks")
        try await processes[0].createPageBlob(blob, size: 1 << 20, sequenceNumber: 0, metadata: [:], conditions: .none)
        // Each process writes its own pages (process 0 the even ones, 1 the odd ones), 8 at a time.
        let blob = blob
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (number, service) in processes.enumerated() {
                for lane in 0..<8 {
                    group.addTask {
                        for index in stride(from: lane * 2 + number, to: 1024, by: 16) {
                            try await service.putPages(
                                blob, offset: UInt64(index) * 1024,
                                data: [UInt8](repeating: UInt8(number + 1), count: 512),
                                checksum: nil, conditions: .none)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let ranges = try await processes[1].pageRanges(
            blob, range: nil, snapshot: nil, previousSnapshot: nil, conditions: .none)
        #expect(ranges.pageRanges == (0..<1024).map { ByteRange(offset: UInt64($0) * 1024, length: 512) })
        let content = try await processes[1].getBlob(blob, range: nil, snapshot: nil, conditions: .none).data
        let wrong = (0..<1024).filter { (index: Int) -> Bool in
            content[index * 1024] != UInt8(index % 2 + 1) || content[index * 1024 + 512] != 0
        }
        #expect(wrong.isEmpty, "pages with the wrong bytes: \(wrong.prefix(10))")
    }

    @Test func aReadTooLargeForMemoryIsRefused() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let service = try await openProcess()
        try await service.createContainer("disks")
        try await service.createPageBlob(blob, size: 2 << 40, sequenceNumber: 0, metadata: [:], conditions: .none)
        await expectStorageError(.outOfRangeInput, 400) {
            _ = try await service.getBlob(blob, range: nil, snapshot: nil, conditions: .none)
        }
        let tail = try await service.getBlob(
            blob, range: ByteRange(offset: (2 << 40) - 512, length: 4096), snapshot: nil, conditions: .none)
        #expect(tail.data == [UInt8](repeating: 0, count: 512))
    }

    /// Azure refuses a diff across a Put Blob that replaced the blob (409); the local store answers
    /// one that is never wrong: every page changed, so the new pages are written and the rest cleared.
    @Test func diffAcrossAReplacedBlobReportsEveryPage() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let service = try await openProcess()
        try await service.createContainer("disks")
        try await service.createPageBlob(blob, size: 64 << 10, sequenceNumber: 0, metadata: [:], conditions: .none)
        try await service.putPages(blob, offset: 0, data: randomBytes(8192), checksum: nil, conditions: .none)
        let snapshot = try await service.snapshot(blob, metadata: nil, conditions: .none)
        try await service.createPageBlob(blob, size: 32 << 10, sequenceNumber: 0, metadata: [:], conditions: .none)
        try await service.putPages(blob, offset: 4096, data: randomBytes(512), checksum: nil, conditions: .none)
        let changes = try await service.pageRanges(
            blob, range: nil, snapshot: nil, previousSnapshot: snapshot, conditions: .none)
        #expect(
            changes
                == PageRangeList(
                    pageRanges: [ByteRange(offset: 4096, length: 512)],
                    clearRanges: [
                        ByteRange(offset: 0, length: 4096), ByteRange(offset: 4608, length: (32 << 10) - 4608),
                    ]))
    }
}
