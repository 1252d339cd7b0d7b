import Logging
import ServiceLifecycle
import Synchronization

/// The worker as a swift-service-lifecycle `Service`: a graceful shutdown (SIGTERM, SIGINT) lets the
/// apply loops finish their batch in flight, save the cursor and release their leases; the service
/// group cancels whatever is left after its maximum graceful shutdown duration.
public final class WorkerService: Service {
    public let worker: Worker
    private let outcomeBox = OutcomeBox()

    public init(worker: Worker) { self.worker = worker }

    /// How the worker's run ended (nil until it has).
    public var outcome: Worker.Outcome? { outcomeBox.value }

    public func run() async throws {
        let worker = worker
        let outcome = try await withGracefulShutdownHandler {
            try await worker.run()
        } onGracefulShutdown: {
            worker.stop()
        }
        outcomeBox.value = outcome
    }
}

private final class OutcomeBox: Sendable {
    private let stored = Mutex<Worker.Outcome?>(nil)
    var value: Worker.Outcome? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
