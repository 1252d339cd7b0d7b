import Foundation
import Testing

@testable import RelayShared

/// Lease Blob's state machine and the lease conditions of blob operations, against every Blob backend.
/// One test waits out a 60 s break period, one a 15 s lease: on the local store's manual clock at once,
/// over HTTP (relay-devstore) in real time.
struct BlobLeaseConformanceTests {
    @Test(arguments: BlobBackends.all)
    func acquireGuardsWritesUntilReleased(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob()
        let id = leaseID()
        let acquired = try await bed.service.lease(bed.blob, .acquire(.infinite, proposedID: id), conditions: .none)
        #expect(acquired.leaseID == id)
        let lease = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease
        #expect(lease == LeaseInfo(state: .leased, duration: .infinite))
        #expect(lease.isLocked)

        // Writes need the lease id; reads may give it, and then it must match.
        await expectStorageError(.leaseIdMissing, 412) { try await bed.write(1, at: 0, count: 512) }
        await expectStorageError(.leaseIdMismatchWithBlobOperation, 412) {
            try await bed.write(1, at: 0, count: 512, conditions: BlobConditions(leaseID: leaseID()))
        }
        await expectStorageError(.leaseIdMissing, 412) {
            try await bed.service.setMetadata(bed.blob, [:], conditions: .none)
        }
        await expectStorageError(.leaseIdMissing, 412) {
            try await bed.service.resizePageBlob(bed.blob, size: 512, conditions: .none)
        }
        await expectStorageError(.leaseIdMissing, 412) { try await bed.pageBlob() }
        await expectStorageError(.leaseIdMissing, 412) {
            try await bed.service.deleteBlob(bed.blob, snapshot: nil, deleteSnapshots: nil, conditions: .none)
        }
        await expectStorageError(.leaseIdMismatchWithBlobOperation, 412) {
            _ = try await bed.service.blobProperties(
                bed.blob, snapshot: nil, conditions: BlobConditions(leaseID: leaseID()))
        }
        let held = BlobConditions(leaseID: id)
        try await bed.write(1, at: 0, count: 512, conditions: held)
        _ = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none)
        _ = try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: held)
        // Put Blob over a leased blob keeps the lease.
        try await bed.service.createPageBlob(
            bed.blob, size: 1 << 20, sequenceNumber: 0, metadata: [:], conditions: held)
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease.state == .leased)

        // Another id cannot acquire; the holder can again (a retried acquire).
        await expectStorageError(.leaseAlreadyPresent, 409) {
            _ = try await bed.service.lease(bed.blob, .acquire(.infinite, proposedID: leaseID()), conditions: .none)
        }
        #expect(
            try await bed.service.lease(bed.blob, .acquire(.infinite, proposedID: id), conditions: .none).leaseID == id)
        await expectStorageError(.leaseIdMismatchWithLeaseOperation, 409) {
            _ = try await bed.service.lease(bed.blob, .renew(id: leaseID()), conditions: .none)
        }
        await expectStorageError(.leaseIdMismatchWithLeaseOperation, 409) {
            _ = try await bed.service.lease(bed.blob, .release(id: leaseID()), conditions: .none)
        }
        #expect(try await bed.service.lease(bed.blob, .renew(id: id), conditions: .none).leaseID == id)

        // Release: the blob is writable without an id, and an id is now an error.
        let released = try await bed.service.lease(bed.blob, .release(id: id), conditions: .none)
        #expect(released.leaseID == nil)
        #expect(
            try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease.state == .available)
        try await bed.write(2, at: 0, count: 512)
        await expectStorageError(.leaseNotPresentWithBlobOperation, 412) {
            try await bed.write(1, at: 0, count: 512, conditions: held)
        }
        for action: LeaseAction in [
            .renew(id: id), .release(id: id), .change(id: id, proposedID: leaseID()), .break(period: nil),
        ] {
            await expectStorageError(.leaseNotPresentWithLeaseOperation, 409) {
                _ = try await bed.service.lease(bed.blob, action, conditions: .none)
            }
        }
    }

    @Test(arguments: BlobBackends.all)
    func changeMovesTheLeaseToTheNewID(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob()
        let old = leaseID()
        let new = leaseID()
        _ = try await bed.service.lease(bed.blob, .acquire(.seconds(60), proposedID: old), conditions: .none)
        #expect(
            try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease.duration == .fixed)
        #expect(
            try await bed.service.lease(bed.blob, .change(id: old, proposedID: new), conditions: .none).leaseID == new)
        // A retried change (old id, same proposed id) succeeds; any other id does not.
        #expect(
            try await bed.service.lease(bed.blob, .change(id: old, proposedID: new), conditions: .none).leaseID == new)
        await expectStorageError(.leaseIdMismatchWithLeaseOperation, 409) {
            _ = try await bed.service.lease(bed.blob, .change(id: leaseID(), proposedID: leaseID()), conditions: .none)
        }
        await expectStorageError(.leaseIdMismatchWithBlobOperation, 412) {
            try await bed.write(1, at: 0, count: 512, conditions: BlobConditions(leaseID: old))
        }
        try await bed.write(1, at: 0, count: 512, conditions: BlobConditions(leaseID: new))
        _ = try await bed.service.lease(bed.blob, .release(id: new), conditions: .none)
    }

    @Test(arguments: BlobBackends.all)
    func breakingThenBroken(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob()
        let id = leaseID()
        _ = try await bed.service.lease(bed.blob, .acquire(.infinite, proposedID: id), conditions: .none)
        // A period long enough that the checks below run while it lasts over HTTP, even on a loaded machine
        // (28 s seen): Azure's longest. The local store's manual clock stands still meanwhile.
        let period = 60
        let broken = try await bed.service.lease(bed.blob, .break(period: period), conditions: .none)
        let breakStart = ContinuousClock.now
        #expect(broken.leaseTime == period)
        #expect(
            try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease.state == .breaking)

        // While breaking: the lease still guards writes, and cannot be acquired, changed or renewed.
        await expectStorageError(.leaseIdMissing, 412) { try await bed.write(1, at: 0, count: 512) }
        try await bed.write(1, at: 0, count: 512, conditions: BlobConditions(leaseID: id))
        await expectStorageError(.leaseIsBreakingAndCannotBeAcquired, 409) {
            _ = try await bed.service.lease(bed.blob, .acquire(.infinite, proposedID: leaseID()), conditions: .none)
        }
        await expectStorageError(.leaseIsBreakingAndCannotBeChanged, 409) {
            _ = try await bed.service.lease(bed.blob, .change(id: id, proposedID: leaseID()), conditions: .none)
        }
        await expectStorageError(.leaseIsBrokenAndCannotBeRenewed, 409) {
            _ = try await bed.service.lease(bed.blob, .renew(id: id), conditions: .none)
        }

        try #require(
            ContinuousClock.now - breakStart < .seconds(period), "the checks took longer than the break period")
        try await bed.fixture.elapse(.seconds(period) + .milliseconds(500))
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease.state == .broken)
        await expectStorageError(.leaseIsBrokenAndCannotBeRenewed, 409) {
            _ = try await bed.service.lease(bed.blob, .renew(id: id), conditions: .none)
        }
        try await bed.write(2, at: 0, count: 512)
        let next = leaseID()
        #expect(
            try await bed.service.lease(bed.blob, .acquire(.infinite, proposedID: next), conditions: .none).leaseID
                == next)

        // With no period, an infinite lease breaks at once.
        let immediate = try await bed.service.lease(bed.blob, .break(period: nil), conditions: .none)
        #expect(immediate.leaseTime == 0)
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease.state == .broken)
    }

    @Test(arguments: BlobBackends.all)
    func fixedLeaseExpires(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob()
        let id = leaseID()
        let acquired = ContinuousClock.now
        _ = try await bed.service.lease(bed.blob, .acquire(.seconds(15), proposedID: id), conditions: .none)
        // A fixed lease breaks when it runs out, unless the period asked is shorter: the break time is
        // what is left of the 15 s, less the whole seconds a loaded machine spent between the two calls.
        let breakTime = try #require(
            try await bed.service.lease(bed.blob, .break(period: 60), conditions: .none).leaseTime)
        let elapsed = Int((ContinuousClock.now - acquired).components.seconds)
        #expect((14 - elapsed...15).contains(breakTime), "break time \(breakTime) s, \(elapsed) s after the acquire")
        let other = BlobAddress(container: "ctr", name: "other")
        try await bed.service.createPageBlob(other, size: 512, sequenceNumber: 0, metadata: [:], conditions: .none)
        _ = try await bed.service.lease(other, .acquire(.seconds(15), proposedID: id), conditions: .none)

        try await bed.fixture.elapse(.milliseconds(15_500))
        #expect(try await bed.service.blobProperties(bed.blob, snapshot: nil, conditions: .none).lease.state == .broken)
        #expect(try await bed.service.blobProperties(other, snapshot: nil, conditions: .none).lease.state == .expired)
        // Expired: writable without an id; an id is an error; the holder may renew it.
        try await bed.service.putPages(
            other, offset: 0, data: [UInt8](repeating: 1, count: 512), checksum: nil, conditions: .none)
        await expectStorageError(.leaseNotPresentWithBlobOperation, 412) {
            try await bed.service.putPages(
                other, offset: 0, data: [UInt8](repeating: 1, count: 512), checksum: nil,
                conditions: BlobConditions(leaseID: id))
        }
        #expect(try await bed.service.lease(other, .renew(id: id), conditions: .none).leaseID == id)
        #expect(try await bed.service.blobProperties(other, snapshot: nil, conditions: .none).lease.state == .leased)
        // An expired lease may be taken by anyone.
        _ = try await bed.service.lease(bed.blob, .acquire(.seconds(15), proposedID: leaseID()), conditions: .none)
    }

    @Test(arguments: BlobBackends.all)
    func invalidLeaseRequests(_ backend: Backend<any BlobService>) async throws {
        let bed = try await BlobTestbed(backend)
        try await bed.pageBlob()
        for seconds in [14, 61, 0] {
            await expectStorageError(.invalidHeaderValue, 400) {
                _ = try await bed.service.lease(
                    bed.blob, .acquire(.seconds(seconds), proposedID: nil), conditions: .none)
            }
        }
        await expectStorageError(.invalidHeaderValue, 400) {
            _ = try await bed.service.lease(bed.blob, .break(period: 61), conditions: .none)
        }
        await expectStorageError(.blobNotFound, 404) {
            _ = try await bed.service.lease(
                BlobAddress(container: "ctr", name: "none"), .acquire(.infinite, proposedID: nil), conditions: .none)
        }
        // Without a proposed id the service makes one up.
        let made = try await bed.service.lease(bed.blob, .acquire(.infinite, proposedID: nil), conditions: .none)
        let id = try #require(made.leaseID)
        #expect(UUID(uuidString: id) != nil)
        // Lease operations honour If-Match.
        await expectStorageError(.conditionNotMet, 412) {
            _ = try await bed.service.lease(bed.blob, .release(id: id), conditions: BlobConditions(ifMatch: "\"0x1\""))
        }
        _ = try await bed.service.lease(bed.blob, .release(id: id), conditions: BlobConditions(ifMatch: made.etag))
    }
}
