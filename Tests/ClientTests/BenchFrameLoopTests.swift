import RelayShared
import Synchronization
import TestSupport
import Testing

@testable import RelayBench

@Suite(.ownThreads)
struct BenchFrameLoopTests {
    private final class Counts: Sendable {
        private let perFrame = Mutex([Int](repeating: 0, count: 10))
        func count(_ frame: Int) { perFrame.withLock { $0[frame] += 1 } }
        var values: [Int] { perFrame.withLock { $0 } }
    }

    @Test func anUntimedLoopHandsEachFrameToExactlyOneWorker() throws {
        let counts = Counts()
        let throughput = try FrameLoop.run(threads: 3, frameCount: 10, minSeconds: 0) { _, frame in
            counts.count(frame)
            return 100
        }
        #expect(counts.values == Array(repeating: 1, count: 10))
        #expect(throughput.bytes == 1000)
    }

    @Test func aTimedLoopCyclesOverTheFramesUntilTheTimeIsUp() throws {
        let counts = Counts()
        let throughput = try FrameLoop.run(threads: 2, frameCount: 10, minSeconds: 0.05) { _, frame in
            counts.count(frame)
            return 1
        }
        #expect(throughput.seconds >= 0.05)
        #expect(counts.values.allSatisfy { $0 >= 1 })
        #expect(throughput.bytes == counts.values.reduce(0, +))
    }

    @Test func theFirstErrorStopsTheLoopAndIsRethrown() {
        #expect(throws: BenchError(.roundTripMismatch, "frame 7")) {
            try FrameLoop.run(threads: 2, frameCount: 10, minSeconds: 0) { _, frame in
                if frame == 7 { throw BenchError(.roundTripMismatch, "frame 7") }
                return 1
            }
        }
    }

    @Test func noFramesMeansNoWorkAndNoTime() throws {
        let throughput = try FrameLoop.run(threads: 2, frameCount: 0, minSeconds: 0.05) { _, _ in
            Issue.record("work called without frames")
            return 1
        }
        #expect(throughput == Throughput(bytes: 0, seconds: 0))
    }
}
