import Foundation
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

/// A service under test and the temporary directory its store lives in, removed on deinit.
final class Fixture<Service: Sendable>: Sendable {
    let service: Service
    let directory: String

    init(service: Service, directory: String) {
        self.service = service
        self.directory = directory
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

/// A fresh temporary directory path (created).
func makeTemporaryDirectory(_ label: String) throws -> String {
    let path = NSTemporaryDirectory() + "relay-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
