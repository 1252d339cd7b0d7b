import Foundation

/// A fixed set of dedicated threads for blocking work (file I/O, SQLite), so that it never runs on
/// Swift's cooperative pool, which has only as many threads as cores. Each thread owns a `Context`
/// (e.g. its SQLite connection) made on that thread and used by it alone.
///
/// `@unchecked Sendable`: the job queue and the stopping flag are only touched under `condition`.
final class BlockingPool<Context>: @unchecked Sendable {
    private typealias Job = (Context) -> Void

    private let condition = NSCondition()
    /// Taken jobs are set to nil: a queue that never empties would otherwise keep every job it ran, and
    /// what the job captured (the sync's 8 MiB batches), until it does.
    private var jobs: [Job?] = []
    private var head = 0
    private var stopping = false

    /// Starts `threads` threads, each calling `makeContext` once before taking jobs.
    /// Throws the first error a `makeContext` throws.
    init(name: String, threads: Int, makeContext: @escaping @Sendable () throws -> Context) throws {
        precondition(threads > 0)
        let startup = StartupGate(count: threads)
        for index in 0..<threads {
            let thread = Thread { [self] in
                let context: Context
                do {
                    context = try makeContext()
                    startup.arrive(error: nil)
                } catch {
                    startup.arrive(error: error)
                    return
                }
                work(with: context)
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
        if let error = startup.wait() {
            shutdown()
            throw error
        }
    }

    deinit { shutdown() }

    /// Runs `body` on one of the pool's threads and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (Context) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else {
                continuation.resume(throwing: CancellationError())
                return
            }
            jobs.append { context in continuation.resume(with: Result { try body(context) }) }
            condition.signal()
        }
    }

    /// Lets queued jobs finish, then ends the threads.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work(with context: Context) {
        while true {
            condition.lock()
            while head == jobs.count, !stopping { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]!
            jobs[head] = nil
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024, head * 2 >= jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job(context)
        }
    }
}

/// Waits until every pool thread has made its context, and keeps the first error.
private final class StartupGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var remaining: Int
    private var firstError: (any Error)?

    init(count: Int) { remaining = count }

    func arrive(error: (any Error)?) {
        condition.lock()
        remaining -= 1
        if firstError == nil { firstError = error }
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        while remaining > 0 { condition.wait() }
        return firstError
    }
}
