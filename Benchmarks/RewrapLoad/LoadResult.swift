import RewrapBenchKit
import Synchronization

/// What an open-loop run is asked to do.
package struct LoadPlan: Sendable {
    package enum Encoding: String, Sendable, CaseIterable {
        /// `application/proto`, what the Go and Java SDKs send.
        case proto
        /// `application/json`.
        case json
    }

    /// Load is spread over these round-robin, by connection.
    package var targets: [LoadTarget]
    package var schedule: ArrivalSchedule
    /// Request k comes from client k mod count, variant (k / count) mod its variants.
    package var clients: [SimulatedClient]
    /// Requests in flight at most (one keep-alive HTTP/1.1 connection each); arrivals beyond it
    /// wait in the generator, their latency still counted from their intended time.
    package var maxInFlight = 64
    /// Event-loop threads of the generator.
    package var threads = 1
    package var encoding = Encoding.proto
    /// gzip request bodies, and accept gzip answers.
    package var gzip = true
    /// Check one response in this many (1: every response; 0: none).
    package var checkEvery = 1
    /// Seconds from a request's intended time after which it counts as failed (`timeout`).
    package var timeout = 10.0
    /// KAOs per request (for KAO/s).
    package var batch = 1
    /// For https targets.
    package var tls = LoadTLS()
    /// HTTP/2 (h2c with prior knowledge on http, ALPN h2 on https) instead of HTTP/1.1.
    package var http2 = false
    /// HTTP/2 connections per generator thread (at least one per target); the in-flight slots
    /// are spread over them as streams.
    package var http2Connections = 1

    package init(targets: [LoadTarget], schedule: ArrivalSchedule, clients: [SimulatedClient]) {
        self.targets = targets
        self.schedule = schedule
        self.clients = clients
    }
}

/// How https targets are verified.
package struct LoadTLS: Sendable {
    /// PEM file of the CA (or self-signed certificate) to trust; nil: the system's roots.
    package var caFile: String?
    /// Skip certificate verification (a test KAS with a throw-away certificate).
    package var verify = true

    package init(caFile: String? = nil, verify: Bool = true) {
        self.caFile = caFile
        self.verify = verify
    }
}

/// What one run measured (one loop's share, or all of them merged).
package struct LoadResult: Sendable {
    /// Arrivals due in this run (this segment's).
    package var scheduled = 0
    /// Requests written to a connection (a nonce retry is not a new request).
    package var sent = 0
    /// Answered 200.
    package var succeeded = 0
    /// Everything else: error answers, timeouts, closed connections.
    package var failed = 0
    /// KAOs in the 200 answers.
    package var kaos = 0
    /// Every finished request (answered or failed), from its intended send time: coordinated-
    /// omission safe. µs.
    package var latency = LatencyRecorder()
    /// How late each request went out after its intended time (the generator's own health: a
    /// lag that grows means it, not the server, is the limit). µs.
    package var sendLag = LatencyRecorder()
    /// Failures by kind ("HTTP 503 unavailable", "timeout", …), and one message of each.
    package var errors: [String: Int] = [:]
    package var errorSamples: [String: String] = [:]
    /// KAOs of the checked responses, by outcome.
    package var correctness = BenchReport.Correctness()
    package var checkedResponses = 0
    /// Requests resent once with the nonce a 401 `use_dpop_nonce` carried.
    package var nonceRetries = 0
    /// Connections reopened during the run (closed by the server or timed out).
    package var reconnects = 0
    /// Answers by the HTTP version they came in ("HTTP/1.1", "HTTP/2.0"): what the KAS really spoke.
    package var answersByVersion: [String: Int] = [:]
    /// Seconds from the first intended arrival to the last finished request.
    package var seconds = 0.0
    /// CPU of this process during the run, and of the server's when its pid was given.
    package var generatorCPUSeconds = 0.0
    package var serverCPUSeconds: Double?

    package init() {}

    package var finished: Int { succeeded + failed }
    package var achievedRate: Double { seconds > 0 ? Double(succeeded) / seconds : 0 }
    package var kaoRate: Double { seconds > 0 ? Double(kaos) / seconds : 0 }
    /// Failed requests of all that were due.
    package var errorRate: Double { scheduled > 0 ? Double(failed + max(0, scheduled - finished)) / Double(scheduled) : 0 }
    package var generatorCPUMicrosecondsPerRequest: Double { sent > 0 ? generatorCPUSeconds * 1e6 / Double(sent) : 0 }
    package var serverCPUMicrosecondsPerRequest: Double? { serverCPUSeconds.map { sent > 0 ? $0 * 1e6 / Double(sent) : 0 } }

    mutating func fail(_ kind: String, sample: @autoclosure () -> String) {
        failed += 1
        errors[kind, default: 0] += 1
        if errorSamples[kind] == nil { errorSamples[kind] = String(sample().prefix(300)) }
    }

    mutating func add(_ other: LoadResult) {
        scheduled += other.scheduled
        sent += other.sent
        succeeded += other.succeeded
        failed += other.failed
        kaos += other.kaos
        latency.add(other.latency)
        sendLag.add(other.sendLag)
        for (kind, count) in other.errors { errors[kind, default: 0] += count }
        for (kind, sample) in other.errorSamples where errorSamples[kind] == nil { errorSamples[kind] = sample }
        correctness.add(other.correctness)
        checkedResponses += other.checkedResponses
        nonceRetries += other.nonceRetries
        reconnects += other.reconnects
        for (version, count) in other.answersByVersion { answersByVersion[version, default: 0] += count }
    }
}

/// Counters the progress line reads while a run goes on (relaxed atomics: a display, not a result).
package final class LoadProgress: Sendable {
    package let sent = Atomic<Int>(0)
    package let succeeded = Atomic<Int>(0)
    package let failed = Atomic<Int>(0)
    package let wrongDEKs = Atomic<Int>(0)

    package init() {}
}
