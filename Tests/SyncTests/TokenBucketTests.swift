import Foundation
import Testing

@testable import RelayShared

/// `--max-bandwidth`'s pacer, on instants given to it rather than the clock, so that a loaded machine
/// cannot change what is checked.
struct TokenBucketTests {
    let t0 = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .seconds(seconds) }

    /// Callers that keep the bucket busy are paid for one after the other at the rate, from the first
    /// byte on: no burst at the start.
    @Test func busyCallersArePacedFromTheFirstByte() async {
        let bucket = TokenBucket(bytesPerSecond: 1000)
        #expect(await bucket.reserve(500, at: at(0)) == at(0.5))
        #expect(await bucket.reserve(1000, at: at(0.1)) == at(1.5))
        #expect(await bucket.reserve(250, at: at(0.2)) == at(1.75))
    }

    /// A gap with nobody waiting is credited back up to the burst, so the average rate still reaches
    /// the cap; a longer gap is lost beyond the burst.
    @Test func idleTimeIsCreditedBackUpToTheBurst() async {
        let bucket = TokenBucket(bytesPerSecond: 1000, burst: .seconds(1))
        #expect(await bucket.reserve(1000, at: at(0)) == at(1))
        // Paid until 1 s; the next caller comes at 1.6 s: it is paid from 1 s, so it may send at once.
        #expect(await bucket.reserve(500, at: at(1.6)) == at(1.5))
        #expect(await bucket.reserve(500, at: at(1.6)) == at(2))
        // Paid until 2 s; the next caller comes at 5 s: only 1 s of the 3 s gap is credited.
        #expect(await bucket.reserve(2000, at: at(5)) == at(6))
    }

    /// Whatever the arrivals, the bytes paid by any instant never exceed the rate times the time since
    /// the first caller: the cap holds over the whole run.
    @Test func neverAheadOfTheRateSinceTheFirstByte() async {
        let bucket = TokenBucket(bytesPerSecond: 10_000, burst: .seconds(1))
        var random = SplitMix64(seed: 77)
        var now = 0.0
        var first: ContinuousClock.Instant?
        var paid = 0
        for _ in 0..<2000 {
            // Mostly short gaps, some of up to 3 s.
            now += random.nextUnit() * (random.next() % 4 == 0 ? 3 : 0.2)
            let bytes = Int(random.next() % 20_000) + 1
            paid += bytes
            first = first ?? at(now)
            let due = await bucket.reserve(bytes, at: at(now))
            #expect(due > at(now) - .seconds(1))
            #expect(Double(paid) <= 10_000 * (due - first!).seconds + 1)
        }
    }

    /// `take` sleeps until the reservation is due.
    @Test func takeWaitsForItsBytes() async throws {
        let bucket = TokenBucket(bytesPerSecond: 10_000)
        let start = ContinuousClock.now
        try await bucket.take(2000)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
    }
}
