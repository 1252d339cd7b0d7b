import Foundation
import Logging

/// The local store (`file:PATH`): one directory that several processes share — page and block blobs
/// as files under `blobs/`, their properties, queues and tables in `store.db` (SQLite, WAL).
///
/// The services (`LocalBlobService`, `LocalQueueService`, `LocalTableService`) are views over one
/// store; all their blocking work runs on the store's own threads, never on Swift's cooperative pool.
public final class LocalStore: Sendable {
    public let root: String
    public var blobDirectory: String { root + "/blobs" }
    public var databasePath: String { root + "/store.db" }
    /// The services' log: page writes fenced off by sequence numbers.
    public let logger: Logger
    /// The time leases, queue visibility and expiry, blob times and table versions are kept by.
    public let clock: any WallClock
    private let pool: BlockingPool<SQLiteDatabase>

    /// Opens (creating if needed) the store at `path`. `threads` bounds the blocking calls in flight.
    public init(
        path: String, threads: Int = 4, clock: any WallClock = SystemWallClock(),
        logger: Logger = Logger(label: "vhd-relay.local-store")
    ) throws {
        root = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        self.clock = clock
        self.logger = logger
        try FileManager.default.createDirectory(atPath: root + "/blobs", withIntermediateDirectories: true)
        let databasePath = root + "/store.db"
        pool = try BlockingPool(name: "local-store", threads: threads) {
            try SQLiteDatabase(path: databasePath)
        }
    }

    deinit { pool.shutdown() }

    /// Runs blocking work (SQLite, file I/O) on one of the store's threads, with that thread's connection.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        try await pool.run(body)
    }
}
