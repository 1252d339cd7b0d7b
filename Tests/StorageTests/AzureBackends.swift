import Foundation
import Synchronization
import TestSupport
import Testing

@testable import RelayShared

/// The Azure backend as the conformance suites see it: over real HTTP to a relay-devstore started for
/// each fixture (fresh store, free ports), and to the account in `RELAY_TEST_AZURE_CONNECTION_STRING`
/// when that is set.
enum AzureBackends {
    static let environmentVariable = "RELAY_TEST_AZURE_CONNECTION_STRING"
    static var accountConnectionString: String? {
        ProcessInfo.processInfo.environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var devStoreIsBuilt: Bool { DevStore.isBuilt }

    /// Starts relay-devstore on free ports over `directory` and returns its connection string.
    static func startDevStore(directory: String, arguments: [String] = []) async throws -> (
        DevStoreProcess, ConnectionString
    ) {
        let (process, text) = try await DevStore.start(directory: directory, arguments: arguments)
        return (process, try ConnectionString(text))
    }

    /// The Azure backends of this run for a service built by `build`: relay-devstore when built, a real
    /// account when configured (each absence is reported by a skipped test of `AzureAccountTests`).
    static func backends<Service>(
        _ build: @escaping @Sendable (ConnectionString, any HTTPTransport) throws -> Service
    ) -> [Backend<Service>] {
        let devstore = Backend<Service>(name: "azure→relay-devstore") {
            let directory = try TemporaryDirectory()
            let (process, connectionString) = try await startDevStore(directory: directory.path)
            let transport = ProcessBoundTransport(process: process, base: try CurlTransport())
            return Fixture(service: try build(connectionString, transport), directory: directory)
        }
        let account = Backend<Service>(name: "azure→$\(environmentVariable)") {
            let connectionString = try ConnectionString(accountConnectionString ?? "")
            return Fixture(
                service: try build(connectionString, try CurlTransport()), directory: try TemporaryDirectory())
        }
        return (devStoreIsBuilt ? [devstore] : []) + (accountConnectionString == nil ? [] : [account])
    }
}

/// Keeps the devstore process alive exactly as long as the service that talks to it.
struct ProcessBoundTransport: HTTPTransport {
    let process: DevStoreProcess
    let base: CurlTransport

    func send(_ request: HTTPRequest) async throws -> HTTPResponse { try await base.send(request) }
}

extension Backend where Service == any BlobService {
    static var azure: [Self] {
        AzureBackends.backends { try AzureBlobService(connectionString: $0, transport: $1) as any BlobService }
    }
}

extension Backend where Service == any QueueService {
    static var azure: [Self] {
        AzureBackends.backends { try AzureQueueService(connectionString: $0, transport: $1) as any QueueService }
    }
}

extension Backend where Service == any TableService {
    static var azure: [Self] {
        AzureBackends.backends { try AzureTableService(connectionString: $0, transport: $1) as any TableService }
    }
}

/// Makes the Azure runs visible: shown as skipped, by name, when they cannot happen.
struct AzureAccountTests {
    @Test(
        "conformance over HTTP against relay-devstore",
        .enabled(if: AzureBackends.devStoreIsBuilt, "relay-devstore is not built: the HTTP conformance run is skipped"))
    func devStoreIsStartable() async throws {
        let scratch = try TemporaryDirectory()
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let directory = scratch.path
        let (process, connectionString) = try await AzureBackends.startDevStore(directory: directory)
        let tables = try AzureTableService(
            connectionString: connectionString,
            transport: ProcessBoundTransport(process: process, base: CurlTransport()))
        try await tables.createTable("probe")
        await #expect { try await tables.createTable("probe") } throws: {
            ($0 as? StorageError)?.code == .tableAlreadyExists
        }
    }

    @Test(
        "conformance against a real Azure account or Azurite (RELAY_TEST_AZURE_CONNECTION_STRING)",
        .enabled(
            if: AzureBackends.accountConnectionString != nil,
            "RELAY_TEST_AZURE_CONNECTION_STRING is not set: the Azure account run is skipped"))
    func accountIsReachable() async throws {
        let connectionString = try ConnectionString(try #require(AzureBackends.accountConnectionString))
        let blobs = try AzureBlobService(connectionString: connectionString, transport: CurlTransport())
        let container = "relay-test-\(UUID().uuidString.prefix(8).lowercased())"
        try await blobs.createContainer(container)
        let blob = BlobAddress(container: container, name: "probe")
        try await blobs.putBlockBlob(blob, data: Array("probe".utf8), metadata: [:], conditions: .none)
        #expect(try await blobs.getBlob(blob, range: nil, snapshot: nil, conditions: .none).data == Array("probe".utf8))
        try await blobs.deleteBlob(blob, snapshot: nil, deleteSnapshots: nil, conditions: .none)
    }
}
