import RelayShared

/// The three storage services, each on its own port.
public enum StorageKind: String, Sendable {
    case blob, queue, table

    /// The letter of this service in an account SAS's `ss`.
    var sasLetter: Character {
        switch self {
        case .blob: "b"
        case .queue: "q"
        case .table: "t"
        }
    }
}

/// One account of the server: its key and its services over its own local store.
public struct Account: Sendable {
    let name: String
    let key: [UInt8]
    let blob: any BlobService
    let queue: any QueueService
    let table: any TableService
    /// The same store for the operators' calls the replication protocols leave out (list and delete
    /// containers, queues and tables; peek and clear messages). Seeded faults apply to the protocols only.
    let local: LocalServices

    struct LocalServices: Sendable {
        let blob: LocalBlobService
        let queue: LocalQueueService
        let table: LocalTableService
    }
}

/// A recognised REST operation: what a SAS must allow for it, how much body it may carry, and the
/// code that serves it.
public struct Route: Sendable {
    /// Operation name for logs, e.g. `Put Page`.
    var name: String
    /// The SAS permission letter it needs (`r`ead, `w`rite, `d`elete, `l`ist, `a`dd, `c`reate,
    /// `u`pdate, `p`rocess).
    var permission: Character
    /// The account SAS resource type it touches (`s`ervice, `c`ontainer/queue/table, `o`bject).
    var resourceType: Character
    /// Bodies above this size are refused with `413 RequestBodyTooLarge` before being read whole.
    var bodyLimit: Int
    /// Whether a service SAS may authorize it. Azure grants creating, listing and deleting the account's
    /// containers, queues or tables, and clearing a queue, only to an account SAS (Shared Key aside).
    var allowsServiceSAS: Bool
    var run: @Sendable (StorageRequest, Account) async throws -> StorageResponse

    public init(
        name: String, permission: Character, resourceType: Character, bodyLimit: Int, allowsServiceSAS: Bool = true,
        run: @escaping @Sendable (StorageRequest, Account) async throws -> StorageResponse
    ) {
        self.name = name
        self.permission = permission
        self.resourceType = resourceType
        self.bodyLimit = bodyLimit
        self.allowsServiceSAS = allowsServiceSAS
        self.run = run
    }
}

/// An endpoint maps requests of its service to routes.
protocol StorageEndpoint: Sendable {
    var kind: StorageKind { get }
    /// The route for `request`, or a `StorageError` (400/405/501) if the service has no such operation.
    func route(_ request: StorageRequest) throws -> Route
}

extension StorageError {
    static func unsupported(_ what: String) -> StorageError {
        StorageError(.notImplemented, status: 501, "\(what) is not implemented by relay-devstore")
    }
}
