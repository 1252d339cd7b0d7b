import Foundation
import Testing

@testable import RelayShared

/// Containers, block blobs, properties, metadata, listing, deletion and the HTTP conditions, against
/// every Blob backend.
struct BlobConformanceTests {
    @Test(arguments: BlobBackends.all)
    func containers(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        await expectStorageError(.containerAlreadyExists, 409) { try await bed.service.createContainer("ctr") }
        for name in ["ab", "Upper", "a--b", "-ab", "ab-", String(repeating: "a", count: 64), "a_b"] {
            await expectStorageError(.invalidResourceName, 400) { try await bed.service.createContainer(name) }
        }
        let elsewhere = BlobAddress(container: "missing", name: "x")
        await expectStorageError(.containerNotFound, 404) {
            try await bed.service.putBlockBlob(elsewhere, data: [1], metadata: [:], conditions: .none)
        }
        await expectStorageError(.containerNotFound, 404) {
            _ = try await bed.service.listBlobs(container: "missing", prefix: "", marker: nil, maxResults: 10)
        }
    }

    @Test(arguments: BlobBackends.all)
    func blockBlobPutGetRangesAndProperties(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        let data = randomBytes(10_000)
        let written = try await bed.service.putBlockBlob(
            bed.blob, data: data, metadata: ["origin": "test"], conditions: .none)
        #expect(written.sequenceNumber == nil)

        let whole = try await bed.service.getBlob(bed.blob, range: nil, snapshot: nil, conditions: .none)
        #expect(whole.data == data)
        #expect(whole.properties.type == .blockBlob)
        #expect(whole.properties.size == 10_000)
        #expect(whole.properties.etag == written.etag)
        #expect(whole.properties.metadata == ["origin": "test"])
        #expect(whole.properties.lease.state == .available)

        // A range is clipped to the end; a start at or past the end is 416.
        #expect(try await bed.read(100, 50) == Array(data[100..<150]))
        #expect(try await bed.read(9_990, 1_000) == Array(data[9_990...]))
        await expectStorageError(.invalidRange, 416) { _ = try await bed.read(10_000, 1) }
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.getBlob(
                BlobAddress(container: "ctr", name: "none"), range: nil, snapshot: nil, conditions: .none)
        }

        let properties = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none)
        #expect(properties == whole.properties)

        // Put Blob replaces the content, the metadata and the ETag.
        let replaced = try await bed.service.putBlockBlob(bed.blob, data: [7, 8, 9], metadata: [:], conditions: .none)
        #expect(replaced.etag != written.etag)
        let after = try await bed.service.getBlob(bed.blob, range: nil, snapshot: nil, conditions: .none)
        #expect(after.data == [7, 8, 9])
        #expect(after.properties.metadata.isEmpty)
    }

    @Test(arguments: BlobBackends.all)
    func emptyBlockBlob(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.service.putBlockBlob(bed.blob, data: [], metadata: [:], conditions: .none)
        #expect(try await bed.service.getBlob(bed.blob, range: nil, snapshot: nil, conditions: .none).data.isEmpty)
        await expectStorageError(.invalidRange, 416) { _ = try await bed.read(0, 512) }
    }

    @Test(arguments: BlobBackends.all)
    func everyWriteChangesTheETag(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        var etags: Set<String> = []
        etags.insert(try await bed.pageBlob().etag)
        for index in 0..<10 {
            etags.insert(
                try await bed.service.putPages(
                    bed.blob, offset: 0, data: [UInt8](repeating: UInt8(index), count: 512),
                    checksum: nil, conditions: .none
                ).etag)
            etags.insert(try await bed.service.setMetadata(bed.blob, ["n": "\(index)"], conditions: .none).etag)
        }
        #expect(etags.count == 21)
    }

    @Test(arguments: BlobBackends.all)
    func ifMatchAndIfNoneMatch(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        // If-None-Match: * makes Put Blob create-only.
        let created = try await bed.service.putBlockBlob(
            bed.blob, data: [1], metadata: [:], conditions: BlobConditions(ifNoneMatch: "*"))
        await expectStorageError(.blobAlreadyExists, 409) {
            try await bed.service.putBlockBlob(
                bed.blob, data: [2], metadata: [:], conditions: BlobConditions(ifNoneMatch: "*"))
        }
        await expectStorageError(.blobAlreadyExists, 409) {
            try await bed.service.createPageBlob(
                bed.blob, size: 512, sequenceNumber: 0, metadata: [:], conditions: BlobConditions(ifNoneMatch: "*"))
        }
        // On other writes If-None-Match fails with 412.
        await expectStorageError(.conditionNotMet, 412) {
            try await bed.service.setMetadata(bed.blob, [:], conditions: BlobConditions(ifNoneMatch: created.etag))
        }
        // If-Match: the current ETag passes, another fails, and `*` needs the blob to exist.
        let stale = "\"0x1\""
        await expectStorageError(.conditionNotMet, 412) {
            try await bed.service.setMetadata(bed.blob, ["a": "b"], conditions: BlobConditions(ifMatch: stale))
        }
        let updated = try await bed.service.setMetadata(
            bed.blob, ["a": "b"], conditions: BlobConditions(ifMatch: created.etag))
        await expectStorageError(.conditionNotMet, 412) {
            try await bed.service.setMetadata(bed.blob, [:], conditions: BlobConditions(ifMatch: created.etag))
        }
        try await bed.service.setMetadata(bed.blob, ["c": "d"], conditions: BlobConditions(ifMatch: "*"))
        await expectStorageError(.conditionNotMet, 412) {
            try await bed.service.putBlockBlob(
                BlobAddress(container: "ctr", name: "new"), data: [1], metadata: [:],
                conditions: BlobConditions(ifMatch: "*"))
        }
        // Reads: If-Match fails with 412, If-None-Match with 304.
        await expectStorageError(.conditionNotMet, 412) {
            _ = try await bed.service.getBlob(
                bed.blob, range: nil, snapshot: nil, conditions: BlobConditions(ifMatch: updated.etag))
        }
        let current = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).etag
        await expectStorageError(.conditionNotMet, 304) {
            _ = try await bed.service.getBlob(
                bed.blob, range: nil, snapshot: nil, conditions: BlobConditions(ifNoneMatch: current))
        }
        await expectStorageError(.conditionNotMet, 304) {
            _ = try await bed.service.blobProperties(
                bed.blob, snapshot: nil, conditions: BlobConditions(ifNoneMatch: "*"))
        }
        #expect(
            try await bed.service.getBlob(
                bed.blob, range: nil, snapshot: nil, conditions: BlobConditions(ifMatch: current)
            ).data == [1])
        // Deletes honour If-Match too.
        await expectStorageError(.conditionNotMet, 412) {
            try await bed.service.deleteBlob(
                bed.blob, snapshot: nil, deleteSnapshots: nil, conditions: BlobConditions(ifMatch: stale))
        }
        try await bed.service.deleteBlob(
            bed.blob, snapshot: nil, deleteSnapshots: nil, conditions: BlobConditions(ifMatch: current))
    }

    @Test(arguments: BlobBackends.all)
    func metadataReplacesTheWholeSet(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.service.putBlockBlob(bed.blob, data: [1], metadata: ["a": "1", "b": "2"], conditions: .none)
        try await bed.service.setMetadata(bed.blob, ["c": "3"], conditions: .none)
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).metadata == ["c": "3"])
        try await bed.service.setMetadata(bed.blob, [:], conditions: .none)
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).metadata.isEmpty)
        for name in ["1abc", "a-b", ""] {
            await expectStorageError("InvalidMetadata", 400) {
                try await bed.service.setMetadata(bed.blob, [name: "x"], conditions: .none)
            }
        }
        await expectStorageError(.blobNotFound, 404) {
            try await bed.service.setMetadata(
                BlobAddress(container: "ctr", name: "none"), ["a": "b"], conditions: .none)
        }
    }

    @Test(arguments: BlobBackends.all)
    func listByPrefixInPages(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        let names = ["seg/003", "seg/001", "seg/002", "seg/005", "seg/004", "other/1", "se"]
        for name in names {
            try await bed.service.putBlockBlob(
                BlobAddress(container: "ctr", name: name), data: [1, 2], metadata: [:], conditions: .none)
        }
        var listed: [String] = []
        var marker: String?
        var pages = 0
        repeat {
            let page = try await bed.service.listBlobs(container: "ctr", prefix: "seg/", marker: marker, maxResults: 2)
            #expect(page.items.count <= 2)
            #expect(page.items.allSatisfy { $0.properties.size == 2 && $0.properties.type == .blockBlob })
            listed += page.items.map(\.name)
            marker = page.nextMarker
            pages += 1
        } while marker != nil && pages < 10
        #expect(listed == ["seg/001", "seg/002", "seg/003", "seg/004", "seg/005"])
        #expect(pages == 3)
        let all = try await bed.service.listBlobs(container: "ctr", prefix: "", marker: nil, maxResults: 5000)
        #expect(all.items.map(\.name) == names.sorted())
        #expect(all.nextMarker == nil)
        await expectStorageError(.outOfRangeQueryParameterValue, 400) {
            _ = try await bed.service.listBlobs(container: "ctr", prefix: "", marker: nil, maxResults: 0)
        }
    }

    @Test(arguments: BlobBackends.all)
    func deleteBlob(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.service.putBlockBlob(bed.blob, data: [1], metadata: [:], conditions: .none)
        try await bed.service.deleteBlob(bed.blob, snapshot: nil, deleteSnapshots: nil, conditions: .none)
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none)
        }
        await expectStorageError(.blobNotFound, 404) {
            try await bed.service.deleteBlob(bed.blob, snapshot: nil, deleteSnapshots: nil, conditions: .none)
        }
        #expect(
            try await bed.service.listBlobs(container: "ctr", prefix: "", marker: nil, maxResults: 10).items.isEmpty)
    }
}
