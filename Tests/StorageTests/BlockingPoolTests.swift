import Foundation
import Testing
@testable import RelayShared

struct BlockingPoolTests {
    @Test func runsJobsOnItsOwnThreadsWithTheirContexts() async throws {
        let pool = try BlockingPool<String>(name: "test", threads: 3) { Thread.current.name ?? "?" }
        defer { pool.shutdown() }
        let names = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for _ in 0..<60 {
                group.addTask { try await pool.run { context in (context, Thread.current.name ?? "") } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(names.count == 60)
        // Each job saw the context its own thread made, and only pool threads ran jobs.
        #expect(names.allSatisfy { $0.0 == $0.1 && $0.0.hasPrefix("test-") })
    }

    @Test func propagatesErrors() async throws {
        struct Boom: Error {}
        let pool = try BlockingPool<Void>(name: "test", threads: 1) {}
        defer { pool.shutdown() }
        await #expect(throws: Boom.self) { try await pool.run { _ in throw Boom() } }
        #expect(try await pool.run { _ in 42 } == 42)
    }

    @Test func contextFailureFailsCreation() {
        struct NoDatabase: Error {}
        #expect(throws: NoDatabase.self) { try BlockingPool<Int>(name: "test", threads: 2) { throw NoDatabase() } }
    }

    @Test func refusesWorkAfterShutdown() async throws {
        let pool = try BlockingPool<Void>(name: "test", threads: 1) {}
        pool.shutdown()
        await #expect(throws: CancellationError.self) { try await pool.run { _ in 1 } }
    }
}
