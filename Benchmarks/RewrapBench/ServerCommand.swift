import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import RewrapBenchKit
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapLoad
import RewrapKeyRing
import RewrapWire

struct Server: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark `rewrap serve` over the network against the in-process engine (issue #10's server path).",
        discussion: """
        Starts, as child processes of this one: `rewrap keys generate` (a keyring in a temporary folder), \
        `rewrap dev-idp` (an OIDC issuer on loopback) and `rewrap serve` with real authentication \
        (--issuer/--audience of that issuer, --require-dpop). Then, per case, it drives the server \
        closed-loop over HTTP/1.1 keep-alive exactly as an OpenTDF SDK calls a KAS: Connect protobuf, gzip \
        both ways, a DPoP-bound access token, and per request a fresh DPoP proof and an ES256-signed SRT. \
        `rewrap` must be built beside rewrap-bench.

        Per case, in the same repetition:
          server       KAO/s, requests/s, the server process's CPU µs per request and
                       per KAO (/proc), latency; /healthz p50/p99 from its own
                       connection meanwhile
          in-process   the same requests through RewrapEngine on all cores, CPU µs per
                       request
          verifies     the raw cost of the signature checks a request needs (DPoP proof
                       and SRT, ES256; the access token too when it is not cached),
                       measured on one thread over messages of the sizes the server
                       verifies
        and a correctness pass (every distinct request once as JSON, every KAO opened). token=cached sends \
        one token for the run (verified once, then from the server's cache); token=uncached sends a fresh \
        token per request, so every request pays its check.

        Targets (issue #10): batch 64 server ÷ in-process KAO/s ≥ 0.85; batch 1 server CPU per request ≤ 1.3 \
        × (in-process CPU per request + the raw verifies).

        Mallocs: every allocation call of the `rewrap serve` process is counted by \
        libRewrapAllocationCounter.so, preloaded into it (build it beside rewrap-bench: swift build -c \
        release --product RewrapAllocationCounter), over a fixed number of requests per case, next to the \
        in-process engine's for the same requests.

        Writes results/<UTC date>-server[-quick].json and results/server-latest.md. Exits 2 if a KAO came \
        back wrong or a request failed; with --baseline, 1 if server mallocs per request grew past the \
        baseline's (3 % or 3, whichever is larger).

        Examples:
          swift build -c release --product rewrap && swift build -c release \\
              --product RewrapAllocationCounter
          swift run -c release rewrap-bench server
          # one short repetition
          swift run -c release rewrap-bench server --quick
          swift run -c release rewrap-bench server --algorithms ec:secp256r1 \\
              --batches 1 --repetitions 5
        """)

    @Option(help: "KAS key algorithms, comma-separated.") var algorithms = "rsa:2048,ec:secp256r1"
    @Option(help: "KAOs per request, comma-separated.") var batches = "1,64"
    @Option(help: "Token modes, comma-separated: cached, uncached (uncached runs at batch 1 only).") var tokens = "cached,uncached"
    @Option(name: .customLong("duration"), help: "Seconds each timed run lasts (default 2; 0.5 with --quick).") var durationOption: Double?
    @Option(name: .customLong("warm-up"), help: "Seconds of untimed load before each (default 0.5; 0.2 with --quick).") var warmUpOption: Double?
    @Option(name: .customLong("repetitions"), help: "Repetitions; figures are medians (default 3; 1 with --quick).") var repetitionsOption: Int?
    @Option(help: "Requests in flight against the server (default: 4 × cores at batch 1, 2 × cores above).") var streams: Int?
    @Option(help: "Fresh tokens per uncached run (each used once; default 1500; 300 with --quick).") var uncachedRequests: Int?
    @Option(help: "`rewrap serve --log-level`; at warning the per-KAO audit records are not written.") var serverLogLevel = "warning"
    @Flag(help: "Short and once: a smoke run (< 1 minute).") var quick = false
    @Option(help: "Folder for the JSON report and server-latest.md.") var resultsDir = "results"
    @Flag(help: "Do not write any file; print the table only.") var noWrite = false
    @Option(help: ArgumentHelp("A server report to gate against: exit 1 when a case's server mallocs per request grew past it.",
                               discussion: "CI: rewrap-bench server --quick --baseline results/baseline-server.json", valueName: "report.json"))
    var baseline: String?

    var duration: Double { durationOption ?? (quick ? 0.5 : 2) }
    var warmUp: Double { warmUpOption ?? (quick ? 0.2 : 0.5) }
    var repetitions: Int { repetitionsOption ?? (quick ? 1 : 3) }

    func run() async throws {
        let algorithmList = try parseList(algorithms, option: "--algorithms", command: "server") { KeyAlgorithm($0) }
        let batchList = try parseList(batches, option: "--batches", command: "server") { Int($0).flatMap { $0 > 0 && $0 <= 1000 ? $0 : nil } }
        let tokenModes = try parseList(tokens, option: "--tokens", command: "server") { ["cached", "uncached"].contains($0) ? $0 : nil }
        guard duration > 0, warmUp >= 0, repetitions >= 1 else { throw ValidationError("--duration, --warm-up and --repetitions must be positive") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let progress = Progress()
        if Environment.buildConfiguration == "debug" {
            progress.note("warning: debug build; figures are not meaningful (swift build -c release --product rewrap && swift run -c release rewrap-bench server)")
        }

        let signals = RewrapChild.stopChildrenOnSignals()
        defer { signals.forEach { $0.cancel() } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-bench-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        RewrapChild.removeOnSignal(folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        progress.note("generating KAS keys with `rewrap keys generate` in \(folder.path)")
        for algorithm in algorithmList {
            try RewrapChild.run(["keys", "generate", "--alg", algorithm.description, "--kid", Self.kid(algorithm),
                                 "--out", "kas", "--keyring", "kas/keyring.yaml"], directory: folder)
        }
        let keyRing = try KeyRing.load(file: folder.appendingPathComponent("kas/keyring.yaml").path)

        let audience = "http://localhost:8080"
        let idp = try RewrapChild(["dev-idp", "--port", "0", "--audience", audience], directory: folder)
        defer { idp.stop() }
        let idpPort = try idp.waitForPort()
        let issuer = "http://127.0.0.1:\(idpPort)"
        let allocations = try ServerAllocationCounter.library().map { try ServerAllocationCounter(library: $0, folder: folder) }
        if allocations == nil {
            guard baseline == nil else {
                throw BenchError("--baseline gates mallocs, and the counter library is not built beside rewrap-bench: "
                    + "swift build -c \(Environment.buildConfiguration) --product RewrapAllocationCounter")
            }
            progress.note("server mallocs not counted: libRewrapAllocationCounter.so is not beside rewrap-bench "
                + "(swift build -c \(Environment.buildConfiguration) --product RewrapAllocationCounter)")
        }
        let server = try RewrapChild(["serve", "--keyring", "kas/keyring.yaml", "--port", "0", "--issuer", issuer, "--audience", audience,
                                      "--require-dpop", "--permit-all", "--log-level", serverLogLevel], directory: folder,
                                     environment: allocations?.environment ?? [:])
        defer { server.stop() }
        let port = try server.waitForPort()
        progress.note("rewrap serve on 127.0.0.1:\(port) (pid \(server.pid)), issuer \(issuer)")

        var pool = HTTPClient.Configuration()
        pool.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        pool.decompression = .disabled
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: pool)
        let probe = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let report = try await measure(algorithms: algorithmList, batches: batchList, tokenModes: tokenModes, keyRing: keyRing,
                                           http: http, probe: probe, base: "http://127.0.0.1:\(port)", tokenURL: issuer + "/token",
                                           cores: cores, server: server, allocations: allocations, progress: progress)
            try await http.shutdown()
            try await probe.shutdown()
            let status = server.stop()
            guard status == 0 else { throw BenchError("rewrap serve exited \(status) on SIGTERM: \(server.text.suffix(2000))") }
            try finish(report, progress: progress)
        } catch {
            try? await http.shutdown()
            try? await probe.shutdown()
            throw error
        }
    }

    private func measure(algorithms: [KeyAlgorithm], batches: [Int], tokenModes: [String], keyRing: KeyRing, http: HTTPClient,
                         probe: HTTPClient, base: String, tokenURL: String, cores: Int, server: RewrapChild,
                         allocations: ServerAllocationCounter?, progress: Progress) async throws -> ServerReport {
        struct Planned {
            var algorithm: KeyAlgorithm
            var batch: Int
            var token: String
            var workload: Workload
            var requestJSON: [String]
            var streams: Int
        }
        let clientKey = try PrivateKey.generate(.ec(.p256))
        let client = try ServerClient(http: http, base: base, key: clientKey, authenticated: true)
        var planned: [Planned] = []
        for algorithm in algorithms {
            guard let kas = keyRing.key(forKid: Self.kid(algorithm)) else { throw BenchError("no key \(Self.kid(algorithm)) in the keyring") }
            // The client of the KAS key's family, as the suite's key-path figures use.
            let workloadClient = algorithm.isRSA ? try PrivateKey.generate(.rsa2048) : clientKey
            for batch in batches {
                let workload = try Workload.uniform(kas: kas, clientKey: workloadClient, batch: batch)
                let json = workload.requests.map { String(decoding: RewrapRequestBuilder.json($0), as: UTF8.self) }
                for token in tokenModes where token == "cached" || batch == 1 {
                    planned.append(Planned(algorithm: algorithm, batch: batch, token: token, workload: workload, requestJSON: json,
                                           streams: streams ?? (batch == 1 ? 4 * cores : 2 * cores)))
                }
            }
        }
        guard !planned.isEmpty else { throw BenchError("these options select no case") }

        let cachedToken = try await client.token(tokenURL: tokenURL)
        let verifySeconds = quick ? 0.1 : 0.3
        let proofBytes = 900, tokenBytes = cachedToken.utf8.count
        let tokenAlgorithm: JWSAlgorithm = .rs256  // `rewrap dev-idp`'s default
        progress.expect(steps: repetitions * planned.count)

        var results = Array(repeating: (server: [ServerRun](), inProcess: [EngineRun](), verifies: [Double](),
                                        serverMallocs: [Double](), inProcessMallocs: [Double](),
                                        correctness: BenchReport.Correctness()), count: planned.count)
        var verifyTable: [String: [Double]] = [:]
        for repetition in 1...repetitions {
            // The proof and the token are the same size in every case: measured once a repetition.
            let proofVerify = try RawVerifyCost.microseconds(.es256, messageBytes: proofBytes, seconds: verifySeconds)
            let tokenVerify = try RawVerifyCost.microseconds(tokenAlgorithm, messageBytes: tokenBytes, seconds: verifySeconds)
            verifyTable["ES256", default: []].append(proofVerify)
            verifyTable[tokenAlgorithm.rawValue, default: []].append(tokenVerify)
            for (index, item) in planned.enumerated() {
                progress.step("rep \(repetition)/\(repetitions)  \(item.algorithm) batch=\(item.batch) token=\(item.token)")
                // Raw verifies this request needs: the DPoP proof, the SRT (at its real size: the
                // hash over a batch-64 SRT counts), and the token when the server's cache cannot answer.
                let srtBytes = item.requestJSON[0].utf8.count * 4 / 3 + 200
                var verifies = try proofVerify + RawVerifyCost.microseconds(.es256, messageBytes: srtBytes, seconds: verifySeconds / 2)
                var tokens: [String?] = [cachedToken]
                var length = ServerRunLength.seconds(duration)
                if item.token == "uncached" {
                    verifies += tokenVerify
                    let count = uncachedRequests ?? (quick ? 300 : 1500)
                    tokens = []
                    for _ in 0..<count { tokens.append(try await client.token(tokenURL: tokenURL)) }
                    length = .requests(count)
                }
                _ = await ServerLoad.run(client, server: server, requestJSON: item.requestJSON, batch: item.batch, tokens: [cachedToken],
                                         streams: item.streams, length: .seconds(warmUp))
                // The uncached run has no /healthz probe, so its own window counts the server's
                // mallocs; a cached case counts them in a fixed run of its own after the timed one.
                let cached = item.token == "cached"
                let run = await ServerLoad.run(client, server: server, requestJSON: item.requestJSON, batch: item.batch, tokens: tokens,
                                               streams: item.streams, length: length, probe: cached ? probe : nil,
                                               allocations: cached ? nil : allocations)
                var counted = run.serverMallocsPerRequest
                if cached, let allocations {
                    counted = await ServerLoad.run(client, server: server, requestJSON: item.requestJSON, batch: item.batch,
                                                   tokens: [cachedToken], streams: item.streams,
                                                   length: .requests(Self.countedRequests(batch: item.batch, quick: quick)),
                                                   allocations: allocations).serverMallocsPerRequest
                }
                if let counted { results[index].serverMallocs.append(counted) }
                var configuration = RewrapConfiguration()
                configuration.maxConcurrency = cores
                let engine = RewrapEngine(keys: keyRing, authorizer: PermitAll(), configuration: configuration)
                let inProcess = await Measurement.run(engine: engine, workload: item.workload, streams: item.batch == 1 ? cores : 1,
                                                      length: .seconds(duration), warmUp: warmUp)
                if AllocationCounter.isActive {
                    let requests = Self.countedRequests(batch: item.batch, quick: quick)
                    AllocationCounter.start()
                    _ = await Measurement.run(engine: engine, workload: item.workload, streams: item.batch == 1 ? cores : 1,
                                              length: .kaos(requests * item.batch), warmUp: 0)
                    results[index].inProcessMallocs.append(Double(AllocationCounter.stop()) / Double(requests))
                }
                results[index].server.append(run)
                results[index].inProcess.append(inProcess)
                results[index].verifies.append(verifies)
                if repetition == 1 {
                    results[index].correctness = await ServerLoad.check(client, workload: item.workload, requestJSON: item.requestJSON,
                                                                        token: cachedToken)
                }
            }
        }
        progress.finish()

        var report = ServerReport(
            caseSet: quick ? "server-quick" : "server", date: Environment.utcTimestamp(), gitCommit: Environment.gitCommit,
            machine: Environment.machine, openSSL: OpenSSLInfo.version, swiftCompiler: Environment.swiftCompiler,
            buildConfiguration: Environment.buildConfiguration,
            settings: .init(durationSeconds: duration, warmUpSeconds: warmUp, repetitions: repetitions, encoding: "Connect proto + gzip",
                            authentication: "dpop", tokenAlgorithm: tokenAlgorithm.rawValue, serverLogLevel: serverLogLevel),
            verifyMicroseconds: verifyTable.mapValues(BenchReport.Sample.init))
        for (item, result) in zip(planned, results) {
            var serverLatency = LatencyRecorder()
            var inProcessLatency = LatencyRecorder()
            var health: LatencyRecorder?
            for run in result.server {
                serverLatency.add(run.latency)
                if let probed = run.healthz {
                    var merged = health ?? LatencyRecorder()
                    merged.add(probed)
                    health = merged
                }
            }
            for run in result.inProcess { inProcessLatency.add(run.latency) }
            let inProcessCPU = result.inProcess.map { $0.cpuMicrosecondsPerKAO * Double(item.batch) }
            report.cases.append(.init(
                algorithm: item.algorithm.description, client: item.workload.clientAlgorithm.description, batch: item.batch,
                token: item.token, streams: item.streams,
                server: .init(kaoPerSecond: .init(result.server.map(\.kaoPerSecond)), requestsPerSecond: .init(result.server.map(\.requestsPerSecond)),
                              cpuMicrosecondsPerRequest: .init(result.server.map(\.serverCPUMicrosecondsPerRequest)),
                              cpuMicrosecondsPerKAO: .init(result.server.map { $0.serverCPUMicrosecondsPerRequest / Double(item.batch) }),
                              latency: serverLatency.summary),
                inProcess: .init(kaoPerSecond: .init(result.inProcess.map(\.kaoPerSecond)),
                                 requestsPerSecond: .init(result.inProcess.map(\.requestsPerSecond)),
                                 cpuMicrosecondsPerRequest: .init(inProcessCPU),
                                 cpuMicrosecondsPerKAO: .init(result.inProcess.map(\.cpuMicrosecondsPerKAO)), latency: inProcessLatency.summary),
                clientCPUMicrosecondsPerRequest: .init(result.server.map(\.clientCPUMicrosecondsPerRequest)),
                verifyMicrosecondsPerRequest: Statistics.median(result.verifies),
                throughputRatio: .init(zip(result.server, result.inProcess).map { $0.kaoPerSecond / max($1.kaoPerSecond, 1e-9) }),
                cpuRatio: .init(zip(zip(result.server, inProcessCPU), result.verifies).map { pair, verifies in
                    pair.0.serverCPUMicrosecondsPerRequest / max(pair.1 + verifies, 1e-9)
                }),
                healthz: health?.summary, errors: result.server.reduce(0) { $0 + $1.errors },
                firstError: result.server.compactMap(\.firstError).first, correctness: result.correctness,
                cpuThroughputRatio: .init(zip(result.server, result.inProcess).map { server, inProcess in
                    inProcess.cpuMicrosecondsPerKAO / max(server.serverCPUMicrosecondsPerRequest / Double(item.batch), 1e-9)
                }),
                serverMallocsPerRequest: result.serverMallocs.isEmpty ? nil : .init(result.serverMallocs),
                inProcessMallocsPerRequest: result.inProcessMallocs.isEmpty ? nil : .init(result.inProcessMallocs)))
        }
        report.targets = ServerReport.evaluate(report)
        return report
    }

    /// Requests a malloc count is taken over: enough that a one-off allocation moves the figure
    /// by well under one.
    static func countedRequests(batch: Int, quick: Bool) -> Int {
        batch == 1 ? (quick ? 200 : 500) : (quick ? 20 : 50)
    }

    /// A kid `rewrap keys generate` takes (letters, digits, '-', '_', '.').
    static func kid(_ algorithm: KeyAlgorithm) -> String {
        "bench-" + algorithm.description.replacingOccurrences(of: ":", with: "-")
    }

    private func finish(_ report: ServerReport, progress: Progress) throws {
        let markdown = report.markdown()
        print(markdown)
        if !noWrite {
            let base = URL(fileURLWithPath: resultsDir)
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            let json = base.appendingPathComponent("\(ReportFiles.stamp(report.date))-\(report.caseSet).json")
            try report.encoded().write(to: json)
            try Data(markdown.utf8).write(to: base.appendingPathComponent("server-latest.md"))
            progress.note("wrote \(json.path), \(base.appendingPathComponent("server-latest.md").path)")
        }
        let wrong = report.cases.reduce(0) { $0 + $1.correctness.wrongDEKs + $1.correctness.unexpectedOutcomes }
        let errors = report.cases.reduce(0) { $0 + $1.errors }
        if wrong > 0 || errors > 0 {
            let first = report.cases.compactMap(\.firstError).first.map { " (first: \($0))" } ?? ""
            FileHandle.standardError.write(Data("error: \(wrong) KAOs wrong or unexpected, \(errors) failed requests\(first)\n".utf8))
            throw ExitCode(2)
        }
        if let baseline {
            let base = try ServerReport.decode(Data(contentsOf: URL(fileURLWithPath: baseline)))
            let regressions = report.allocationRegressions(against: base)
            guard regressions.isEmpty else {
                FileHandle.standardError.write(Data(("server mallocs regressed against \(baseline):\n"
                    + regressions.map { "  " + $0 }.joined(separator: "\n") + "\n").utf8))
                throw ExitCode(1)
            }
            let gated = base.cases.filter { $0.serverMallocsPerRequest != nil }.count
            print("server mallocs per request: no regression against \(baseline) (\(gated) case(s))")
        }
    }
}
