import Foundation
import RewrapBenchKit

/// A load run as `rewrap-bench load` prints and writes it (`--out`, JSON).
package struct LoadReport: Codable, Sendable {
    package struct Settings: Codable, Sendable {
        package var targets: [String]
        package var rate: Double
        package var endRate: Double
        package var durationSeconds: Double
        package var process: String
        package var segment: String
        package var maxInFlight: Int
        package var threads: Int
        package var batch: Int
        package var algorithms: [String]
        package var clientAlgorithm: String
        package var clients: Int
        package var badFraction: Double
        package var encoding: String
        package var gzip: Bool
        /// http/1.1, h2c or h2.
        package var `protocol`: String
        package var authentication: String
        package var checkEvery: Int
        package var timeoutSeconds: Double

        package init(targets: [String], rate: Double, endRate: Double, durationSeconds: Double, process: String, segment: String,
                     maxInFlight: Int, threads: Int, batch: Int, algorithms: [String], clientAlgorithm: String, clients: Int,
                     badFraction: Double, encoding: String, gzip: Bool, protocol: String, authentication: String, checkEvery: Int,
                     timeoutSeconds: Double) {
            self.targets = targets
            self.rate = rate
            self.endRate = endRate
            self.durationSeconds = durationSeconds
            self.process = process
            self.segment = segment
            self.maxInFlight = maxInFlight
            self.threads = threads
            self.batch = batch
            self.algorithms = algorithms
            self.clientAlgorithm = clientAlgorithm
            self.clients = clients
            self.badFraction = badFraction
            self.encoding = encoding
            self.gzip = gzip
            self.protocol = `protocol`
            self.authentication = authentication
            self.checkEvery = checkEvery
            self.timeoutSeconds = timeoutSeconds
        }
    }

    package struct Threshold: Codable, Sendable {
        package var threshold: String
        /// Latency in µs; other metrics as their threshold reads them.
        package var value: Double
        package var held: Bool
        /// The value as a user reads it (latency in ms).
        package var shown: String
    }

    package var date: String
    package var machine: String
    package var settings: Settings
    package var scheduled: Int
    package var sent: Int
    package var succeeded: Int
    package var failed: Int
    package var errorRate: Double
    package var offeredRate: Double
    package var achievedRate: Double
    package var kaoRate: Double
    package var seconds: Double
    /// From intended send times (coordinated-omission safe), µs.
    package var latency: BenchReport.Latency
    package var sendLag: BenchReport.Latency
    package var errors: [String: Int]
    package var errorSamples: [String: String]
    package var checkedResponses: Int
    package var correctness: BenchReport.Correctness
    package var nonceRetries: Int
    package var reconnects: Int
    package var answersByVersion: [String: Int]
    package var generatorCPUMicrosecondsPerRequest: Double
    package var serverCPUMicrosecondsPerRequest: Double?
    package var thresholds: [Threshold]

    package init(settings: Settings, result: LoadResult, thresholds: [RewrapLoad.Threshold], date: String, machine: String) {
        self.date = date
        self.machine = machine
        self.settings = settings
        scheduled = result.scheduled
        sent = result.sent
        succeeded = result.succeeded
        failed = result.failed
        errorRate = result.errorRate
        // This segment's share of the schedule's rate.
        let share = 1 / Double(max(1, Int(settings.segment.split(separator: "/").last ?? "1") ?? 1))
        offeredRate = (settings.rate + settings.endRate) / 2 * share
        achievedRate = result.achievedRate
        kaoRate = result.kaoRate
        seconds = result.seconds
        latency = result.latency.summary
        sendLag = result.sendLag.summary
        errors = result.errors
        errorSamples = result.errorSamples
        checkedResponses = result.checkedResponses
        correctness = result.correctness
        nonceRetries = result.nonceRetries
        reconnects = result.reconnects
        answersByVersion = result.answersByVersion
        generatorCPUMicrosecondsPerRequest = result.generatorCPUMicrosecondsPerRequest
        serverCPUMicrosecondsPerRequest = result.serverCPUMicrosecondsPerRequest
        let offered = offeredRate
        self.thresholds = thresholds.map {
            let value = $0.value(in: result, offeredRate: offered)
            return Threshold(threshold: $0.text, value: value, held: $0.holds(in: result, offeredRate: offered),
                             shown: $0.metric.isLatency ? String(format: "%.2f ms", value / 1000) : Self.number(value))
        }
    }

    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The human summary.
    package var text: String {
        func ms(_ microseconds: Double) -> String { String(format: "%.2f ms", microseconds / 1000) }
        let s = settings
        let rate = s.rate == s.endRate ? "\(Self.number(s.rate)) req/s" : "\(Self.number(s.rate))→\(Self.number(s.endRate)) req/s"
        var lines = [
            "rewrap-bench load: \(s.targets.joined(separator: ", ")); \(rate) \(s.process) for \(Self.number(s.durationSeconds)) s"
                + (s.segment == "1/1" ? "" : ", segment \(s.segment)")
                + "; batch \(s.batch) of \(s.algorithms.joined(separator: "+")), \(s.clients) client(s) with \(s.clientAlgorithm) keys"
                + (s.badFraction > 0 ? ", \(Self.number(s.badFraction * 100)) % bad KAOs" : "")
                + "; \(s.encoding)\(s.gzip ? " + gzip" : "") over \(s.protocol), auth \(s.authentication); ≤ \(s.maxInFlight) in flight, "
                + "\(s.threads) thread(s)",
            "requests    due \(scheduled)  sent \(sent)  ok \(succeeded)  failed \(failed)  error rate \(String(format: "%.4f", errorRate))",
            "rate        offered \(Self.number(offeredRate))/s  achieved \(Self.number(achievedRate))/s ("
                + String(format: "%.3f", offeredRate > 0 ? achievedRate / offeredRate : 0) + ")  KAO/s \(Self.number(kaoRate))",
            "latency     p50 \(ms(latency.p50Microseconds))  p90 \(ms(latency.p90Microseconds))  p99 \(ms(latency.p99Microseconds))"
                + "  p99.9 \(ms(latency.p999Microseconds))  max \(ms(latency.maxMicroseconds))  (from each request's intended send time)",
            "send lag    p50 \(ms(sendLag.p50Microseconds))  p99 \(ms(sendLag.p99Microseconds))  max \(ms(sendLag.maxMicroseconds))"
                + "  (the generator's own delay; large means it, not the KAS, was the limit)",
        ]
        let c = correctness
        lines.append(s.checkEvery == 0 ? "checked     none (--check-every 0)"
            : "checked     \(checkedResponses) answers (one in \(s.checkEvery)): \(c.kaos) KAOs, \(c.rewrapped) opened to their DEK, "
            + "\(c.refusedAsExpected) refused as expected, \(c.wrongDEKs) WRONG DEKs, \(c.unexpectedOutcomes) unexpected")
        var cost = "generator   \(Self.number(generatorCPUMicrosecondsPerRequest)) µs CPU per request"
        if let server = serverCPUMicrosecondsPerRequest, server > 0 {
            cost += "; server \(Self.number(server)) µs per request; generator ÷ server "
                + String(format: "%.2f", generatorCPUMicrosecondsPerRequest / server)
        }
        lines.append(cost)
        lines.append("answers     " + (answersByVersion.isEmpty ? "none"
            : answersByVersion.sorted { $0.key < $1.key }.map { "\($0.value) over \($0.key)" }.joined(separator: ", ")))
        if nonceRetries > 0 || reconnects > 0 { lines.append("connection  \(nonceRetries) DPoP nonce retries, \(reconnects) reconnects") }
        for (kind, count) in errors.sorted(by: { $0.value > $1.value }) {
            lines.append("error       \(count) × \(kind): \(errorSamples[kind] ?? "")")
        }
        for threshold in thresholds {
            lines.append("threshold   \(threshold.threshold): \(threshold.shown) \(threshold.held ? "held" : "BROKEN")")
        }
        return lines.joined(separator: "\n")
    }

    package static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e12 { return String(Int(value)) }
        return String(format: abs(value) >= 100 ? "%.0f" : abs(value) >= 1 ? "%.1f" : "%.4f", value)
    }
}
