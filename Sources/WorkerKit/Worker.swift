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
    private let state = Mutex(State())

    private struct State {
        var stopping = false
        /// When the main loop last went round: `/healthz` fails when it stalls.
        var heartbeat = ContinuousClock.now
        /// Targets seen in messages or in the segments container, by key.
        var known: [String: TargetName] = [:]
        var claimed: Set<TargetName> = []
        /// When a claim of a target may be tried again.
        var nextAttempt: [TargetName: ContinuousClock.Instant] = [:]
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

    /// Finds targets with temp blobs in the segments container (their key is the name's first segment),
    /// so that rows stored by an instance that died are applied by another.
    private func discover() async {
        do {
            var keys: Set<String> = []
            var marker: String?
            repeat {
                let page = try await calls("List Blobs") {
                    try await services.blob.listBlobs(
                        container: configuration.container, prefix: "", marker: marker, maxResults: 5000)
                }
                for item in page.items {
                    if let slash = item.name.firstIndex(of: "/") { keys.insert(String(item.name[..<slash])) }
                }
                marker = page.nextMarker
            } while marker != nil
            let unknown = keys.subtracting(state.withLock { Set($0.known.keys) })
            for key in unknown {
                guard let row = try? await control.targetRow(key), row.target.key == key,
                    configuration.accepts(row.target)
                else { continue }
                state.withLock { $0.known[key] = row.target }
            }
        } catch {
            logger.warning("listing the segments container failed", metadata: ["error": "\(error)"])
        }
    }

    /// Tries to claim every known target that nobody here holds and whose retry time has come.
    private func claimAvailableTargets() async -> [Claim] {
        let now = ContinuousClock.now
        let candidates = state.withLock { state in
            state.known.values.filter { !state.claimed.contains($0) && (state.nextAttempt[$0] ?? now) <= now }
        }
        var claims: [Claim] = []
        let claimer = Claimer(
            services: services, configuration: configuration, control: control, calls: calls, logger: logger)
        for target in candidates.sorted(by: { $0.description < $1.description }) where !isStopping {
            do {
                guard let row = try await control.targetRow(target.key), row.target == target else {
                    throw WorkerError(.targetInvalid, target: target, "the target has no valid 'target' row")
                }
                if let claim = try await claimer.acquire(target, targetRow: row) {
                    _ = state.withLock { $0.claimed.insert(target) }
                    claims.append(claim)
                } else {
                    retryClaim(target, after: .seconds(max(1, configuration.leaseSeconds / 6)))
                }
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
                while !isStopping, !claim.isLost {
                    let cursor: UInt64
                    var idle = true
                    let stop = try await applier.run(resuming: resuming, shouldStop: { self.isStopping })
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
        _ = state.withLock { $0.claimed.remove(claim.target) }
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
