import RelayShared

/// What one worker instance is told: the names of the control queue, table and segments container, the
/// targets it may apply, and its limits (docs/worker.md). Every field has the default of
/// `relay-worker run`.
public struct WorkerConfiguration: Sendable {
    public var queue = ControlNames.defaultQueue
    public var table = ControlNames.defaultTable
    public var container = ControlNames.defaultContainer
    /// Prefixes of `container/blob` this instance accepts; empty accepts every target.
    public var targetPrefixes: [String] = []
    /// Put Page calls and segment downloads in flight at once.
    public var concurrency = 8
    /// Bytes of segments held (downloaded and decoded) at once, over all targets.
    public var memoryBudget = 512 << 20
    /// The smallest budget that holds any segment intake accepts: the largest segment with as many plain
    /// bytes (a segment is held whole, downloaded and decoded).
    public static let minimumMemoryBudget = 2 * SegmentFormat.maxSegmentSize
    /// Recovery points kept per target.
    public var keepSnapshots = 7
    /// Stop when the queue is empty and every known target is caught up.
    public var drain = false

    /// The claim: the target blob's lease, renewed every third of its duration.
    public var leaseSeconds = 60
    /// How long a Get Messages hides what it returns; intake finishes long before.
    public var visibilityTimeout = 60
    /// A message delivered more often than this goes to the poison queue (the Azure Functions rule).
    public var maxDequeueCount = 5
    /// Rows read per window of the apply loop: bounds how far ahead it looks.
    public var applyWindow = 64
    /// Pause of an idle loop (empty queue, nothing to apply).
    public var idlePause: Duration = .milliseconds(500)
    /// How often the `targets` list is read to find targets that other instances took in.
    public var discoveryInterval: Duration = .seconds(10)
    /// Retries of a storage call that failed transiently (503, 500, network) before giving up on the round,
    /// over services that do not retry by themselves (the local store, the fault wrappers); the Azure
    /// backend retries with its own `RetryPolicy` instead.
    public var storageRetry = StorageRetry()

    public init() {}

    /// Whether this instance may apply `target`.
    public func accepts(_ target: TargetName) -> Bool {
        targetPrefixes.isEmpty || targetPrefixes.contains { target.description.hasPrefix($0) }
    }
}

/// Jittered exponential backoff for the worker's own retries of transient storage failures.
public struct StorageRetry: Sendable {
    public var attempts = 8
    public var baseDelay: Duration = .milliseconds(50)
    public var maxDelay: Duration = .seconds(5)

    public init() {}

    func delay(afterAttempt attempt: Int) -> Duration {
        let factor = Double(1 << min(attempt, 16)) * Double.random(in: 0.5...1.0)
        return min(baseDelay * factor, maxDelay)
    }
}
