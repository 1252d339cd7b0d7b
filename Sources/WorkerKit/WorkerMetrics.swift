import Metrics
import RelayShared

/// The worker's metrics (docs/worker.md, "Metrics"), through swift-metrics so that the service exports
/// them to Prometheus and tests run with the no-op backend. Names are what the alert rules in
/// deploy/prometheus use.
enum WorkerMetrics {
    static func lag(_ target: TargetName, segments: UInt64, bytes: UInt64, seconds: Double) {
        let dimensions = [("target", target.description)]
        Gauge(label: "relay_worker_lag_segments", dimensions: dimensions).record(Double(segments))
        Gauge(label: "relay_worker_lag_bytes", dimensions: dimensions).record(Double(bytes))
        Gauge(label: "relay_worker_lag_seconds", dimensions: dimensions).record(seconds)
    }

    static func applied(_ target: TargetName, segments: Int, bytes: UInt64) {
        let dimensions = [("target", target.description)]
        Counter(label: "relay_worker_applied_segments_total", dimensions: dimensions).increment(by: segments)
        Counter(label: "relay_worker_applied_bytes_total", dimensions: dimensions).increment(by: Int(clamping: bytes))
    }

    /// Time spent computing Put Page checksums (Content-MD5): its cost against the apply rate.
    static func checksummed(seconds: Double) {
        FloatingPointCounter(label: "relay_worker_checksum_seconds_total").increment(by: seconds)
    }

    static func cursor(_ target: TargetName, seq: UInt64) {
        Gauge(label: "relay_worker_cursor_seq", dimensions: [("target", target.description)]).record(Double(seq))
    }

    /// A message moved to the poison queue, or a segment poisoned at apply time.
    static func poisoned(_ kind: String) {
        Counter(label: "relay_worker_poison_messages_total", dimensions: [("kind", kind)]).increment()
    }

    static func census(_ census: InstanceCensus, claimed: Int) {
        Gauge(label: "relay_worker_instances").record(Double(census.live))
        Gauge(label: "relay_worker_target_share").record(Double(census.share))
        Gauge(label: "relay_worker_targets_claimed").record(Double(claimed))
    }

    static func leaseTakeover() { Counter(label: "relay_worker_lease_takeovers_total").increment() }

    static func claimsLost() { Counter(label: "relay_worker_claims_lost_total").increment() }

    static func recoveryPoint() { Counter(label: "relay_worker_recovery_points_total").increment() }

    /// One storage answer: its HTTP status (`2xx` for any success, `0` when none arrived).
    static func storageResponse(status: String) {
        Counter(label: "relay_worker_storage_responses_total", dimensions: [("status", status)]).increment()
    }

    static func retry(_ operation: String) {
        Counter(label: "relay_worker_retries_total", dimensions: [("operation", operation)]).increment()
    }

    static func intake(_ outcome: String) {
        Counter(label: "relay_worker_messages_total", dimensions: [("outcome", outcome)]).increment()
    }
}
