import Foundation
import Logging
import RelayShared
import Synchronization

/// One relay-worker instance (docs/worker.md): intake rounds on the control queue, claims on the targets
/// it can take, and one apply loop per claimed target, all until `stop()` (or, with `drain`, until the
/// queue is empty and every known target is caught up). Instances keep no state of their own: any number
/// may run against the same storage account, and any may be killed at any moment.
public final class Worker: Sendable {
    public let configuration: WorkerConfiguration
    let services: StorageServices
    let logger: Logger
    let calls: StorageCalls
    let control: ControlTable
    /// Bytes of segments held, and requests in flight, over all targets of this instance.
    let memory: WeightedSemaphore
    let requests: WeightedSemaphore
    let instances: Instances
    private let state = Mutex(State())

    private struct State {
        var stopping = false
        /// When the main loop last went round: `/healthz` fails when it stalls.
        var heartbeat = ContinuousClock.now
        /// Targets seen in messages or in the `targets` list, by key.
        var known: [String: TargetName] = [:]
        var claimed: Set<TargetName> = []
        /// When a claim of a target may be tried again.
        var nextAttempt: [TargetName: ContinuousClock.Instant] = [:]
        /// The last heartbeat's census, and when it was taken.
        var census: InstanceCensus?
        var lastCensus: ContinuousClock.Instant?
        /// Since when this instance has held more than its share.
        var overShareSince: ContinuousClock.Instant?
        /// Claimed targets being given back to bring this instance down to its share.
        var handingBack: Set<TargetName> = []
        /// Free targets left for instances below their share, and since when.
        var deferredSince: [TargetName: ContinuousClock.Instant] = [:]
        /// Targets taken after no other instance took them for a lease (another instance may not know
        /// them): never given back, so that they do not go back and forth.
        var keptForGood: Set<TargetName> = []
    }

    /// How `run()` ended.
    public enum Outcome: Equatable, Sendable {
        /// `stop()` was called.
        case stopped
        /// Drained: the queue is empty and every known target is caught up.
        case drained
        /// Drained, but these targets wait for poisoned segments to be sent again.
        case drainedWithPoison([String])
    }

    public init(
        services: StorageServices, configuration: WorkerConfiguration, logger: Logger = Logger(label: "relay-worker")
    ) {
        self.services = services
        self.configuration = configuration
        self.logger = logger
        calls = StorageCalls(retry: configuration.storageRetry, backendRetries: services.isRemote, logger: logger)
        control = ControlTable(table: services.table, name: configuration.table, calls: calls)
        memory = WeightedSemaphore(capacity: max(configuration.memoryBudget, 1))
        requests = WeightedSemaphore(capacity: max(configuration.concurrency, 1))
        instances = Instances(
            id: UUID().uuidString.lowercased(), table: configuration.table, control: control, services: services,
            calls: calls, staleAfter: .seconds(configuration.leaseSeconds))
    }

    /// The services of `storage` as the worker uses them: a backend that retries reports every attempt
    /// to the worker's metrics (`relay_worker_storage_responses_total`, `relay_worker_retries_total`).
    public static func services(_ storage: StorageConfiguration) async throws -> StorageServices {
        try await storage.services(observer: StorageCalls.observe)
    }

    /// Asks the worker to finish: apply loops end after their batch in flight (cursor saved), leases are
    /// released, and `run()` returns `.stopped`.
    public func stop() { state.withLock { $0.stopping = true } }

    var isStopping: Bool { state.withLock { $0.stopping } }

    /// The targets this instance holds a claim on now.
    public var claimedTargets: Set<TargetName> { state.withLock { $0.claimed } }

    /// Whether the main loop went round recently (a round waits at most for one Get Messages and the
    /// claims it tries, each bounded by the storage retries).
    public var isHealthy: Bool { state.withLock { ContinuousClock.now - $0.heartbeat < .seconds(120) } }

    public func run() async throws -> Outcome {
        try await createStorage()
        let intake = Intake(
            services: services, configuration: configuration, control: control, calls: calls, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            var lastDiscovery: ContinuousClock.Instant?
            var outcome = Outcome.stopped
            while !isStopping {
                state.withLock { $0.heartbeat = .now }
                var received = 0
                do {
                    let round = try await intake.round()
                    received = round.received
                    state.withLock { state in
                        for target in round.targets where configuration.accepts(target) {
                            state.known[target.key] = target
                        }
                    }
                } catch let error as CancellationError {
                    throw error
                } catch {
                    logger.warning("intake round failed", metadata: ["error": "\(error)"])
                }
                if lastDiscovery.map({ ContinuousClock.now - $0 >= configuration.discoveryInterval }) ?? true {
                    await discover()
                    lastDiscovery = .now
                }
                if state.withLock({ $0.lastCensus.map { ContinuousClock.now - $0 >= censusInterval } ?? true }) {
                    await takeCensus()
                }
                for claim in await claimAvailableTargets() {
                    group.addTask { await self.hold(claim) }
                }
                if configuration.drain, received == 0, let drained = try await drainOutcome() {
                    outcome = drained
                    break
                }
                if received == 0 { try await Task.sleep(for: configuration.idlePause) }
            }
            stop()
            try await group.waitForAll()
            await instances.leave()
            return outcome
        }
    }

    /// Creates the queues, table and container if missing, so that a fresh account works at once.
    private func createStorage() async throws {
        func ignoringExists(_ body: () async throws -> Void) async throws {
            do { try await body() } catch let error as StorageError where error.status == 409 {}
        }
        try await calls("Create Queue") { try await services.queue.createQueue(configuration.queue) }
        try await calls("Create Queue") {
            try await services.queue.createQueue(ControlNames.poisonQueue(for: configuration.queue))
        }
        try await ignoringExists {
            try await calls("Create Table") { try await services.table.createTable(configuration.table) }
        }
        try await ignoringExists {
            try await calls("Create Container") { try await services.blob.createContainer(configuration.container) }
        }
    }

    /// Learns the targets listed in the control table's `targets` partition (the client lists each one
    /// it syncs), so that every instance knows every target, whichever instance took its messages in.
    private func discover() async {
        do {
            let rows = try await control.query(KnownTargetRow.partition, from: nil, to: nil)
            var found: [TargetName] = []
            for entity in rows {
                do {
                    found.append(try KnownTargetRow(entity: entity).target)
                } catch {
                    logger.warning("ignoring an invalid row of the targets list", metadata: ["error": "\(error)"])
                }
            }
            state.withLock { state in
                for target in found where configuration.accepts(target) { state.known[target.key] = target }
            }
        } catch {
            logger.warning("reading the targets list failed", metadata: ["error": "\(error)"])
        }
    }

    /// A heartbeat every third of a lease; an instance silent for a whole lease is no longer counted.
    private var censusInterval: Duration { .seconds(configuration.leaseSeconds) / 3 }

    /// Writes this instance's heartbeat, takes the census, and when this instance has held more than its
    /// share for a whole heartbeat, marks the surplus to be given back (after the batch in flight).
    private func takeCensus() async {
        let (claimed, known) = state.withLock { ($0.claimed.count, $0.known.count) }
        let census: InstanceCensus?
        do {
            census = try await instances.beat(claimed: claimed, known: known)
        } catch {
            // Without a census every target is claimed as before spreading: nothing waits for it.
            logger.warning("the heartbeat failed", metadata: ["error": "\(error)"])
            census = nil
        }
        let now = ContinuousClock.now
        state.withLock { state in
            state.census = census
            state.lastCensus = now
            guard let census, state.claimed.count > census.share else {
                state.overShareSince = nil
                return
            }
            guard let since = state.overShareSince else {
                state.overShareSince = now
                return
            }
            let surplus = state.claimed.count - census.share - state.handingBack.count
            guard now - since >= censusInterval, surplus > 0 else { return }
            let givable = state.claimed.subtracting(state.handingBack).subtracting(state.keptForGood)
            state.handingBack.formUnion(givable.sorted { $0.description < $1.description }.suffix(surplus))
        }
        if let census { WorkerMetrics.census(census, claimed: claimed) }
    }

    private func isHandingBack(_ target: TargetName) -> Bool { state.withLock { $0.handingBack.contains(target) } }

    /// Tries to claim the known targets that nobody here holds and whose retry time has come. Below its
    /// share an instance claims at once; at its share it leaves a free target to the others for a whole
    /// lease, and takes it only if none did (an instance may be stuck, or see fewer targets).
    private func claimAvailableTargets() async -> [Claim] {
        let now = ContinuousClock.now
        let candidates = state.withLock { state in
            state.known.values.filter { !state.claimed.contains($0) && (state.nextAttempt[$0] ?? now) <= now }
        }
        var claims: [Claim] = []
        let claimer = Claimer(
            services: services, configuration: configuration, control: control, calls: calls, logger: logger)
        for target in candidates.sorted(by: { $0.description < $1.description }) where !isStopping {
            let deferred = state.withLock { state -> Bool in
                guard let share = state.census?.share, state.claimed.count >= share else { return false }
                let since = state.deferredSince[target] ?? now
                state.deferredSince[target] = since
                return now - since < .seconds(configuration.leaseSeconds)
            }
            if deferred { continue }
            do {
                guard let row = try await control.targetRow(target.key), row.target == target else {
                    throw WorkerError(.targetInvalid, target: target, "the target has no valid 'target' row")
                }
                if let claim = try await claimer.acquire(target, targetRow: row) {
                    state.withLock { state in
                        state.claimed.insert(target)
                        if let since = state.deferredSince.removeValue(forKey: target),
                            now - since >= .seconds(configuration.leaseSeconds)
                        {
                            state.keptForGood.insert(target)
                        }
                    }
                    claims.append(claim)
                } else {
                    // Held elsewhere: at its share, this instance waits another whole lease before trying.
                    state.withLock { state in
                        if state.deferredSince[target] != nil { state.deferredSince[target] = now }
                    }
                    retryClaim(target, after: .seconds(max(1, configuration.leaseSeconds / 6)))
                }
            } catch let error as WorkerError where error.code == .targetInvalid {
                // A target retired by an operator stays listed until its rows are deleted: try it rarely.
                logger.error("cannot claim target", metadata: ["target": "\(target)", "error": "\(error)"])
                retryClaim(target, after: .seconds(300))
            } catch {
                logger.error("cannot claim target", metadata: ["target": "\(target)", "error": "\(error)"])
                retryClaim(target, after: .seconds(30))
            }
        }
        return claims
    }

    private func retryClaim(_ target: TargetName, after delay: Duration) {
        state.withLock { $0.nextAttempt[target] = .now + delay }
    }

    /// Applies a claimed target while this instance holds it, then gives it back.
    private func hold(_ claim: Claim) async {
        let claimer = Claimer(
            services: services, configuration: configuration, control: control, calls: calls, logger: logger)
        let recoveryPoints = RecoveryPoints(
            services: services, configuration: configuration, control: control, calls: calls, logger: logger)
        let cleanup = Cleanup(
            services: services, configuration: configuration, control: control, calls: calls, logger: logger)
        let applier = TargetApplier(
            services: services, configuration: configuration, control: control, calls: calls, claim: claim,
            memory: memory, requests: requests, recoveryPoints: recoveryPoints, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await claimer.keep(claim) }
            var cleanedThrough: UInt64 = 0
            var resuming = true
            do {
                while !isStopping, !claim.isLost, !isHandingBack(claim.target) {
                    let cursor: UInt64
                    var idle = true
                    let stop = try await applier.run(
                        resuming: resuming, shouldStop: { self.isStopping || self.isHandingBack(claim.target) })
                    resuming = false
                    switch stop {
                    case .caughtUp(let applied), .stopped(let applied): cursor = applied
                    case .waiting(let seq), .poisoned(let seq): cursor = seq - 1
                    case .generationApplied(let applied):
                        cursor = applied
                        idle = false
                    }
                    // Also when stopping: a drained worker leaves nothing applied behind.
                    if cursor > cleanedThrough {
                        try await cleanup.run(claim.target, cursor: cursor)
                        cleanedThrough = cursor
                    }
                    if idle, !isStopping { try await Task.sleep(for: configuration.idlePause) }
                }
            } catch let error as WorkerError where error.code == .claimLost {
                logger.warning(
                    "stopped applying: the claim is lost", metadata: ["target": "\(claim.target)", "error": "\(error)"])
            } catch is CancellationError {
            } catch {
                logger.error("stopped applying a target", metadata: ["target": "\(claim.target)", "error": "\(error)"])
            }
            group.cancelAll()
        }
        if !claim.isLost, !Task.isCancelled { await claimer.release(claim) }
        state.withLock { state in
            state.claimed.remove(claim.target)
            if state.handingBack.remove(claim.target) != nil { state.deferredSince[claim.target] = .now }
        }
        retryClaim(claim.target, after: .seconds(1))
    }

    /// In drain mode: the outcome once the queue is empty and every known target is caught up, else nil.
    private func drainOutcome() async throws -> Outcome? {
        let waiting = try await calls("Get Queue Metadata") {
            try await services.queue.approximateMessageCount(configuration.queue)
        }
        guard waiting == 0 else { return nil }
        await discover()
        var poisoned: [String] = []
        for target in state.withLock({ Array($0.known.values) }).sorted(by: { $0.description < $1.description }) {
            switch try await TargetProgress.read(target, control: control) {
            case .caughtUp: continue
            case .behind: return nil
            case .poisoned(let seq, let reason): poisoned.append("\(target) seq \(seq): \(reason)")
            }
        }
        return poisoned.isEmpty ? .drained : .drainedWithPoison(poisoned)
    }
}
