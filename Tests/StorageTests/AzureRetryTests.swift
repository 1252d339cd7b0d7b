import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// The retry decision, retry arithmetic with a pinned random source, and the AIMD pacer's window.
struct AzureRetryTests {
    /// Statuses by what the one rule makes of them: (retried when idempotent, retried when unsafe,
    /// outcome unknown afterwards when retried as idempotent).
    @Test(arguments: [
        (408, true, false, false), (429, true, true, false), (500, true, false, true), (502, true, false, true),
        (503, true, true, false), (504, true, false, true), (501, false, false, false), (505, false, false, false),
        (400, false, false, false), (404, false, false, false), (409, false, false, false), (412, false, false, false),
    ])
    func statusDecisions(status: Int, idempotent: Bool, unsafe: Bool, unknown: Bool) {
        let asIdempotent = RetryDecision(.status(status), safety: .idempotent, outcomeUnknown: false)
        let asUnsafe = RetryDecision(.status(status), safety: .unsafe, outcomeUnknown: false)
        #expect(asIdempotent == RetryDecision(retry: idempotent, outcomeUnknown: unknown))
        #expect(asUnsafe == RetryDecision(retry: unsafe, outcomeUnknown: false))
        // An earlier unknown outcome stays unknown whatever follows.
        #expect(RetryDecision(.status(status), safety: .unsafe, outcomeUnknown: true).outcomeUnknown)
        // StorageError.isRetryable and the page writes' fence ask the same rule.
        #expect(StorageError(.internalError, status: status).isRetryable == idempotent)
        #expect(RetryDecision.needsIdempotence(.status(status)) == (idempotent && !unsafe))
    }

    @Test func transportFailureDecisions() {
        for safety in [RetrySafety.idempotent, .unsafe] {
            #expect(
                RetryDecision(.transport(.notSent), safety: safety, outcomeUnknown: false)
                    == RetryDecision(retry: true, outcomeUnknown: false))
            #expect(
                RetryDecision(.transport(.responseTooLarge), safety: safety, outcomeUnknown: false)
                    == RetryDecision(retry: false, outcomeUnknown: false))
        }
        #expect(
            RetryDecision(.transport(.outcomeUnknown), safety: .idempotent, outcomeUnknown: false)
                == RetryDecision(retry: true, outcomeUnknown: true))
        #expect(
            RetryDecision(.transport(.outcomeUnknown), safety: .unsafe, outcomeUnknown: false)
                == RetryDecision(retry: false, outcomeUnknown: true))
        // No response at all (status 0) is read as an unknown outcome: retryable, but only when idempotent.
        #expect(AttemptFailure(StorageError(.networkError, status: 0)) == .transport(.outcomeUnknown))
        #expect(StorageError(.networkError, status: 0).isRetryable)
        #expect(RetryDecision.needsIdempotence(.transport(.outcomeUnknown)))
        #expect(!RetryDecision.needsIdempotence(.transport(.notSent)))
    }

    @Test func backoffIsExponentialJitteredAndCapped() {
        let low = RetryPolicy(maxRetries: 10, random: { 0 })
        let high = RetryPolicy(maxRetries: 10, random: { 0.999_999 })
        func close(_ delay: Duration?, _ seconds: Double) -> Bool {
            delay.map { abs($0.seconds - seconds) < 1e-6 } ?? false
        }
        #expect(close(low.delay(beforeRetry: 1, retryAfter: nil), 0.64))  // 1 × 0.8 s × 0.8
        #expect(close(low.delay(beforeRetry: 2, retryAfter: nil), 1.92))  // 3 × 0.8 s × 0.8
        #expect(close(low.delay(beforeRetry: 3, retryAfter: nil), 4.48))  // 7 × 0.8 s × 0.8
        let top = high.delay(beforeRetry: 2, retryAfter: nil)!.seconds
        #expect(top > 3.11 && top < 3.12)  // 3 × 0.8 s × 1.3
        #expect(low.delay(beforeRetry: 9, retryAfter: nil) == .seconds(60))  // capped
        #expect(low.delay(beforeRetry: 11, retryAfter: nil) == nil)
        #expect(low.delay(beforeRetry: 0, retryAfter: nil) == nil)
    }

    @Test func retryAfterReplacesTheBackoffWithinTheCap() {
        let policy = RetryPolicy(maxRetries: 3, random: { 0.5 })
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(7)) == .seconds(7))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(600)) == .seconds(60))
        #expect(policy.delay(beforeRetry: 4, retryAfter: .seconds(1)) == nil)
        let now = Date(timeIntervalSince1970: 1_704_067_200)
        #expect(RetryPolicy.parseRetryAfter("5", now: now) == .seconds(5))
        #expect(RetryPolicy.parseRetryAfter("Mon, 01 Jan 2024 00:00:12 GMT", now: now) == .seconds(12))
        #expect(RetryPolicy.parseRetryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter(nil, now: now) == nil)
    }

    @Test func pacerHalvesOnBusyAndClimbsBackAdditively() async throws {
        let log = LogRecorder()
        let pacer = PagePacer(maxWindow: 16, logger: log.logger)
        #expect(pacer.window == 16)
        try await pacer.acquire()
        pacer.release(.busy)
        #expect(pacer.window == 8)
        for _ in 0..<3 {
            try await pacer.acquire()
            pacer.release(.busy)
        }
        #expect(pacer.window == 1)
        try await pacer.acquire()
        pacer.release(.busy)
        #expect(pacer.window == 1)
        // One more request per window of successes: from 1, 1 + 2 + 3 successes reach 4.
        for _ in 0..<6 {
            try await pacer.acquire()
            pacer.release(.success)
        }
        #expect(pacer.window == 4)
        try await pacer.acquire()
        pacer.release(.other)
        #expect(pacer.window == 4)
        // Every change of the window is logged, narrowing at notice, growing at debug; no change, no record.
        let changes = log.records.map {
            ($0.level, $0.metadata["pacer.previous_window"] ?? "", $0.metadata["pacer.window"] ?? "")
        }
        #expect(changes.map(\.0) == [.notice, .notice, .notice, .notice, .debug, .debug, .debug])
        #expect(changes.map { "\($0.1)>\($0.2)" } == ["16>8", "8>4", "4>2", "2>1", "1>2", "2>3", "3>4"])
    }

    @Test(.timeLimit(.minutes(3))) func pacerHoldsRequestsBeyondTheWindow() async throws {
        let pacer = PagePacer(maxWindow: 2)
        try await pacer.acquire()
        pacer.release(.busy)  // window 1
        try await pacer.acquire()
        let waiter = Task {
            try await pacer.acquire()
            return Date()
        }
        try await Task.sleep(for: .milliseconds(200))
        let released = Date()
        pacer.release(.success)
        let admitted = try await waiter.value
        #expect(admitted >= released)
        #expect(pacer.window == 2)
        try await pacer.acquire()  // the window of 2 is full again
        // A cancelled waiter leaves with CancellationError and takes no slot.
        let cancelled = Task { try await pacer.acquire() }
        try await Task.sleep(for: .milliseconds(100))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        pacer.release(.other)
        try await pacer.acquire()
        pacer.release(.other)
        pacer.release(.other)
    }
}
