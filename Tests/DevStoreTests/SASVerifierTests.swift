import Foundation
import RelayDevStoreKit
import RelayShared
import Testing

/// SAS tokens made by the official Python SDKs (azure-storage-blob 12.31.1, azure-storage-queue
/// 12.18.1, azure-data-tables 12.7.0) with the development key, valid 2030-01-01 to 2030-01-02: the
/// verifier accepts each for its own resource and permission, and refuses expired, early, tampered,
/// misdirected and under-privileged uses.
struct SASVerifierTests {
    static let account = ConnectionString.developmentAccountName
    static let key = [UInt8](Data(base64Encoded: ConnectionString.developmentAccountKey)!)
    static let during = AzureDate.parseISO8601("2030-01-01T12:00:00Z")!

    static let accountSAS =
        "st=2030-01-01T00%3A00%3A00Z&se=2030-01-02T00%3A00%3A00Z&sp=rw&sv=2026-10-06&ss=b&srt=co&sig=u2luvfGCfLdMGD5JIFqEfRe6hCAlT/L1yNCCAybfGtU%3D"
    static let blobSAS =
        "st=2030-01-01T00%3A00%3A00Z&se=2030-01-02T00%3A00%3A00Z&sp=rw&sv=2026-10-06&sr=b&sig=yODUe3YGMS6rmTluajLahMZLDWjhQQ%2B0K8KLUG3E0WI%3D"
    static let queueSAS =
        "st=2030-01-01T00%3A00%3A00Z&se=2030-01-02T00%3A00%3A00Z&sp=ap&sv=2026-10-06&sig=W7%2BIN4vwpq9B0eQG/UabaORELs0M47wVq3c7dkbY7j8%3D"
    static let tableSAS =
        "st=2030-01-01T00%3A00%3A00Z&se=2030-01-02T00%3A00%3A00Z&sp=ra&sv=2019-02-02&tn=Control&sig=OYG50hixe1qp/0wSkXrZZb/H0sh5xzuVpDYFZzP3nvI%3D"

    static func request(_ method: String, _ path: String, _ sas: String) -> StorageRequest {
        StorageRequest(method: method, target: "/\(account)\(path)?\(sas)", headers: [])
    }

    static func route(_ permission: Character, _ resourceType: Character = "o") -> Route {
        Route(name: "test", permission: permission, resourceType: resourceType, bodyLimit: 0) { _, _ in
            StorageResponse(status: 200)
        }
    }

    static func verify(_ request: StorageRequest, _ kind: StorageKind, _ route: Route, at now: Date = during) throws {
        try SASVerifier(account: account, key: key).verify(request, kind: kind, route: route, now: now)
    }

    static func code(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as StorageError {
            #expect(error.status == 403)
            return error.code.rawValue
        } catch {
            return "\(error)"
        }
    }

    @Test func acceptsSDKTokens() throws {
        try Self.verify(Self.request("PUT", "/vhds/any.vhd", Self.accountSAS), .blob, Self.route("w"))
        try Self.verify(Self.request("GET", "/vhds", Self.accountSAS), .blob, Self.route("r", "c"))
        try Self.verify(Self.request("PUT", "/vhds/dir/disk.vhd", Self.blobSAS), .blob, Self.route("w"))
        try Self.verify(Self.request("POST", "/jobs/messages", Self.queueSAS), .queue, Self.route("a"))
        try Self.verify(
            Self.request("GET", "/Control(PartitionKey='p',RowKey='r')", Self.tableSAS), .table, Self.route("r"))
    }

    @Test func refusesMisuse() {
        // Outside its validity.
        #expect(
            Self.code {
                try Self.verify(
                    Self.request("GET", "/vhds/a", Self.accountSAS), .blob, Self.route("r"),
                    at: AzureDate.parseISO8601("2030-01-02T00:00:01Z")!)
            } == "AuthenticationFailed")
        #expect(
            Self.code {
                try Self.verify(
                    Self.request("GET", "/vhds/a", Self.accountSAS), .blob, Self.route("r"),
                    at: AzureDate.parseISO8601("2029-12-31T12:00:00Z")!)
            } == "AuthenticationFailed")
        // Tampered: permissions widened, expiry extended.
        let widened = Self.accountSAS.replacingOccurrences(of: "sp=rw", with: "sp=rwd")
        #expect(
            Self.code { try Self.verify(Self.request("DELETE", "/vhds/a", widened), .blob, Self.route("d")) }
                == "AuthenticationFailed")
        let extended = Self.blobSAS.replacingOccurrences(of: "se=2030-01-02", with: "se=2031-01-02")
        #expect(
            Self.code { try Self.verify(Self.request("PUT", "/vhds/dir/disk.vhd", extended), .blob, Self.route("w")) }
                == "AuthenticationFailed")
        // Another blob, queue or table than the one signed.
        #expect(
            Self.code { try Self.verify(Self.request("PUT", "/vhds/other.vhd", Self.blobSAS), .blob, Self.route("w")) }
                == "AuthenticationFailed")
        #expect(
            Self.code {
                try Self.verify(Self.request("POST", "/other/messages", Self.queueSAS), .queue, Self.route("a"))
            } == "AuthenticationFailed")
        #expect(
            Self.code { try Self.verify(Self.request("GET", "/Other()", Self.tableSAS), .table, Self.route("r")) }
                == "AuthorizationResourceTypeMismatch")
        // Valid signature, missing permission, service or resource type.
        #expect(
            Self.code { try Self.verify(Self.request("DELETE", "/vhds/a", Self.accountSAS), .blob, Self.route("d")) }
                == "AuthorizationPermissionMismatch")
        #expect(
            Self.code { try Self.verify(Self.request("PUT", "/jobs", Self.accountSAS), .queue, Self.route("w", "c")) }
                == "AuthorizationServiceMismatch")
        #expect(
            Self.code { try Self.verify(Self.request("GET", "", Self.accountSAS), .blob, Self.route("r", "s")) }
                == "AuthorizationResourceTypeMismatch")
        #expect(
            Self.code { try Self.verify(Self.request("GET", "/jobs/messages", Self.queueSAS), .queue, Self.route("r")) }
                == "AuthorizationPermissionMismatch")
        // A token signed with another key.
        #expect(
            Self.code {
                try SASVerifier(account: Self.account, key: Array(repeating: 9, count: 64)).verify(
                    Self.request("GET", "/vhds/a", Self.accountSAS), kind: .blob, route: Self.route("r"),
                    now: Self.during)
            } == "AuthenticationFailed")
    }
}
