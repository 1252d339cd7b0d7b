import Foundation
import Testing

/// Runs a suite's tests on threads of their own instead of Swift's cooperative pool.
///
/// Swift Testing starts every test at once on the cooperative pool, which has one thread per core (two
/// here). A test whose body reads and writes whole disk images, compresses or waits for a tool holds
/// its thread for seconds; two of them stall every other test, and the time-limited network tests
/// waiting behind them fail. Suites that do such work synchronously carry `.ownThreads`: their bodies
/// run under a task executor that gives each job a new thread, so they never hold a pool thread, and
/// the pool stays free for the suites that only await.
public struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Suites are scoped once for the whole suite and again per test: only the test itself needs it.
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    /// The suite's test bodies run on threads of their own, not the cooperative pool (`OwnThreadsTrait`).
    public static var ownThreads: Self { OwnThreadsTrait() }
}

/// A task executor that runs each job on a new thread. Threads are cheap next to the seconds of disk
/// work the jobs of these suites do, and a thread per job can never run short of threads, whatever the
/// jobs block on.
final class ThreadPerJobExecutor: TaskExecutor {
    static let shared = ThreadPerJobExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
