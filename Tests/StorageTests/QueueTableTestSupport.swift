import Foundation
import TestSupport
import Testing

@testable import RelayShared

extension Backend where Service == any QueueService {
    static let local = Backend(name: "local") {
        let directory = try TemporaryDirectory()
        let store = try LocalStore(path: directory.path)
        return Fixture(service: try await LocalQueueService(store: store) as any QueueService, directory: directory)
    }
}

extension Backend where Service == any TableService {
    static let local = Backend(name: "local") {
        let directory = try TemporaryDirectory()
        let store = try LocalStore(path: directory.path)
        return Fixture(service: try await LocalTableService(store: store) as any TableService, directory: directory)
    }
}

extension Backend {
    /// Runs `body` with a fresh service whose store lives (and is removed) exactly around the call.
    func withFreshService<T>(_ body: (Service) async throws -> T) async throws -> T {
        let fixture = try await make()
        defer { withExtendedLifetime(fixture) {} }
        return try await body(fixture.service)
    }
}
