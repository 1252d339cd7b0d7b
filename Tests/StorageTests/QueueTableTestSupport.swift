import Foundation
import TestSupport
import Testing

@testable import RelayShared

extension Backend where Service == any QueueService {
    static let local = Backend(name: "local") {
        let directory = try TemporaryDirectory()
        let clock = ManualWallClock()
        let store = try LocalStore(path: directory.path, clock: clock)
        return Fixture(
            service: try await LocalQueueService(store: store) as any QueueService, directory: directory, clock: clock)
    }
}

extension Backend where Service == any TableService {
    static let local = Backend(name: "local") {
        let directory = try TemporaryDirectory()
        let clock = ManualWallClock()
        let store = try LocalStore(path: directory.path, clock: clock)
        return Fixture(
            service: try await LocalTableService(store: store) as any TableService, directory: directory, clock: clock)
    }
}

extension Backend {
    /// Runs `body` with a fresh service whose store lives (and is removed) exactly around the call.
    func withFreshService<T>(_ body: (Service) async throws -> T) async throws -> T {
        try await withFreshFixture { try await body($0.service) }
    }

    /// Runs `body` with a fresh fixture (its service, and `elapse` to let time pass for it).
    func withFreshFixture<T>(_ body: (Fixture<Service>) async throws -> T) async throws -> T {
        let fixture = try await make()
        defer { withExtendedLifetime(fixture) {} }
        return try await body(fixture)
    }
}
