import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// The Blob backends every Blob conformance test runs against; the Azure backend joins by adding
/// one entry.
enum BlobBackends {
    static let all: [Backend<any BlobService>] = [.local] + Backend<any BlobService>.azure
}

extension Backend where Service == any BlobService {
    static let local = Backend(name: "local") {
        let directory = try TemporaryDirectory()
        let clock = ManualWallClock()
        let service = try await LocalBlobService(store: LocalStore(path: directory.path, clock: clock))
        return Fixture(service: service, directory: directory, clock: clock)
    }
}

/// A fresh service with container `c1` and a unique blob address in it.
struct BlobTestbed {
    let fixture: Fixture<any BlobService>
    var blob: BlobAddress { BlobAddress(container: "ctr", name: "disks/a.vhd") }
    var service: any BlobService { fixture.service }

    init(_ backend: Backend<any BlobService>) async throws {
        fixture = try await backend.make()
        try await fixture.service.createContainer("ctr")
    }

    /// A page blob of `size` bytes at `blob`.
    @discardableResult
    func pageBlob(size: UInt64 = 1 << 20, sequenceNumber: Int64 = 0) async throws -> BlobWriteResult {
        try await service.createPageBlob(
            blob, size: size, sequenceNumber: sequenceNumber, metadata: [:], conditions: .none)
    }

    func write(_ byte: UInt8, at offset: UInt64, count: Int, conditions: BlobConditions = .none) async throws {
        try await service.putPages(
            blob, offset: offset, data: [UInt8](repeating: byte, count: count), checksum: nil, conditions: conditions)
    }

    func read(_ offset: UInt64, _ length: UInt64, snapshot: String? = nil) async throws -> [UInt8] {
        try await service.getBlob(
            blob, range: ByteRange(offset: offset, length: length), snapshot: snapshot, conditions: .none
        ).data
    }

    func ranges(_ range: ByteRange? = nil, snapshot: String? = nil, previous: String? = nil) async throws
        -> PageRangeList
    {
        try await service.pageRanges(
            blob, range: range, snapshot: snapshot, previousSnapshot: previous, conditions: .none)
    }
}

/// `[offset, offset + length)` for short test literals.
func r(_ offset: UInt64, _ length: UInt64) -> ByteRange { ByteRange(offset: offset, length: length) }

/// Random bytes (not all zero, not compressible) for data tests, the same for the same count and seed.
func randomBytes(_ count: Int, seed: UInt64 = 0x5EED) -> [UInt8] {
    var generator = SplitMix64(seed: seed &+ UInt64(count))
    return generator.bytes(count)
}

/// A fresh lease id (a GUID, as Azure requires).
func leaseID() -> String { UUID().uuidString.lowercased() }
