import Foundation
import Synchronization

/// What the fault-injecting wrappers do, and how often. Rates are probabilities per operation (per
/// delivered message for the queue's delivery faults); 0 never, 1 always.
public struct FaultConfiguration: Hashable, Sendable {
    /// The random sequence; the same seed and the same calls give the same faults.
    public var seed: UInt64
    /// `503 ServerBusy` before the operation: nothing happened, as when Azure throttles.
    public var serverBusyRate: Double
    /// `500 OperationTimedOut` after the operation: it happened but the answer is lost, so a retry may
    /// meet its effects (409 on a second insert, a duplicate put, messages hidden until their timeout).
    public var timeoutRate: Double
    /// Delay added before every operation, uniform in this range.
    public var latency: ClosedRange<Duration>
    /// A delivered message is delivered once more by a later Get Messages, with the same (soon stale)
    /// pop receipt: deleting both copies answers `404 MessageNotFound` for the second.
    public var duplicateRate: Double
    /// A delivered message becomes visible again after `reappearDelay` seconds instead of its visibility
    /// timeout, as if its consumer had been too slow: another getter may take it, and the first
    /// consumer's receipt then fails.
    public var reappearRate: Double
    public var reappearDelay: Int
    /// Get Messages answers its messages in random order.
    public var shuffle: Bool
    /// A Put Page gets no answer (status 0) and is held up: it lands only right after the next Put Page
    /// or clear of the same blob that overlaps it with other bytes, with its original conditions, as a
    /// request delayed in the network lands after its sender repeated it and moved on. Only a fence that
    /// moved in between refuses it.
    public var delayedWriteRate: Double

    public init(
        seed: UInt64, serverBusyRate: Double = 0, timeoutRate: Double = 0,
        latency: ClosedRange<Duration> = .zero ... .zero,
        duplicateRate: Double = 0, reappearRate: Double = 0, reappearDelay: Int = 1, shuffle: Bool = false,
        delayedWriteRate: Double = 0
    ) {
        self.seed = seed
        self.serverBusyRate = serverBusyRate
        self.timeoutRate = timeoutRate
        self.latency = latency
        self.duplicateRate = duplicateRate
        self.reappearRate = reappearRate
        self.reappearDelay = reappearDelay
        self.shuffle = shuffle
        self.delayedWriteRate = delayedWriteRate
    }
}

/// How many faults of each kind a plan has injected so far.
public struct FaultCounts: Hashable, Sendable {
    public var serverBusy = 0
    public var timedOut = 0
    public var duplicates = 0
    public var reappearances = 0
    public var shuffles = 0
    /// Put Pages held up (`delayedWriteRate`), and how their copies fared when they arrived.
    public var delayedWrites = 0
    public var staleCopiesLanded = 0
    public var staleCopiesRefused = 0
    public init() {}
}

/// The seeded random source that the wrappers of one test share, so that one seed reproduces the
/// faults of a whole run (for calls made in the same order).
public final class FaultPlan: Sendable {
    public let configuration: FaultConfiguration
    private let state: Mutex<State>

    private struct State {
        var random: SplitMix64
        var counts = FaultCounts()
        var held: [HeldWrite] = []
    }

    /// A Put Page held up in the network (`delayedWriteRate`).
    struct HeldWrite: Sendable {
        let blob: BlobAddress
        let offset: UInt64
        let data: [UInt8]
        /// Sends the original request.
        let land: @Sendable () async throws -> Void

        /// Whether a write of `bytes` (nil: a clear) over `range` leaves other bytes than this one's.
        func differs(from bytes: [UInt8]?, over range: ByteRange) -> Bool {
            let start = max(offset, range.offset)
            let end = min(offset + UInt64(data.count), range.end)
            guard start < end else { return false }
            let mine = data[Int(start - offset)..<Int(end - offset)]
            guard let bytes else { return mine.contains { $0 != 0 } }
            return !mine.elementsEqual(bytes[Int(start - range.offset)..<Int(end - range.offset)])
        }
    }

    public init(_ configuration: FaultConfiguration) {
        self.configuration = configuration
        state = Mutex(State(random: SplitMix64(seed: configuration.seed)))
    }

    public var counts: FaultCounts { state.withLock { $0.counts } }

    /// The faults of one operation, drawn together so that the sequence does not depend on outcomes.
    struct OperationFaults {
        var latency: Duration
        var serverBusy: Bool
        var timedOut: Bool
    }

    func nextOperation() -> OperationFaults {
        state.withLock { state in
            let range = configuration.latency
            let latency = range.lowerBound + (range.upperBound - range.lowerBound) * state.random.nextUnit()
            let busy = state.random.nextUnit() < configuration.serverBusyRate
            // A throttled call never runs, so it cannot also time out after running.
            let timedOut = state.random.nextUnit() < configuration.timeoutRate && !busy
            if busy { state.counts.serverBusy += 1 }
            if timedOut { state.counts.timedOut += 1 }
            return OperationFaults(latency: latency, serverBusy: busy, timedOut: timedOut)
        }
    }

    /// Draws whether a Put Page is held up; no draw when the plan never holds one, so that seeds made
    /// before this fault keep their sequence.
    func nextWriteDelayed() -> Bool {
        guard configuration.delayedWriteRate > 0 else { return false }
        return state.withLock { state in
            let delayed = state.random.nextUnit() < configuration.delayedWriteRate
            if delayed { state.counts.delayedWrites += 1 }
            return delayed
        }
    }

    func hold(_ write: HeldWrite) { state.withLock { $0.held.append(write) } }

    /// Lands the held writes that the write of `bytes` (nil: a clear) over `range` of `blob` overtook.
    func landHeldWrites(after blob: BlobAddress, wrote range: ByteRange, bytes: [UInt8]?) async {
        let overtaken = state.withLock { state in
            let overtaken = state.held.filter { $0.blob == blob && $0.differs(from: bytes, over: range) }
            state.held.removeAll { $0.blob == blob && $0.differs(from: bytes, over: range) }
            return overtaken
        }
        for write in overtaken {
            do {
                try await write.land()
                state.withLock { $0.counts.staleCopiesLanded += 1 }
            } catch {
                state.withLock { $0.counts.staleCopiesRefused += 1 }
            }
        }
    }

    /// Draws whether a delivered message is duplicated and whether it reappears early.
    func nextDelivery() -> (duplicate: Bool, reappear: Bool) {
        state.withLock { state in
            let duplicate = state.random.nextUnit() < configuration.duplicateRate
            let reappear = state.random.nextUnit() < configuration.reappearRate
            if duplicate { state.counts.duplicates += 1 }
            if reappear { state.counts.reappearances += 1 }
            return (duplicate, reappear)
        }
    }

    /// `elements` in a random order if the plan shuffles, else as they are.
    func order<T>(_ elements: [T]) -> [T] {
        guard configuration.shuffle, elements.count > 1 else { return elements }
        let permutation = state.withLock { state in
            state.counts.shuffles += 1
            return Array(elements.indices).shuffled(using: &state.random)
        }
        return permutation.map { elements[$0] }
    }

    /// Runs `body` with the operation's latency and transient failures around it.
    func inject<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let faults = nextOperation()
        if faults.latency > .zero { try await Task.sleep(for: faults.latency) }
        if faults.serverBusy {
            throw StorageError(
                .serverBusy, status: 503, "\(operation): injected fault: the server is busy; retry with backoff")
        }
        let result = try await body()
        if faults.timedOut {
            throw StorageError(
                .operationTimedOut, status: 500,
                "\(operation): injected fault: the operation could not be completed within the permitted time (it may have taken effect)"
            )
        }
        return result
    }
}
