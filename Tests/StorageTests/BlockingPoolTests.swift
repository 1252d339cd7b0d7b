import Foundation
import Testing

@testable import RelayShared

struct BlockingPoolTests {
    @Test func runsJobsOnItsOwnThreadsWithTheirContexts() async throws {
        let pool = try BlockingPool<pthread_t>(name: "test", threads: 3) { pthread_self() }
        defer { pool.shutdown() }
        let threads = try await withThrowingTaskGroup(of: (pthread_t, pthread_t).self) { group in
            for _ in 0..<60 {
                group.addTask { try await pool.run { context in (context, pthread_self()) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(threads.count == 60)
        // Each job ran on the thread that made its context, and only the pool's three threads ran jobs.
        #expect(threads.allSatisfy { pthread_equal($0.0, $0.1) != 0 })
        #expect(Set(threads.map(\.0)).count <= 3)
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
