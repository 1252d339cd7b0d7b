import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// One backend of a storage service under test: the conformance suites run every test against each
/// backend of their service's list, so a new backend (Azure over HTTP) joins by adding one entry.
struct Backend<Service: Sendable>: Sendable, CustomTestStringConvertible {
    let name: String
    /// Makes a fresh service over a fresh, empty store; the fixture owns the store's files.
    let make: @Sendable () async throws -> Fixture<Service>

    var testDescription: String { name }
}

/// A service under test and the temporary directory its store lives in, removed with the fixture.
final class Fixture<Service: Sendable>: Sendable {
    let service: Service
    let directory: TemporaryDirectory
    /// The local store's clock, which `elapse` advances; nil over HTTP, where time passes for real.
    let clock: ManualWallClock?

    init(service: Service, directory: TemporaryDirectory, clock: ManualWallClock? = nil) {
        self.service = service
        self.directory = directory
        self.clock = clock
    }

    /// The service's time now: its manual clock's, or the real one.
    var now: Date { clock?.now ?? Date() }

    /// Lets `duration` pass for the service: at once on the local store's manual clock, in real time over
    /// HTTP (relay-devstore, an Azure account), where the same test proves the real clock.
    func elapse(_ duration: Duration) async throws {
        if let clock {
            clock.advance(by: duration)
        } else {
            try await Task.sleep(for: duration)
        }
    }
}

/// Expects `body` to fail with exactly Azure's `code` and `status`; returns the error for more checks.
@discardableResult
func expectStorageError(
    _ code: StorageError.Code, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> StorageError? {
    do {
        try await body()
        Issue.record("expected \(status) \(code.rawValue), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as StorageError {
        #expect(
            error.code == code && error.status == status, "expected \(status) \(code.rawValue), got \(error)",
            sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected StorageError \(status) \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
