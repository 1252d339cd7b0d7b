import Synchronization

/// A counting semaphore whose permits are taken by weight, first come first served: the memory budget
/// (weights are bytes) and the bound on requests in flight (weights are 1). FIFO matters: the apply
/// loop reserves memory for segments in seq order, so an earlier segment is never starved by later ones.
final class WeightedSemaphore: Sendable {
    let capacity: Int
    private let state: Mutex<State>

    private struct State {
        var available: Int
        var waiters: [(weight: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    init(capacity: Int) {
        precondition(capacity > 0, "a semaphore needs a positive capacity")
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// Waits until `weight` (0...capacity: a larger one would never fit) is available and takes it.
    /// Returns the weight taken, to release.
    func acquire(_ weight: Int) async -> Int {
        precondition(
            (0...capacity).contains(weight), "a weight of \(weight) can never be taken from a capacity of \(capacity)")
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.waiters.isEmpty, state.available >= weight {
                    state.available -= weight
                    return true
                }
                state.waiters.append((weight, continuation))
                return false
            }
            if granted { continuation.resume() }
        }
        return weight
    }

    func release(_ weight: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.available += weight
            var ready: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiters.first, first.weight <= state.available {
                state.available -= first.weight
                ready.append(first.continuation)
                state.waiters.removeFirst()
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Runs `body` holding `weight`.
    func withPermit<T>(_ weight: Int = 1, _ body: () async throws -> T) async rethrows -> T {
        let taken = await acquire(weight)
        defer { release(taken) }
        return try await body()
    }
}
