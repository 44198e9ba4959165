import CoreMetrics
import Foundation
import Synchronization

/// The server's metrics through swift-metrics (any backend; `rewrap serve` uses Prometheus and
/// serves `/metrics`). RPC names follow OpenTelemetry's RPC conventions (`rpc.server.duration`
/// with `rpc.system`, `rpc.service`, `rpc.method`, `rpc.connect_rpc.error_code`; kas-server.md §6),
/// spelled with underscores as Prometheus requires.
///
/// Counters kept elsewhere as totals (the key cache's hits, a KMS client's calls) are sampled at
/// scrape time by `Sampler`s and added as the difference since the last scrape.
public final class ServerMetrics: Sendable {
    public typealias Sampler = @Sendable () -> [(name: String, dimensions: [(String, String)], total: Int)]

    private let factory: any MetricsFactory
    private let durations = Mutex<[String: CoreMetrics.Timer]>([:])
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let sampled = Mutex<[String: Int]>([:])
    private let samplers: [Sampler]
    let inFlight: Gauge
    let queuedKAOs: Gauge
    let connections: Gauge

    public init(factory: any MetricsFactory, samplers: [Sampler] = []) {
        self.factory = factory
        self.samplers = samplers
        inFlight = Gauge(label: "rewrap_requests_in_flight", factory: factory)
        queuedKAOs = Gauge(label: "rewrap_kaos_queued", factory: factory)
        connections = Gauge(label: "rewrap_connections_open", factory: factory)
    }

    /// One finished RPC: its latency by procedure and outcome (`ok` or the Connect code).
    func recordRPC(_ procedure: Procedure, code: ConnectCode?, duration: Duration) {
        let codeName = code?.rawValue ?? "ok"
        let key = "\(procedure.rawValue)|\(codeName)"
        let timer = durations.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(label: "rpc_server_duration", dimensions: [
                ("rpc_system", "connect_rpc"), ("rpc_service", procedure.service), ("rpc_method", procedure.method),
                ("rpc_connect_rpc_error_code", codeName),
            ], factory: factory)
            timers[key] = timer
            return timer
        }
        let (seconds, attoseconds) = duration.components
        timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Adds `amount` to the counter `name` with `dimensions` (created on first use).
    func count(_ name: String, _ dimensions: [(String, String)] = [], by amount: Int = 1) {
        guard amount > 0 else { return }
        let key = name + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment(by: amount)
    }

    /// Brings the sampled totals up to date; `rewrap serve` calls it before each scrape.
    func sample() {
        for sampler in samplers {
            for (name, dimensions, total) in sampler() {
                let key = name + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
                let previous = sampled.withLock { last in
                    defer { last[key] = total }
                    return last[key] ?? 0
                }
                count(name, dimensions, by: total - previous)
            }
        }
    }
}
