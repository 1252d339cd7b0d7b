import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Azure holds a deleted container's name for at least 30 seconds (Delete Container's remarks): Create
/// Container answers `409 ContainerBeingDeleted` meanwhile, and creates it once the hold is over.
struct DeletedContainerHoldTests {
    @Test func aDeletedContainersNameIsHeldThenFree() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualWallClock()
        let service = try await LocalBlobService(store: LocalStore(path: directory.path, clock: clock))
        #expect(service.deletedNameHold == LocalBlobService.azureDeletedNameHold)
        try await service.createContainer("vhds")
        try await service.deleteContainer("vhds")
        for wait in [0, 29] {
            clock.advance(by: .seconds(wait))
            let error = await #expect(throws: StorageError.self) { try await service.createContainer("vhds") }
            #expect(error?.status == 409 && error?.code == .containerBeingDeleted)
        }
        // Other names are free, and the deleted container is gone, not "being deleted", for every other call.
        try await service.createContainer("other")
        let listing = await #expect(throws: StorageError.self) {
            try await service.listBlobs(container: "vhds", prefix: "", marker: nil, maxResults: 1)
        }
        #expect(listing?.code == .containerNotFound)
        clock.advance(by: .seconds(1))
        try await service.createContainer("vhds")
        #expect(try await service.listBlobs(container: "vhds", prefix: "", marker: nil, maxResults: 1).items.isEmpty)
    }
}
