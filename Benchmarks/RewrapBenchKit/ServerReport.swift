import Foundation

/// One run of `rewrap-bench server`: `rewrap serve` on loopback driven over the network, beside
/// the in-process engine on the same workloads and the raw signature checks authentication
/// needs, all measured in the same run. Written as `results/<UTC date>-server[-quick].json`.
public struct ServerReport: Codable, Sendable, Equatable {
    public static let schemaVersion = 1

    public var schemaVersion = ServerReport.schemaVersion
    public var caseSet: String
    public var date: String
    public var gitCommit: String
    public var machine: BenchReport.Machine
    public var openSSL: String
    public var swiftCompiler: String
    public var buildConfiguration: String
    public var settings: Settings
    /// µs per raw verification on one thread ("ES256", "RS256"), per repetition.
    public var verifyMicroseconds: [String: BenchReport.Sample]
    public var cases: [Case]
    public var targets: [BenchReport.Target]

    public init(caseSet: String, date: String, gitCommit: String, machine: BenchReport.Machine, openSSL: String,
                swiftCompiler: String, buildConfiguration: String, settings: Settings,
                verifyMicroseconds: [String: BenchReport.Sample] = [:], cases: [Case] = [], targets: [BenchReport.Target] = []) {
        self.caseSet = caseSet
        self.date = date
        self.gitCommit = gitCommit
        self.machine = machine
        self.openSSL = openSSL
        self.swiftCompiler = swiftCompiler
        self.buildConfiguration = buildConfiguration
        self.settings = settings
        self.verifyMicroseconds = verifyMicroseconds
        self.cases = cases
        self.targets = targets
    }

    public struct Settings: Codable, Sendable, Equatable {
        public var durationSeconds: Double
        public var warmUpSeconds: Double
        public var repetitions: Int
        /// What the load generator sends: "proto+gzip", over HTTP/1.1 keep-alive.
        public var encoding: String
        /// "dpop" (DPoP-bound access token, fresh proof and signed SRT per request) or "none".
        public var authentication: String
        /// The access tokens' signing algorithm (the issuer's: `rewrap dev-idp --alg`).
        public var tokenAlgorithm: String
        /// `rewrap serve --log-level`: at "warning" the per-KAO audit records are not written.
        public var serverLogLevel: String

        public init(durationSeconds: Double, warmUpSeconds: Double, repetitions: Int, encoding: String, authentication: String,
                    tokenAlgorithm: String, serverLogLevel: String) {
            self.durationSeconds = durationSeconds
            self.warmUpSeconds = warmUpSeconds
            self.repetitions = repetitions
            self.encoding = encoding
            self.authentication = authentication
            self.tokenAlgorithm = tokenAlgorithm
            self.serverLogLevel = serverLogLevel
        }
    }

    /// Throughput and CPU of one side (the server over the network, or the engine in process).
    public struct Figures: Codable, Sendable, Equatable {
        public var kaoPerSecond: BenchReport.Sample
        public var requestsPerSecond: BenchReport.Sample
        /// CPU time (user + system) of the process doing the work ÷ requests, µs.
        public var cpuMicrosecondsPerRequest: BenchReport.Sample
        public var cpuMicrosecondsPerKAO: BenchReport.Sample
        public var latency: BenchReport.Latency

        public init(kaoPerSecond: BenchReport.Sample, requestsPerSecond: BenchReport.Sample, cpuMicrosecondsPerRequest: BenchReport.Sample,
                    cpuMicrosecondsPerKAO: BenchReport.Sample, latency: BenchReport.Latency) {
            self.kaoPerSecond = kaoPerSecond
            self.requestsPerSecond = requestsPerSecond
            self.cpuMicrosecondsPerRequest = cpuMicrosecondsPerRequest
            self.cpuMicrosecondsPerKAO = cpuMicrosecondsPerKAO
            self.latency = latency
        }
    }

    public struct Case: Codable, Sendable, Equatable {
        public var algorithm: String
        public var client: String
        public var batch: Int
        /// "cached": one token for the whole run (verified once, then from the server's cache);
        /// "uncached": a fresh token per request (every request pays the token's signature check);
        /// "none": authentication off.
        public var token: String
        /// Requests the load generator keeps in flight.
        public var streams: Int
        public var server: Figures
        public var inProcess: Figures
        /// The load generator's own CPU per request (signing, gzip, HTTP), µs: not in the server's figure.
        public var clientCPUMicrosecondsPerRequest: BenchReport.Sample
        /// Raw signature checks one request needs (DPoP proof + SRT, + the token when uncached), µs.
        public var verifyMicrosecondsPerRequest: Double
        /// server KAO/s ÷ in-process KAO/s, per repetition.
        public var throughputRatio: BenchReport.Sample
        /// server CPU per request ÷ (in-process CPU per request + raw verifies), per repetition.
        public var cpuRatio: BenchReport.Sample
        /// GET /healthz while this case saturates the server (its own connection, every 20 ms).
        public var healthz: BenchReport.Latency?
        /// Non-200 answers and transport errors in the timed runs, and the first one's text.
        public var errors: Int
        public var firstError: String?
        /// Every distinct request of the workload sent once and every KAO opened (JSON, identity).
        public var correctness: BenchReport.Correctness
        /// in-process CPU per KAO ÷ server CPU per KAO, per repetition: the KAO/s ratio the two
        /// would have if the load generator did not share the server's cores (both are CPU-bound
        /// on every core). On one small machine the measured `throughputRatio` is bounded by the
        /// client's own share of the CPU.
        public var cpuThroughputRatio: BenchReport.Sample?
        /// Allocation calls of the `rewrap serve` process per request (every thread; the counter
        /// preloaded into it), per repetition; nil when the counter library was not built.
        public var serverMallocsPerRequest: BenchReport.Sample?
        /// The same requests through the engine in process, per repetition.
        public var inProcessMallocsPerRequest: BenchReport.Sample?

        public init(algorithm: String, client: String, batch: Int, token: String, streams: Int, server: Figures, inProcess: Figures,
                    clientCPUMicrosecondsPerRequest: BenchReport.Sample, verifyMicrosecondsPerRequest: Double,
                    throughputRatio: BenchReport.Sample, cpuRatio: BenchReport.Sample, healthz: BenchReport.Latency?,
                    errors: Int, firstError: String?, correctness: BenchReport.Correctness,
                    cpuThroughputRatio: BenchReport.Sample? = nil, serverMallocsPerRequest: BenchReport.Sample? = nil,
                    inProcessMallocsPerRequest: BenchReport.Sample? = nil) {
            self.algorithm = algorithm
            self.client = client
            self.batch = batch
            self.token = token
            self.streams = streams
            self.server = server
            self.inProcess = inProcess
            self.clientCPUMicrosecondsPerRequest = clientCPUMicrosecondsPerRequest
            self.verifyMicrosecondsPerRequest = verifyMicrosecondsPerRequest
            self.throughputRatio = throughputRatio
            self.cpuRatio = cpuRatio
            self.healthz = healthz
            self.errors = errors
            self.firstError = firstError
            self.correctness = correctness
            self.cpuThroughputRatio = cpuThroughputRatio
            self.serverMallocsPerRequest = serverMallocsPerRequest
            self.inProcessMallocsPerRequest = inProcessMallocsPerRequest
        }

        public var label: String { "\(algorithm)→\(client) batch=\(batch) token=\(token)" }
    }

    /// Issue #10's targets: batch 64 (cached token) server ÷ in-process KAO/s ≥ 0.85; batch 1
    /// with authentication: server CPU per request ≤ 1.3 × (in-process + raw verifies).
    public static func evaluate(_ report: ServerReport) -> [BenchReport.Target] {
        var targets: [BenchReport.Target] = []
        for item in report.cases {
            if item.batch == 64 && item.token != "uncached" {
                targets.append(.init(name: "server ÷ in-process KAO/s, \(item.label)", value: item.throughputRatio.median, goal: 0.85))
                if let normalised = item.cpuThroughputRatio {
                    targets.append(.init(name: "same, CPU-normalised (load generator off the server's cores), \(item.label)",
                                         value: normalised.median, goal: 0.85))
                }
            }
            if item.batch == 1 && item.token != "none" {
                targets.append(.init(name: "server CPU ÷ (in-process + verifies), \(item.label)", value: item.cpuRatio.median,
                                     goal: 1.3, atMost: true))
            }
        }
        return targets
    }

    /// The CI gate on the server path: per case of `baseline` also in `self`, the server's
    /// mallocs per request may grow by `relative` or `absolute`, whichever is larger (they are
    /// counted over every server thread, so caches filling and NIO's buffer reuse move them a
    /// little between runs). Returns one line per regression; a case counted in the baseline but
    /// not here is one too.
    public func allocationRegressions(against baseline: ServerReport, relative: Double = 0.03, absolute: Double = 3) -> [String] {
        var regressions: [String] = []
        for base in baseline.cases {
            guard let baseMallocs = base.serverMallocsPerRequest?.median else { continue }
            guard let current = cases.first(where: { $0.label == base.label }) else { continue }
            guard let mallocs = current.serverMallocsPerRequest?.median else {
                regressions.append("\(base.label): server mallocs/request not counted (was \(String(format: "%.1f", baseMallocs)))")
                continue
            }
            let limit = baseMallocs + max(absolute, baseMallocs * relative)
            if mallocs > limit {
                func f(_ value: Double) -> String { String(format: "%.1f", value) }
                regressions.append("\(current.label): server mallocs/request \(f(mallocs)) > \(f(limit)) (baseline \(f(baseMallocs)))")
            }
        }
        return regressions
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> ServerReport {
        let report = try JSONDecoder().decode(ServerReport.self, from: data)
        guard report.schemaVersion == schemaVersion else {
            throw BenchReportError("server report schema \(report.schemaVersion), this build reads \(schemaVersion)")
        }
        return report
    }

    /// The tables of `results/server-latest.md`.
    public func markdown() -> String {
        func f(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }
        var out = """
        # rewrap-bench server: \(caseSet), \(date)

        \(machine.cpu), \(machine.cores) cores, \(f(machine.memoryGiB, 1)) GiB, \(machine.os); \(openSSL); \(swiftCompiler); \
        \(buildConfiguration) build; commit \(gitCommit). `rewrap serve` on 127.0.0.1 (a child process, CPU from /proc), \
        driven over HTTP/1.1 keep-alive with \(settings.encoding), authentication \(settings.authentication) \
        (\(settings.tokenAlgorithm) access tokens from `rewrap dev-idp`, a fresh DPoP proof and ES256-signed SRT per request), \
        server log level \(settings.serverLogLevel). In-process: the same requests through `RewrapEngine` on all cores. \
        Medians of \(settings.repetitions) repetition(s) of \(f(settings.durationSeconds, 1)) s.

        Raw verifications, one thread: \(verifyMicroseconds.keys.sorted().map { "\($0) \(f(verifyMicroseconds[$0]!.median, 1)) µs" }.joined(separator: ", ")).

        | case | streams | server KAO/s | in-process KAO/s | ratio | CPU-normalised ratio | server CPU µs/req | in-process CPU µs/req | verifies µs/req | CPU ratio | client CPU µs/req | server / in-process mallocs/req | server p50 / p99 ms | /healthz p50 / p99 ms | errors | correct |
        |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|

        """
        for item in cases {
            let health = item.healthz.map { "\(f($0.p50Microseconds / 1000, 2)) / \(f($0.p99Microseconds / 1000, 2))" } ?? "–"
            let correct = item.correctness.wrongDEKs == 0 && item.correctness.unexpectedOutcomes == 0
                ? "\(item.correctness.rewrapped)/\(item.correctness.kaos)" : "**\(item.correctness.wrongDEKs) wrong, \(item.correctness.unexpectedOutcomes) unexpected**"
            out += "| \(item.label) | \(item.streams) | \(f(item.server.kaoPerSecond.median)) | \(f(item.inProcess.kaoPerSecond.median)) "
                + "| \(f(item.throughputRatio.median, 2)) | \(item.cpuThroughputRatio.map { f($0.median, 2) } ?? "–") "
                + "| \(f(item.server.cpuMicrosecondsPerRequest.median)) "
                + "| \(f(item.inProcess.cpuMicrosecondsPerRequest.median)) | \(f(item.verifyMicrosecondsPerRequest)) "
                + "| \(f(item.cpuRatio.median, 2)) | \(f(item.clientCPUMicrosecondsPerRequest.median)) "
                + "| \(item.serverMallocsPerRequest.map { f($0.median, 1) } ?? "–") / \(item.inProcessMallocsPerRequest.map { f($0.median, 1) } ?? "–") "
                + "| \(f(item.server.latency.p50Microseconds / 1000, 2)) / \(f(item.server.latency.p99Microseconds / 1000, 2)) "
                + "| \(health) | \(item.errors) | \(correct) |\n"
        }
        if !targets.isEmpty {
            out += "\n| target | value | goal | met |\n|---|---:|---:|---|\n"
            for target in targets {
                out += "| \(target.name) | \(f(target.value, 2)) | \(target.atMost ? "≤" : "≥") \(f(target.goal, 2)) | \(target.met ? "yes" : "**no**") |\n"
            }
        }
        return out
    }
}
