import Foundation
import Testing

@testable import RelayShared

/// Page blobs: create, Put Page (update and clear), page ranges, resize and sequence numbers, against
/// every Blob backend.
struct BlobPageConformanceTests {
    @Test(arguments: BlobBackends.all)
    func newPageBlobReadsAsZerosWithNoRanges(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        let created = try await bed.pageBlob(size: 1 << 20, sequenceNumber: 7)
        #expect(created.sequenceNumber == 7)
        let properties = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none)
        #expect(properties.type == .pageBlob)
        #expect(properties.size == 1 << 20)
        #expect(properties.sequenceNumber == 7)
        #expect(try await bed.read(4096, 8192) == [UInt8](repeating: 0, count: 8192))
        #expect(try await bed.ranges() == PageRangeList(pageRanges: []))
        for size: UInt64 in [1000, 513] {
            await expectStorageError(.invalidHeaderValue, 400) {
                try await bed.service.createPageBlob(
                    BlobAddress(container: "ctr", name: "bad"), size: size, sequenceNumber: 0,
                    metadata: [:], conditions: .none)
            }
        }
    }

    @Test(arguments: BlobBackends.all)
    func pageRangesAfterWritesClearsAndZeroWrites(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(size: 1 << 20)
        let data = randomBytes(1024)
        try await bed.service.putPages(
            bed.blob, offset: 0, data: Array(data[..<512]), checksum: nil, conditions: .none)
        try await bed.service.putPages(
            bed.blob, offset: 512, data: Array(data[512...]), checksum: nil, conditions: .none)
        // Written zeros are written pages.
        try await bed.write(0, at: 8192, count: 4096)
        try await bed.write(9, at: 65536, count: 512)
        #expect(try await bed.read(0, 1024) == data)
        #expect(try await bed.ranges().pageRanges == [r(0, 1024), r(8192, 4096), r(65536, 512)])

        // Clearing splits a range, removes another; cleared pages read as zeros.
        try await bed.service.clearPages(bed.blob, range: r(512, 512), conditions: .none)
        try await bed.service.clearPages(bed.blob, range: r(65536, 512), conditions: .none)
        try await bed.service.clearPages(bed.blob, range: r(9216, 1024), conditions: .none)
        #expect(try await bed.ranges().pageRanges == [r(0, 512), r(8192, 1024), r(10240, 2048)])
        #expect(try await bed.read(512, 512) == [UInt8](repeating: 0, count: 512))
        #expect(try await bed.read(65536, 512) == [UInt8](repeating: 0, count: 512))
        #expect(try await bed.read(0, 512) == Array(data[..<512]))

        // Rewriting the gap merges the ranges again; a range query clips to the range asked.
        try await bed.write(5, at: 9216, count: 1024)
        #expect(try await bed.ranges().pageRanges == [r(0, 512), r(8192, 4096)])
        #expect(try await bed.ranges(r(9216, 512)).pageRanges == [r(9216, 512)])
        #expect(try await bed.ranges(r(1024, 4096)).pageRanges == [])
    }

    @Test(arguments: BlobBackends.all)
    func misalignedAndOversizedPagesAreRejected(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(size: 8 << 20)
        await expectStorageError(.invalidPageRange, 416) { try await bed.write(1, at: 100, count: 512) }
        await expectStorageError(.invalidPageRange, 416) { try await bed.write(1, at: 0, count: 500) }
        await expectStorageError(.invalidPageRange, 416) { try await bed.write(1, at: 0, count: 0) }
        await expectStorageError(.invalidPageRange, 416) {
            try await bed.service.clearPages(bed.blob, range: r(0, 100), conditions: .none)
        }
        await expectStorageError(.invalidPageRange, 416) {
            try await bed.service.clearPages(bed.blob, range: r(256, 512), conditions: .none)
        }
        // 4 MiB is the largest Put Page; one page more is 413.
        await expectStorageError(.requestBodyTooLarge, 413) { try await bed.write(1, at: 0, count: (4 << 20) + 512) }
        let fourMiB = randomBytes(4 << 20)
        try await bed.service.putPages(bed.blob, offset: 4 << 20, data: fourMiB, checksum: nil, conditions: .none)
        #expect(try await bed.read(4 << 20, 4 << 20) == fourMiB)
        // Pages past the end of the blob.
        await expectStorageError(.invalidPageRange, 416) { try await bed.write(1, at: (8 << 20) - 512, count: 1024) }
        await expectStorageError(.invalidPageRange, 416) {
            try await bed.service.clearPages(bed.blob, range: r(8 << 20, 512), conditions: .none)
        }
        #expect(try await bed.ranges().pageRanges == [r(4 << 20, 4 << 20)])
    }

    @Test(arguments: BlobBackends.all)
    func pageOperationsNeedAPageBlob(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.service.putBlockBlob(
            bed.blob, data: [UInt8](repeating: 1, count: 1024), metadata: [:], conditions: .none)
        await expectStorageError(.invalidBlobType, 409) { try await bed.write(1, at: 0, count: 512) }
        await expectStorageError(.invalidBlobType, 409) {
            try await bed.service.clearPages(bed.blob, range: r(0, 512), conditions: .none)
        }
        await expectStorageError(.invalidBlobType, 409) { _ = try await bed.ranges() }
        await expectStorageError(.invalidBlobType, 409) {
            try await bed.service.resizePageBlob(bed.blob, size: 512, conditions: .none)
        }
        await expectStorageError(.invalidBlobType, 409) {
            try await bed.service.setSequenceNumber(bed.blob, .increment, conditions: .none)
        }
        await expectStorageError(.blobNotFound, 404) {
            try await bed.service.putPages(
                BlobAddress(container: "ctr", name: "none"), offset: 0, data: [UInt8](repeating: 1, count: 512),
                checksum: nil, conditions: .none)
        }
    }

    @Test(arguments: BlobBackends.all)
    func transactionalChecksumsAreChecked(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob()
        let data = randomBytes(4096)
        try await bed.service.putPages(
            bed.blob, offset: 0, data: data, checksum: .md5(MD5.digest(data)), conditions: .none)
        try await bed.service.putPages(
            bed.blob, offset: 8192, data: data, checksum: .crc64(CRC64.checksum(data)), conditions: .none)
        var wrong = MD5.digest(data)
        wrong[0] ^= 1
        await expectStorageError(.md5Mismatch, 400) {
            try await bed.service.putPages(bed.blob, offset: 4096, data: data, checksum: .md5(wrong), conditions: .none)
        }
        await expectStorageError(.crc64Mismatch, 400) {
            try await bed.service.putPages(
                bed.blob, offset: 4096, data: data, checksum: .crc64(CRC64.checksum(data) ^ 1), conditions: .none)
        }
        #expect(try await bed.ranges().pageRanges == [r(0, 4096), r(8192, 4096)])
    }

    @Test(arguments: BlobBackends.all)
    func sequenceNumbersAndTheirConditions(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(sequenceNumber: 5)
        #expect(try await bed.service.setSequenceNumber(bed.blob, .max(3), conditions: .none).sequenceNumber == 5)
        #expect(try await bed.service.setSequenceNumber(bed.blob, .max(9), conditions: .none).sequenceNumber == 9)
        #expect(try await bed.service.setSequenceNumber(bed.blob, .update(2), conditions: .none).sequenceNumber == 2)
        #expect(try await bed.service.setSequenceNumber(bed.blob, .increment, conditions: .none).sequenceNumber == 3)
        await expectStorageError(.invalidHeaderValue, 400) {
            try await bed.service.setSequenceNumber(bed.blob, .update(-1), conditions: .none)
        }

        // Put Page proceeds iff seq <= le, seq < lt, seq == eq; it never changes the sequence number.
        let fails: [BlobConditions] = [
            BlobConditions(ifSequenceNumberLessThanOrEqual: 2), BlobConditions(ifSequenceNumberLessThan: 3),
            BlobConditions(ifSequenceNumberEqual: 4),
        ]
        for conditions in fails {
            await expectStorageError(.sequenceNumberConditionNotMet, 412) {
                try await bed.write(1, at: 0, count: 512, conditions: conditions)
            }
            await expectStorageError(.sequenceNumberConditionNotMet, 412) {
                try await bed.service.clearPages(bed.blob, range: r(0, 512), conditions: conditions)
            }
        }
        #expect(try await bed.ranges().pageRanges.isEmpty)
        let passes: [BlobConditions] = [
            BlobConditions(ifSequenceNumberLessThanOrEqual: 3), BlobConditions(ifSequenceNumberLessThan: 4),
            BlobConditions(ifSequenceNumberEqual: 3),
        ]
        for conditions in passes {
            let result = try await bed.service.putPages(
                bed.blob, offset: 0, data: [UInt8](repeating: 1, count: 512), checksum: nil,
                conditions: conditions)
            #expect(result.sequenceNumber == 3)
        }
        try await bed.service.clearPages(
            bed.blob, range: r(0, 512), conditions: BlobConditions(ifSequenceNumberEqual: 3))
    }

    @Test(arguments: BlobBackends.all)
    func resizeShrinkingDropsRangesAndGrowingAddsClearPages(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(size: 64 << 10)
        try await bed.write(1, at: 0, count: 64 << 10)
        let shrunk = try await bed.service.resizePageBlob(bed.blob, size: 16 << 10, conditions: .none)
        #expect(shrunk.sequenceNumber == 0)
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).size == 16 << 10)
        #expect(try await bed.ranges().pageRanges == [r(0, 16 << 10)])
        await expectStorageError(.invalidPageRange, 416) { try await bed.write(1, at: 16 << 10, count: 512) }

        try await bed.service.resizePageBlob(bed.blob, size: 128 << 10, conditions: .none)
        #expect(try await bed.ranges().pageRanges == [r(0, 16 << 10)])
        #expect(try await bed.read(16 << 10, 48 << 10) == [UInt8](repeating: 0, count: 48 << 10))
        #expect(try await bed.read(0, 16 << 10) == [UInt8](repeating: 1, count: 16 << 10))
        await expectStorageError(.invalidHeaderValue, 400) {
            try await bed.service.resizePageBlob(bed.blob, size: 1000, conditions: .none)
        }
    }

    @Test(arguments: BlobBackends.all)
    func pageBlobCreateResetsContent(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(size: 8192)
        try await bed.write(3, at: 0, count: 8192)
        try await bed.pageBlob(size: 4096, sequenceNumber: 1)
        #expect(try await bed.ranges().pageRanges.isEmpty)
        #expect(try await bed.read(0, 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).size == 4096)
    }

    @Test(arguments: BlobBackends.all)
    func concurrentWritersAndManyRanges(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob(size: 1 << 20)
        // 200 writes in parallel to every other page: 200 separate ranges, each with its own bytes.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { try await bed.write(UInt8(index % 251 + 1), at: UInt64(index) * 1024, count: 512) }
            }
            try await group.waitForAll()
        }
        let ranges = try await bed.ranges().pageRanges
        #expect(ranges == (0..<200).map { r(UInt64($0) * 1024, 512) })
        let content = try await bed.read(0, 200 * 1024)
        for index in 0..<200 {
            let page = content[index * 1024..<index * 1024 + 1024]
            #expect(
                page.prefix(512).allSatisfy { $0 == UInt8(index % 251 + 1) } && page.suffix(512).allSatisfy { $0 == 0 })
        }
        // Filling the gaps merges everything into one range; one clear removes it all.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { try await bed.write(0xEE, at: UInt64(index) * 1024 + 512, count: 512) }
            }
            try await group.waitForAll()
        }
        #expect(try await bed.ranges().pageRanges == [r(0, 200 * 1024)])
        try await bed.service.clearPages(bed.blob, range: r(0, 1 << 20), conditions: .none)
        #expect(try await bed.ranges().pageRanges.isEmpty)
    }
}
