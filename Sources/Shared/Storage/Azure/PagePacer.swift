import Logging
import Synchronization

/// Paces the writes to one page blob: a window of requests in flight that halves on `503 ServerBusy`
/// and grows back by one request per window of successes (AIMD, like TCP congestion control), so a
/// throttled blob gets fewer concurrent Put Page calls instead of more retries.
public final class PagePacer: Sendable {
    struct State {
        var window: Int
        /// Successes since the window last grew: it grows by one after a whole window of them.
        var successes = 0
        var inFlight = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter: UInt64 = 0
        var cancelled: Set<UInt64> = []
    }

    public let maxWindow: Int
    private let state: Mutex<State>
    /// Receives every change of the window: narrowing at `notice`, growing at `debug`.
    private let logger: Logger

    public init(maxWindow: Int = 64, logger: Logger = Logger(label: "vhd-relay.azure.pacer")) {
        self.maxWindow = max(1, maxWindow)
        self.logger = logger
        state = Mutex(State(window: max(1, maxWindow)))
    }

    /// Requests allowed in flight now.
    public var window: Int { state.withLock { $0.window } }

    /// Waits for a slot in the window; throws `CancellationError` if the task is cancelled meanwhile.
    public func acquire() async throws {
        let id: UInt64? = state.withLock { state in
            if state.inFlight < state.window && state.waiters.isEmpty {
                state.inFlight += 1
                return nil
            }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index).continuation
                }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    public enum Outcome: Sendable {
        case success
        /// `503 ServerBusy`: the blob or account is over its limits.
        case busy
        /// Any other failure: says nothing about load.
        case other
    }

    /// Ends a request started by `acquire`, adjusting the window by its outcome.
    public func release(_ outcome: Outcome) {
        let (ready, change) = state.withLock {
            state -> ([CheckedContinuation<Void, any Error>], (from: Int, to: Int)?) in
            state.inFlight -= 1
            let before = state.window
            switch outcome {
            case .success:
                state.successes += 1
                if state.successes >= state.window {
                    state.window = min(maxWindow, state.window + 1)
                    state.successes = 0
                }
            case .busy:
                state.window = max(1, state.window / 2)
                state.successes = 0
            case .other: break
            }
            var ready: [CheckedContinuation<Void, any Error>] = []
            while state.inFlight < state.window, !state.waiters.isEmpty {
                state.inFlight += 1
                ready.append(state.waiters.removeFirst().continuation)
            }
            return (ready, before == state.window ? nil : (before, state.window))
        }
        // Logged outside the lock, like every other side effect.
        if let change {
            let metadata: Logger.Metadata = ["pacer.window": "\(change.to)", "pacer.previous_window": "\(change.from)"]
            if change.to < change.from {
                logger.notice("page writes narrowed after 503 ServerBusy", metadata: metadata)
            } else {
                logger.debug("page writes widened", metadata: metadata)
            }
        }
        ready.forEach { $0.resume() }
    }
}

/// One pacer per page blob, made on first use.
final class PagePacers: Sendable {
    private let pacers = Mutex<[BlobAddress: PagePacer]>([:])
    private let maxWindow: Int
    private let logger: Logger

    init(maxWindow: Int, logger: Logger) {
        self.maxWindow = maxWindow
        self.logger = logger
    }

    func pacer(for blob: BlobAddress) -> PagePacer {
        pacers.withLock { pacers in
            if let pacer = pacers[blob] { return pacer }
            var logger = logger
            logger[metadataKey: "blob.name"] = "\(blob)"
            let pacer = PagePacer(maxWindow: maxWindow, logger: logger)
            pacers[blob] = pacer
            return pacer
        }
    }
}
