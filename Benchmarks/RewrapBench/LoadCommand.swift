import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOSSL
import RewrapClient
import RewrapCrypto
import RewrapLoad

struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open-loop load on any OpenTDF KAS: a fixed arrival rate, latency from intended send times, every answer checked.",
        discussion: """
        Requests arrive on a schedule fixed before the run (--rate, optionally ramping to --end-rate; \
        --poisson for random arrivals), whatever the KAS answers: a slow answer holds up no later \
        request, and each request's latency runs from when it was due, so a stall shows in p99 for \
        every request it delayed (coordinated omission, corrected as wrk2 does). At most \
        --max-in-flight requests are outstanding (one keep-alive HTTP/1.1 connection each, or with \
        --http2 streams over --http2-connections per thread); due requests beyond it wait in the \
        generator and their wait counts. https:// targets use TLS (--ca-file to trust a private CA).

        The KAS's keys come from its PublicKey RPC (--algorithms; or --kas-public KID=FILE). Each \
        simulated client (--clients) has its own rewrap key and DPoP key; with --token-url or \
        --issuer it gets an access token by client credentials bound to that key, refreshed before \
        it expires, and every request carries a freshly signed SRT and a fresh DPoP proof (a nonce \
        challenge is answered once). Request bodies are prepared before the run, so a send costs \
        two signatures, gzip and the write.

        Every answer is checked by default: each DEK is opened with the client key and compared \
        with the one the generator wrapped; bad KAOs (--bad-fraction) must fail with `bad \
        request`. A wrong DEK or an unexpected outcome always fails the run (exit 2). \
        --check-every N checks one answer in N, for rates where checking would cost the generator \
        more than the KAS; the report says which.

        Exit status: 0; 1 when a --threshold broke (named on stderr); 2 on a wrong DEK or \
        unexpected KAO outcome, or when the run could not start; 64 on bad usage.

        Examples:
          # a local KAS with authentication from `rewrap dev-idp` (port 8888)
          rewrap-bench load --url http://127.0.0.1:8080 --token-url http://127.0.0.1:8888/token \\
              --rate 500 --duration 30 --threshold 'p99<25ms' --threshold 'error_rate<0.001'
          # authentication off, JSON, 16 KAOs per request, two KAS key algorithms
          rewrap-bench load --url http://127.0.0.1:8080 --no-auth --encoding json \\
              --batch 16 --algorithms rsa:2048,ec:secp256r1 --rate 100 --duration 10
          # one of two generator processes (each sends every other arrival), then the whole
          rewrap-bench load --url http://kas-1:8080 --no-auth --rate 2000 --segment 1/2 \\
              --histogram-log a.hlog
          rewrap-bench merge a.hlog b.hlog
        """)

    @Option(name: .customLong("url"), help: ArgumentHelp("A KAS base URL (http[s]://host:port[/prefix]); repeat to spread load over a fleet.",
                                                         valueName: "url"))
    var urls: [String] = []
    @Option(help: "Arrivals per second (all segments together).") var rate: Double = 100
    @Option(help: "Ramp linearly from --rate to this over the run.") var endRate: Double?
    @Option(help: "Seconds the schedule lasts.") var duration: Double = 10
    @Flag(help: "Poisson arrivals (exponential gaps, reproducible with --seed) instead of evenly spaced ones.") var poisson = false
    @Option(help: "Seed of the Poisson schedule (the same in every segment).") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("This process's slice of the schedule: arrivals k with k mod n = i − 1.", valueName: "i/n"))
    var segment: String = "1/1"
    @Option(help: "Requests in flight at most (= HTTP/1.1 connections).") var maxInFlight = 64
    @Option(help: "Generator threads (default: the machine's cores).") var threads: Int?
    @Option(help: "Seconds after its intended send time at which a request counts as failed.") var timeout: Double = 10
    @Option(help: "https: a PEM CA (or self-signed) certificate to trust instead of the system's roots.") var caFile: String?
    @Flag(help: "https: do not verify the KAS's certificate (a throw-away test certificate; said loudly).") var insecureSkipTLSVerify = false

    @Option(help: "KAS key algorithms, comma-separated; KAOs go round-robin over them (keys from the PublicKey RPC).")
    var algorithms = "ec:secp256r1"
    @Option(name: .customLong("kas-public"), help: ArgumentHelp("A KAS public key as KID=PEM-FILE instead of the PublicKey RPC; repeatable.",
                                                                valueName: "kid=file"))
    var kasPublic: [String] = []
    @Option(help: ArgumentHelp("Replay the KAOs of the .tdf files in this folder (`rewrap make-tdf`, or real ones) instead of generated ones.",
                               valueName: "folder"))
    var replay: String?
    @Option(help: "KAOs per request.") var batch = 1
    @Option(help: "Policies (TDFs) per request, the KAOs spread over them (at most --batch).") var policies = 1
    @Option(help: "Distinct simulated clients (each its own rewrap and DPoP key, and token).") var clients = 4
    @Option(help: "The clients' rewrap key: ec:secp256r1, or rsa:2048 (the Go SDK's default; checking its answers costs an RSA decrypt per KAO).") var clientKey = "ec:secp256r1"
    @Option(help: "Share of KAOs that are bad (tampered binding, unknown kid); they must be refused.") var badFraction = 0.0
    @Option(help: "Request encoding: proto (application/proto, the SDKs') or json.") var encoding = "proto"
    @Flag(help: "Send and accept identity bodies instead of gzip.") var noGzip = false
    @Flag(help: "HTTP/2: h2c with prior knowledge on http:// (as the Java SDK), ALPN h2 on https://; requests as streams.")
    var http2 = false
    @Option(help: "--http2: connections per generator thread (at least one per URL); the in-flight requests are streams on them.")
    var http2Connections = 1

    @Option(help: "OIDC token endpoint (client credentials, DPoP-bound tokens), e.g. http://127.0.0.1:8888/token.") var tokenURL: String?
    @Option(help: "OIDC issuer whose discovery document names the token endpoint (instead of --token-url).") var issuer: String?
    @Option(help: "Client id at the token endpoint.") var clientID = "opentdf"
    @Option(help: "Client secret (default: $REWRAP_LOAD_CLIENT_SECRET, else `secret`, what `rewrap dev-idp` accepts).")
    var clientSecret: String?
    @Option(help: "A file holding an access token to send as Bearer (no DPoP).") var tokenFile: String?
    @Flag(help: "Send no credentials (a KAS with authentication off).") var noAuth = false

    @Option(help: "Check one answer in N (1: all; 0: none).") var checkEvery = 1
    @Option(help: ArgumentHelp("A pass/fail condition, e.g. 'p99<25ms', 'error_rate<0.001'; repeatable (exit 1 when one breaks).",
                               discussion: Threshold.syntax, valueName: "condition"))
    var threshold: [String] = []
    @Option(help: "Write the report as JSON here.") var out: String?
    @Option(help: ArgumentHelp("Write the latencies as an HdrHistogram interval log (µs; `rewrap-bench merge` combines segments' logs).",
                               valueName: "file.hlog"))
    var histogramLog: String?
    @Option(help: "Seconds per interval of --histogram-log.") var logInterval: Double = 1
    @Option(help: "The KAS's process id, when it runs on this machine: its CPU per request is reported beside the generator's.")
    var serverPID: Int32?
    @Option(help: "Seconds between progress lines on stderr (0: none).") var progress: Double = 5

    @Flag(help: ArgumentHelp("Search for the maximum sustainable rate (the knee) instead of one run.",
                             discussion: "Steps of --duration seconds from --rate, doubling until one fails, then bisection, then a confirmation run."))
    var findMax = false
    @Option(help: "--find-max: the p99 a step must keep (with a unit).") var sloP99 = "25ms"
    @Option(help: "--find-max: the error rate a step may have at most.") var errorBudget = 0.001
    @Option(help: "--find-max: the highest rate tried.") var maxRate: Double = 100_000
    @Option(help: "--find-max: stop bisecting when pass and fail are within this fraction.") var precision = 0.05

    func validate() throws {
        guard !urls.isEmpty else { throw ValidationError("give the KAS with --url http://host:port") }
        for url in urls where LoadTarget(url: url) == nil {
            throw ValidationError("--url \(url): not an http[s]://host[:port][/prefix] URL")
        }
        guard rate > 0, rate <= 1_000_000, (endRate ?? rate) >= 0, (endRate ?? rate) <= 1_000_000 else {
            throw ValidationError("--rate and --end-rate must be in (0, 1000000]")
        }
        guard duration > 0, duration <= 86_400 else { throw ValidationError("--duration must be in (0, 86400] seconds") }
        guard (rate + (endRate ?? rate)) / 2 * duration <= 100_000_000 else {
            throw ValidationError("the schedule holds more than 100 million requests: shorten --duration or lower --rate")
        }
        guard Segment(parsing: segment) != nil else { throw ValidationError("--segment must be i/n with 1 ≤ i ≤ n") }
        guard (1...100_000).contains(maxInFlight) else { throw ValidationError("--max-in-flight must be in 1…100000") }
        guard (1...1000).contains(http2Connections) else { throw ValidationError("--http2-connections must be in 1…1000") }
        guard threads.map({ (1...256).contains($0) }) ?? true else { throw ValidationError("--threads must be in 1…256") }
        guard timeout > 0, timeout <= 600 else { throw ValidationError("--timeout must be in (0, 600] seconds") }
        guard (1...1000).contains(batch) else { throw ValidationError("--batch must be in 1…1000") }
        guard (1...batch).contains(policies) else { throw ValidationError("--policies must be in 1…--batch") }
        guard (1...10_000).contains(clients) else { throw ValidationError("--clients must be in 1…10000") }
        guard (0...1).contains(badFraction) else { throw ValidationError("--bad-fraction must be in 0…1") }
        guard replay == nil || (badFraction == 0 && kasPublic.isEmpty) else {
            throw ValidationError("--replay sends the files' own KAOs: no --bad-fraction or --kas-public")
        }
        guard LoadPlan.Encoding(rawValue: encoding) != nil else { throw ValidationError("--encoding must be proto or json") }
        guard checkEvery >= 0 else { throw ValidationError("--check-every must be 0 or more") }
        guard logInterval >= 0.1, logInterval <= 3600 else { throw ValidationError("--log-interval must be in [0.1, 3600] seconds") }
        guard histogramLog == nil || !findMax else { throw ValidationError("--histogram-log records one run, not a --find-max search") }
        guard ["ec:secp256r1", "rsa:2048"].contains(clientKey) else { throw ValidationError("--client-key must be ec:secp256r1 or rsa:2048") }
        let modes = [tokenURL != nil || issuer != nil, tokenFile != nil, noAuth].filter { $0 }.count
        guard modes == 1 else {
            throw ValidationError("choose one way to authenticate: --token-url (or --issuer), --token-file, or --no-auth")
        }
        guard tokenURL == nil || issuer == nil else { throw ValidationError("give --token-url or --issuer, not both") }
        for item in kasPublic where !item.contains("=") { throw ValidationError("--kas-public \(item): expected KID=FILE") }
        for text in threshold {
            do { _ = try Threshold(parsing: text) } catch { throw ValidationError(error.description) }
        }
        if findMax {
            guard endRate == nil, segment == "1/1" else { throw ValidationError("--find-max runs whole constant-rate steps: no --end-rate or --segment") }
            guard (try? Threshold(parsing: "p99<" + sloP99)) != nil else { throw ValidationError("--slo-p99 \(sloP99): a latency with a unit, e.g. 25ms") }
            guard (0...1).contains(errorBudget) else { throw ValidationError("--error-budget must be in 0…1") }
            guard maxRate >= rate, maxRate <= 1_000_000 else { throw ValidationError("--max-rate must be in [--rate, 1000000]") }
            guard precision > 0, precision < 1 else { throw ValidationError("--precision must be in (0, 1)") }
        }
    }

    func run() async throws {
        let targets = urls.compactMap(LoadTarget.init(url:))
        let thresholds = try threshold.map { try Threshold(parsing: $0) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadCount = threads ?? cores
        if insecureSkipTLSVerify { Self.note("warning: --insecure-skip-tls-verify: the KAS's TLS certificate is NOT verified") }
        // PublicKey and the token endpoint: the same trust as the load's own connections.
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        if let caFile { clientTLS.trustRoots = .file(caFile) }
        if insecureSkipTLSVerify { clientTLS.certificateVerification = .none }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: clientTLS))
        do {
            try await run(http: http, targets: targets, thresholds: thresholds, threadCount: threadCount)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
    }

    private func run(http: HTTPClient, targets: [LoadTarget], thresholds: [Threshold], threadCount: Int) async throws {
        @Sendable func note(_ text: String) { Self.note(text) }
        if Environment.buildConfiguration == "debug" {
            note("warning: debug build; the generator's own cost is far higher (swift build -c release --product rewrap-bench)")
        }
        do {
            // KAS keys: the files given, else the first target's PublicKey RPC (a fleet shares keys);
            // none for a replay, whose KAOs are already wrapped.
            var kasKeys: [TDFWriter.KASPublicKey] = []
            let replayed = try replay.map(Self.manifests(in:))
            if let replayed {
                note("replaying \(replayed.count) .tdf file(s), \(replayed.reduce(0) { $0 + $1.manifest.keyAccess.count }) KAO(s)")
            } else if kasPublic.isEmpty {
                let list = try parseList(algorithms, option: "--algorithms", command: "load") { KeyAlgorithm($0) }
                for algorithm in list { kasKeys.append(try await KASPublicKeys.fetch(target: targets[0], algorithm: algorithm, http: http)) }
            } else {
                for item in kasPublic {
                    let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                    kasKeys.append(try KASPublicKeys.load(kid: parts[0], file: parts[1]))
                }
            }
            if replayed == nil { note("KAS keys: " + kasKeys.map { "\($0.kid) (\($0.key.algorithm))" }.joined(separator: ", ")) }

            let authentication: LoadAuthentication
            var endpoint: TokenEndpoint?
            let secret = clientSecret ?? ProcessInfo.processInfo.environment["REWRAP_LOAD_CLIENT_SECRET"] ?? "secret"
            if noAuth {
                authentication = .none
            } else if let tokenFile {
                guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8), text.utf8.count < 64 << 10 else {
                    throw LoadError("cannot read an access token from \(tokenFile)")
                }
                authentication = .bearer(text.trimmingCharacters(in: .whitespacesAndNewlines))
            } else {
                let url: String
                if let tokenURL { url = tokenURL } else { url = try await TokenEndpoint.discover(issuer: issuer!, http: http) }
                endpoint = TokenEndpoint(url: url, clientID: clientID, clientSecret: secret)
                authentication = .clientCredentials(endpoint!)
            }

            note("preparing \(clients) client(s): keys, \(batch)-KAO requests, SRT payloads")
            let clientAlgorithm = KeyAlgorithm(clientKey)!
            var simulated: [SimulatedClient] = []
            for _ in 0..<clients {
                let key = try PrivateKey.generate(clientAlgorithm)
                let workload = try replayed.map { try Workload.replay($0, clientKey: key, batch: batch) }
                    ?? Workload.mixed(kas: kasKeys, clientKey: key, batch: batch, badFraction: badFraction, policies: policies)
                simulated.append(try SimulatedClient(workload: workload, dpopKey: try PrivateKey.generate(.ec(.p256)),
                                                     authentication: authentication, targets: targets.count))
            }
            let refresher = TokenRefresher()
            defer { refresher.stop() }
            if let endpoint {
                note("fetching \(clients) DPoP-bound token(s) from \(endpoint.url)")
                try await refresher.start(clients: simulated, endpoint: endpoint, http: http)
            }

            if findMax {
                var plan = LoadPlan(targets: targets, schedule: ArrivalSchedule(rate: rate, duration: duration), clients: simulated)
                configure(&plan, threads: threadCount)
                try await search(plan, settings: settings(targets: targets, kasKeys: kasKeys, threads: threadCount, segment: .whole))
                return
            }
            let schedule = ArrivalSchedule(rate: rate, endRate: endRate, duration: duration,
                                           process: poisson ? .poisson(seed: seed) : .constant, segment: Segment(parsing: segment)!)
            var plan = LoadPlan(targets: targets, schedule: schedule, clients: simulated)
            configure(&plan, threads: threadCount)
            note("running: \(Int(schedule.expectedArrivals / Double(schedule.segment.count))) requests due over \(duration) s")
            let log = try histogramLog.map { path in
                try HistogramLogWriter(path: path, startTime: Date(), comment: "rewrap-bench load: latency in µs from intended send times, "
                    + "segment \(schedule.segment), \(targets.map(\.description).joined(separator: " "))")
            }
            defer { log?.close() }
            let result = try await LoadRun.run(plan, serverPID: serverPID, progressEvery: progress, histogramLog: log,
                                               logInterval: logInterval) { note($0) }
            if let histogramLog { note("wrote \(histogramLog)") }

            let report = LoadReport(settings: settings(targets: targets, kasKeys: kasKeys, threads: threadCount, segment: schedule.segment),
                                    result: result, thresholds: thresholds, date: Environment.utcTimestamp(), machine: Self.machine)
            print(report.text)
            if let out {
                try report.encoded().write(to: URL(fileURLWithPath: out))
                note("wrote \(out)")
            }
            let correctness = result.correctness
            if correctness.wrongDEKs > 0 || correctness.unexpectedOutcomes > 0 {
                note("error: \(correctness.wrongDEKs) wrong DEK(s), \(correctness.unexpectedOutcomes) unexpected KAO outcome(s)")
                throw ExitCode(2)
            }
            let broken = report.thresholds.filter { !$0.held }
            if !broken.isEmpty {
                note("thresholds broken: " + broken.map { "\($0.threshold) (was \($0.shown))" }.joined(separator: ", "))
                throw ExitCode(1)
            }
        } catch let error as LoadError {
            note("error: \(error)")
            throw ExitCode(2)
        }
    }

    func configure(_ plan: inout LoadPlan, threads: Int) {
        plan.tls = LoadTLS(caFile: caFile, verify: !insecureSkipTLSVerify)
        plan.http2 = http2
        plan.http2Connections = http2Connections
        plan.maxInFlight = maxInFlight
        plan.threads = threads
        plan.encoding = LoadPlan.Encoding(rawValue: encoding)!
        plan.gzip = !noGzip
        plan.checkEvery = checkEvery
        plan.timeout = timeout
        plan.batch = batch
    }

    func settings(targets: [LoadTarget], kasKeys: [TDFWriter.KASPublicKey], threads: Int, segment: Segment) -> LoadReport.Settings {
        LoadReport.Settings(
            targets: targets.map(\.description), rate: rate, endRate: endRate ?? rate, durationSeconds: duration,
            process: poisson ? "poisson(seed \(seed))" : "constant", segment: segment.description,
            maxInFlight: maxInFlight, threads: threads, batch: batch,
            algorithms: replay == nil ? kasKeys.map { $0.key.algorithm.description } : ["replay"],
            clientAlgorithm: clientKey, clients: clients, badFraction: badFraction, encoding: encoding, gzip: !noGzip,
            protocol: http2 ? (targets.allSatisfy(\.tls) ? "h2" : targets.contains(where: \.tls) ? "h2/h2c" : "h2c") : "http/1.1",
            authentication: noAuth ? "none" : tokenFile != nil ? "bearer" : "dpop", checkEvery: checkEvery, timeoutSeconds: timeout)
    }

    /// The manifests of the .tdf files in `folder` (at most 100,000 files).
    static func manifests(in folder: String) throws -> [(name: String, manifest: TDFManifest)] {
        let urls: [URL]
        do { urls = try TDFArchive.files(in: URL(fileURLWithPath: (folder as NSString).expandingTildeInPath)) } catch {
            throw LoadError("--replay \(folder): \(error)")
        }
        guard !urls.isEmpty else { throw LoadError("--replay \(folder): no .tdf file") }
        guard urls.count <= 100_000 else { throw LoadError("--replay \(folder): more than 100,000 .tdf files") }
        return try urls.map { url in
            do { return (url.lastPathComponent, try TDFArchive.readManifest(try Data(contentsOf: url))) } catch {
                throw LoadError("\(url.path): \(error)")
            }
        }
    }

    static var machine: String {
        let machine = Environment.machine
        return "\(machine.cpu), \(machine.cores) cores, \(machine.os)"
    }

    static func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
