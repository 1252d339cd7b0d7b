import CSQLite
import Foundation

/// A value bound to or read from a SQLite statement.
enum SQLiteValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A SQLite failure: the result code, SQLite's message and the database file.
struct SQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var path: String

    var description: String { "\(path): SQLite error \(code): \(message)" }

    /// Another process holds the lock longer than the busy timeout.
    var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
    var isConstraintViolation: Bool { code & 0xFF == SQLITE_CONSTRAINT }
}

/// One SQLite connection in WAL mode, shared safely by several processes through SQLite's file locks.
///
/// `@unchecked Sendable`: a connection is used by one thread at a time — the `BlockingPool` thread that
/// owns it — and never concurrently.
final class SQLiteDatabase: @unchecked Sendable {
    let path: String
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    init(path: String, busyTimeout: Duration = .seconds(30)) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: message, path: path)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Int32(busyTimeout.components.seconds * 1000))
        // WAL lets readers and one writer of several processes work at once; NORMAL sync keeps every
        // committed transaction across a process crash (not a power cut), which is the promise we make.
        try switchToWAL(patience: busyTimeout)
        try execute("PRAGMA synchronous=NORMAL")
        try execute("PRAGMA foreign_keys=ON")
    }

    /// Turning a new database to WAL needs its exclusive lock, and SQLite answers `SQLITE_BUSY` at once,
    /// without its busy handler, when connections opening it together would deadlock: retry for a while.
    private func switchToWAL(patience: Duration) throws {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                return try execute("PRAGMA journal_mode=WAL")
            } catch let error as SQLiteError where error.isBusy && ContinuousClock.now < deadline {
                usleep(useconds_t.random(in: 1_000...10_000))
            }
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs SQL without results (may hold several statements).
    func execute(_ sql: String) throws {
        try check(sqlite3_exec(handle, sql, nil, nil, nil))
    }

    /// Runs one statement and returns all its rows.
    @discardableResult
    func query(_ sql: String, _ values: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in values.enumerated() {
            try bind(value, at: Int32(index + 1), in: statement)
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                try check(rc)
                break
            }
            rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
        }
        return rows
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` in a transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so that two
    /// processes doing read-then-write never both read the old state: the second waits for the first.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in a read transaction (`BEGIN`, then rolled back): its statements see one committed
    /// state, however other connections write meanwhile.
    func reading<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        defer { try? execute("ROLLBACK") }
        return try body()
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        try check(sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil))
        guard let statement else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "empty statement: \(sql)", path: path)
        }
        statements[sql] = statement
        return statement
    }

    private func bind(_ value: SQLiteValue, at index: Int32, in statement: OpaquePointer) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(statement, index)
        case .integer(let number): rc = sqlite3_bind_int64(statement, index, number)
        case .real(let number): rc = sqlite3_bind_double(statement, index, number)
        // With its byte length, so that a NUL inside the text is kept, not taken for its end.
        case .text(let text):
            // The terminating zero gives an empty text an address (a NULL pointer would bind SQL NULL).
            let bytes = Array(text.utf8) + [0]
            rc = bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    CSQLite_bind_text(statement, index, $0.baseAddress, Int32(buffer.count - 1))
                }
            }
        case .blob(let bytes):
            rc = bytes.withUnsafeBytes {
                CSQLite_bind_blob(statement, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count))
            }
        }
        try check(rc)
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let text = sqlite3_column_text(statement, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    private func check(_ rc: Int32) throws {
        guard rc != SQLITE_OK, rc != SQLITE_ROW, rc != SQLITE_DONE else { return }
        throw SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), path: path)
    }
}

extension SQLiteValue {
    var int64: Int64? { if case .integer(let value) = self { value } else { nil } }
    var string: String? { if case .text(let value) = self { value } else { nil } }
    var bytes: [UInt8]? { if case .blob(let value) = self { value } else { nil } }
    var double: Double? { if case .real(let value) = self { value } else { nil } }
}
