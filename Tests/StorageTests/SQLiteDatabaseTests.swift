import Foundation
import TestSupport
import Testing

@testable import RelayShared

struct SQLiteDatabaseTests {
    @Test func roundTripsValuesAndRollsBackFailedTransactions() throws {
        let scratch = try TemporaryDirectory()
        let path = scratch.file("store.db")
        let db = try SQLiteDatabase(path: path)
        try db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, r REAL, b BLOB)")
        try db.query(
            "INSERT INTO t VALUES (?, ?, ?, ?)", [.text("a"), .integer(Int64.max), .real(0.5), .blob([0, 1, 255])])
        #expect(
            try db.query("SELECT k, n, r, b FROM t") == [
                [.text("a"), .integer(Int64.max), .real(0.5), .blob([0, 1, 255])]
            ])

        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try db.transaction {
                try db.query("INSERT INTO t VALUES ('b', 1, 1, NULL)")
                throw Abort()
            }
        }
        #expect(try db.query("SELECT count(*) FROM t") == [[.integer(1)]])

        let error = #expect(throws: SQLiteError.self) { try db.query("INSERT INTO t VALUES ('a', 1, 1, NULL)") }
        #expect(error?.isConstraintViolation == true)
        #expect(error?.description.contains(path) == true)
    }
}
