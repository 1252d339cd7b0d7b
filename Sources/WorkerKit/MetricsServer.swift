import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `/healthz` and Prometheus `/metrics` on the metrics port (docs/worker.md, "Service"), served by
/// Hummingbird. Bootstraps swift-metrics with the Prometheus registry, once per process.
public enum MetricsServer {
    /// The registry the worker's metrics go to; `bootstrap()` makes it the process's metrics backend.
    public static let registry = PrometheusCollectorRegistry()

    public static func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The HTTP service: `GET /healthz` answers 200 while the worker's loop is alive, 503 otherwise;
    /// `GET /metrics` the registry in Prometheus' text format.
    public static func application(
        host: String = "0.0.0.0", port: Int, worker: Worker, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some Service {
        let router = Router()
        router.get("healthz") { _, _ -> Response in
            let healthy = worker.isHealthy
            return Response(
                status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: healthy ? "ok\n" : "stalled\n")))
        }
        router.get("metrics") { _, _ -> Response in
            var text: [UInt8] = []
            registry.emit(into: &text)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
