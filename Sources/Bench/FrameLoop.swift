import Dispatch
import Foundation
import RelayShared
import Synchronization

/// Plain bytes processed in a measured time.
public struct Throughput: Sendable, Equatable {
    public let bytes: Int
    public let seconds: Double

    public init(bytes: Int, seconds: Double) {
        self.bytes = bytes
        self.seconds = seconds
    }

    public var bytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds : 0 }
}

/// Runs per-frame work on dedicated threads (never Swift's cooperative pool: the work is long,
/// CPU-bound and blocking) and times it with a monotonic clock.
enum FrameLoop {
    /// Hands out frame indices `0, 1, …, frameCount - 1, 0, 1, …` to `threads` threads, each calling
    /// `work(worker, frame)` (which returns the plain bytes it processed), until every frame was
    /// handed out once and `minSeconds` have passed. Cycling over the frames keeps every thread busy
    /// to the end however few frames there are; a frame may then be processed by two threads at
    /// once, so `work` must write only to its worker's own buffers.
    ///
    /// The time runs from before the threads start until the last one ends, so it includes their
    /// start-up (tens of microseconds against at least `minSeconds`).
    static func run(
        threads: Int, frameCount: Int, minSeconds: Double,
        _ work: @escaping @Sendable (_ worker: Int, _ frame: Int) throws -> Int
    ) throws -> Throughput {
        guard frameCount > 0, threads > 0 else { return Throughput(bytes: 0, seconds: 0) }
        let state = LoopState()
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: .nanoseconds(Int64(max(0, minSeconds) * 1e9)))
        let group = DispatchGroup()
        for worker in 0..<threads {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    while state.failure.withLock({ $0 == nil }) {
                        let ticket = state.tickets.wrappingAdd(1, ordering: .relaxed).oldValue
                        if ticket >= frameCount, clock.now >= deadline { break }
                        let bytes = try work(worker, ticket % frameCount)
                        state.bytes.wrappingAdd(bytes, ordering: .relaxed)
                    }
                } catch {
                    state.failure.withLock { $0 = $0 ?? error }
                }
            }
            thread.name = "bench-\(worker)"
            thread.start()
        }
        group.wait()
        let elapsed = clock.now - start
        if let failure = state.failure.withLock({ $0 }) { throw failure }
        return Throughput(bytes: state.bytes.load(ordering: .relaxed), seconds: elapsed.seconds)
    }
}

/// What the loop's threads share: the next ticket, the bytes done, and the first error.
private final class LoopState: Sendable {
    let tickets = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)
    let failure = Mutex<(any Error)?>(nil)
}
