import Synchronization

/// A one-shot signal that many tasks can wait for: set once to success or to an error. The apply batch
/// keeps two per segment ("verified", "written"), so that a segment writes only after every earlier one
/// is verified and every earlier overlapping one is written.
final class Latch: Sendable {
    private let state = Mutex<State>(.pending([]))

    private enum State {
        case pending([CheckedContinuation<Void, any Error>])
        case done((any Error)?)
    }

    func succeed() { finish(nil) }

    func fail(_ error: any Error) { finish(error) }

    private func finish(_ error: (any Error)?) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .pending(let waiters) = state else { return [] }
            state = .done(error)
            return waiters
        }
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    /// Returns when set to success; throws the error it was set to.
    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { state -> (any Error)?? in
                switch state {
                case .pending(var waiters):
                    waiters.append(continuation)
                    state = .pending(waiters)
                    return .none
                case .done(let error):
                    return .some(error)
                }
            }
            switch outcome {
            case .none: break
            case .some(nil): continuation.resume()
            case .some(.some(let error)): continuation.resume(throwing: error)
            }
        }
    }
}
