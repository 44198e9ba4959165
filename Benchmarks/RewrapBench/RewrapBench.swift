import ArgumentParser
import Foundation
import RewrapCrypto
import RewrapEngine
import RewrapKeyManagement
import RewrapKMSSimulator

@main
struct RewrapBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrap-bench",
        abstract: "Measure the rewrap engine's key paths against the raw OpenSSL ceiling, in one run.",
        discussion: """
        For each KAS key algorithm, the raw OpenSSL rate of its dominant primitive (RSA private
        decrypt, or ECDH derive) is measured in a tight loop on 1 thread and on all cores; then the
        engine rewraps generated requests (as the OpenTDF Go SDK writes them) for every batch size
        and thread count, once per key path:
          local         keys parsed at start from a keyring
          cached-warm   key registry (SQLite, root-wrapped keys) behind a warm parsed-key cache
          cached-cold   the same with the cache emptied as the timed run starts
          uncached      registry lookup + root unwrap + PEM parse per KAO (what the Go KAS does)
          kms           the key in a simulated AWS KMS (REMOTE mode) on loopback HTTP, per --kms-profiles;
                        measured against Little's law bound min(quota, C ÷ mean latency), all cores only
        Efficiency = engine KAO/s ÷ ceiling (same primitive, same threads, same repetition);
        scaling = all cores ÷ 1 thread. Every rewrapped DEK is checked after each case.

        A batch-1 case runs one closed-loop request stream per thread; larger batches run one
        stream and the engine spreads the KAOs over its worker threads.

        Examples:
          swift run -c release rewrap-bench                      # every path (~3.5 min)
          swift run -c release rewrap-bench --paths local,cached-warm --batches 256
          swift run -c release rewrap-bench --quick              # one short repetition
          swift run -c release rewrap-bench --algorithms ec:secp384r1,rsa:4096 --batches 256
          swift run -c release rewrap-bench --client ec:secp256r1 --threads 2 --repetitions 5
        """)

    @Option(help: "KAS key algorithms, comma-separated (rsa:2048, rsa:3072, rsa:4096, ec:secp256r1, ec:secp384r1, ec:secp521r1).")
    var algorithms = "rsa:2048,ec:secp256r1"

    @Option(help: "Client key algorithm, or 'auto' (RSA-2048 client for RSA KAS keys, an EC client on the same curve for EC keys).")
    var client = "auto"

    @Option(help: "Key paths, comma-separated: local, cached-warm, cached-cold, uncached, kms.")
    var paths = "local,cached-warm,cached-cold,uncached,kms"

    @Option(help: "Simulated KMS profiles for the kms path: realistic, stress, outage, zero.")
    var kmsProfiles = "realistic,stress"

    @Option(help: "Seconds each kms case is timed (the quota's token bucket needs seconds to show).")
    var kmsDuration = 2.0

    @Option(help: "Seconds of untimed warm-up before each kms case (drains the KMS's initial burst allowance).")
    var kmsWarmUp = 1.5

    @Option(help: "KAOs per request, comma-separated.")
    var batches = "1,16,256"

    @Option(help: "Thread counts, comma-separated; 'all' means every active core.")
    var threads = "1,all"

    @Option(help: "Seconds each case and each ceiling is timed.")
    var duration = 1.0

    @Option(name: .customLong("warm-up"), help: "Seconds of untimed warm-up before each case.")
    var warmUp = 0.3

    @Option(help: "Repetitions of the whole suite; figures are medians over them.")
    var repetitions = 3

    @Flag(help: "One short repetition (0.5 s per case, kms cases too): a smoke run for CI.")
    var quick = false

    @Option(help: "Where to write the JSON report; a Markdown table is written beside it (default: results/local.json for --paths local, else results/paths.json).")
    var output: String?

    @Flag(help: "Do not write the report files.")
    var noWrite = false

    mutating func run() async throws {
        if quick {
            duration = 0.5
            warmUp = 0.1
            repetitions = 1
            kmsDuration = 0.5
            kmsWarmUp = 0.3
        }
        let algorithmList = try parseList(algorithms) { KeyAlgorithm($0) }
        let batchList = try parseList(batches) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        let allPaths = try parseList(paths) { BenchPath(rawValue: $0) }
        let pathList = allPaths.filter { $0 != .kms }
        let kmsProfileList = allPaths.contains(.kms) ? try parseList(kmsProfiles) { SimulatorProfile.named($0) == nil ? nil : $0 } : []
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadList = try parseList(threads) { $0 == "all" ? cores : Int($0).flatMap { $0 > 0 ? $0 : nil } }
        guard duration > 0, warmUp >= 0, repetitions > 0 else {
            throw ValidationError("--duration must be > 0, --warm-up ≥ 0, --repetitions > 0")
        }
        let progress = Progress(total: repetitions * algorithmList.count
            * (threadList.count * (1 + batchList.count * pathList.count) + batchList.count * kmsProfileList.count))
        progress.note("rewrap-bench: \(Environment.allocator), \(OpenSSLInfo.version), \(cores) cores, \(Environment.buildConfiguration) build")
        if Environment.buildConfiguration == "debug" {
            progress.note("warning: debug build; figures are not meaningful (use swift run -c release rewrap-bench)")
        }

        // Keys and workloads are made once; every repetition replays the same requests.
        var setups: [(algorithm: KeyAlgorithm, clientAlgorithm: KeyAlgorithm, keys: KeyPaths, workloads: [Int: Workload],
                      kms: [String: KMSPath])] = []
        for algorithm in algorithmList {
            let clientAlgorithm = try clientAlgorithm(for: algorithm)
            progress.note("generating \(algorithm) KAS key, \(clientAlgorithm) client key and requests")
            let kasKey = try PrivateKey.generate(algorithm)
            kasKey.warmUp()
            let keys = try KeyPaths(kid: Workload.kid(algorithm), key: kasKey)
            let clientKey = try PrivateKey.generate(clientAlgorithm)
            var workloads: [Int: Workload] = [:]
            for batch in batchList {
                workloads[batch] = try Workload(algorithm: algorithm, clientAlgorithm: clientAlgorithm, batch: batch,
                                                kasKey: kasKey, clientKey: clientKey)
            }
            var kmsPaths: [String: KMSPath] = [:]
            for profile in kmsProfileList {
                progress.note("starting the simulated KMS (\(profile)) for \(algorithm) and registering its answers")
                kmsPaths[profile] = try await KMSPath(profileName: profile, kid: Workload.kid(algorithm), key: kasKey,
                                                      workloads: Array(workloads.values), maxInFlight: Self.kmsMaxInFlight)
            }
            setups.append((algorithm, clientAlgorithm, keys, workloads, kmsPaths))
        }

        struct CaseKey: Hashable {
            var path: BenchPath = .local
            var profile = ""
            var algorithm: String
            var batch: Int
            var threads: Int
        }
        var ceilingRuns: [CaseKey: [Double]] = [:]
        var engineRuns: [CaseKey: [EngineRun]] = [:]
        var wrong: [CaseKey: Int] = [:]
        var failed: [CaseKey: Int] = [:]
        var cacheCounters: [CaseKey: KeyCacheCounters] = [:]
        var kmsStats: [CaseKey: (throttled: Int, retries: Int, faults: Int)] = [:]
        let allCores = threadList.max() ?? cores

        for repetition in 1...repetitions {
            for setup in setups {
                let name = setup.algorithm.description
                for threadCount in threadList {
                    progress.step("rep \(repetition)/\(repetitions)  ceiling \(PrimitiveCeiling.primitive(for: setup.algorithm))  threads=\(threadCount)")
                    let rate = try PrimitiveCeiling.measure(
                        PrimitiveCeiling.primitive(for: setup.algorithm), threads: threadCount, duration: duration)
                    ceilingRuns[CaseKey(algorithm: name, batch: 0, threads: threadCount), default: []].append(rate)
                }
                for batch in batchList {
                    let workload = setup.workloads[batch]!
                    for path in pathList {
                        for threadCount in threadList {
                            progress.step("rep \(repetition)/\(repetitions)  \(name) → \(setup.clientAlgorithm)  \(path.rawValue)  batch=\(batch)  threads=\(threadCount)")
                            var configuration = RewrapConfiguration()
                            configuration.maxConcurrency = threadCount
                            let source = setup.keys.source(path)
                            let engine = RewrapEngine(keys: source, authorizer: PermitAll(), configuration: configuration)
                            let cache = (source as? RegistryKeySource)?.cache
                            if path == .cachedWarm {
                                _ = await workload.check(engine: engine)  // make sure it is warm
                            }
                            cache?.resetCounters()
                            let streams = batch == 1 ? threadCount : 1
                            let run = await Measurement.run(engine: engine, workload: workload, streams: streams, duration: duration,
                                                            warmUp: path == .cachedCold ? 0 : warmUp)
                            let key = CaseKey(path: path, algorithm: name, batch: batch, threads: threadCount)
                            engineRuns[key, default: []].append(run)
                            if let counters = cache?.counters {
                                var total = cacheCounters[key] ?? KeyCacheCounters()
                                total.add(counters)
                                cacheCounters[key] = total
                            }
                            let (wrongCount, failedCount) = await workload.check(engine: engine)
                            wrong[key, default: 0] += wrongCount
                            failed[key, default: 0] += failedCount
                        }
                    }
                    for profile in kmsProfileList {
                        let kms = setup.kms[profile]!
                        progress.step("rep \(repetition)/\(repetitions)  \(name) → \(setup.clientAlgorithm)  kms(\(profile))  batch=\(batch)  threads=\(allCores)")
                        var configuration = RewrapConfiguration()
                        configuration.maxConcurrency = allCores
                        let engine = RewrapEngine(keys: kms.source, authorizer: PermitAll(), configuration: configuration)
                        let before = (kms.client.statistics, kms.simulator.counters.faultsInjected.values.reduce(0, +))
                        let run = await Measurement.run(engine: engine, workload: workload, streams: batch == 1 ? allCores : 1,
                                                        duration: kmsDuration, warmUp: kmsWarmUp)
                        let after = (kms.client.statistics, kms.simulator.counters.faultsInjected.values.reduce(0, +))
                        let key = CaseKey(path: .kms, profile: profile, algorithm: name, batch: batch, threads: allCores)
                        engineRuns[key, default: []].append(run)
                        var stats = kmsStats[key] ?? (0, 0, 0)
                        stats.throttled += after.0.throttled - before.0.throttled
                        stats.retries += after.0.retries - before.0.retries
                        stats.faults += after.1 - before.1
                        kmsStats[key] = stats
                        let (wrongCount, failedCount) = await workload.check(engine: engine)
                        wrong[key, default: 0] += wrongCount
                        failed[key, default: 0] += failedCount
                    }
                }
            }
        }
        progress.finish()
        for setup in setups { for kms in setup.kms.values { await kms.shutdown() } }

        // Assemble the report.
        var report = Report(
            date: ISO8601DateFormatter().string(from: Date()), gitCommit: Environment.gitCommit,
            machine: Environment.machine, openSSL: OpenSSLInfo.version, swiftCompiler: Environment.swiftCompiler,
            allocator: Environment.allocator, buildConfiguration: Environment.buildConfiguration,
            durationSeconds: duration, warmUpSeconds: warmUp, repetitions: repetitions,
            ceilings: [], cases: [], scaling: [], pathRatios: [], targets: [])
        for setup in setups {
            let name = setup.algorithm.description
            for threadCount in threadList {
                let rates = ceilingRuns[CaseKey(algorithm: name, batch: 0, threads: threadCount)] ?? []
                report.ceilings.append(.init(
                    primitive: PrimitiveCeiling.primitive(for: setup.algorithm).description, algorithm: name,
                    threads: threadCount, opsPerSecond: rates, medianOpsPerSecond: rates.median))
            }
            for batch in batchList {
                for path in pathList {
                    for threadCount in threadList {
                        let key = CaseKey(path: path, algorithm: name, batch: batch, threads: threadCount)
                        let runs = engineRuns[key] ?? []
                        let ceilings = ceilingRuns[CaseKey(algorithm: name, batch: 0, threads: threadCount)] ?? []
                        let efficiencies = zip(runs, ceilings).map { $0.kaoPerSecond / $1 }
                        let latencies = runs.flatMap(\.latenciesMicroseconds)
                        report.cases.append(.init(
                            path: path.rawValue, algorithm: name, client: setup.clientAlgorithm.description, batch: batch,
                            threads: threadCount, streams: batch == 1 ? threadCount : 1, kaoPerSecond: runs.map(\.kaoPerSecond),
                            medianKAOPerSecond: runs.map(\.kaoPerSecond).median,
                            medianRequestsPerSecond: runs.map(\.requestsPerSecond).median,
                            efficiency: efficiencies.median, efficiencyPerRepetition: efficiencies,
                            latencyP50Microseconds: latencies.percentile(50), latencyP99Microseconds: latencies.percentile(99),
                            latencyMaxMicroseconds: latencies.max() ?? 0,
                            wrongDEKs: wrong[key] ?? 0, failedKAOs: failed[key] ?? 0, cache: cacheCounters[key], kms: nil))
                    }
                    if let single = threadList.first(where: { $0 == 1 }), let most = threadList.max(), most > 1 {
                        let base = engineRuns[CaseKey(path: path, algorithm: name, batch: batch, threads: single)] ?? []
                        let wide = engineRuns[CaseKey(path: path, algorithm: name, batch: batch, threads: most)] ?? []
                        let ratios = zip(wide, base).map { $0.kaoPerSecond / $1.kaoPerSecond }
                        report.scaling.append(.init(path: path.rawValue, algorithm: name, client: setup.clientAlgorithm.description,
                                                    batch: batch, threads: most, ratio: ratios.median, ratioPerRepetition: ratios))
                    }
                }
                for profile in kmsProfileList {
                    let kms = setup.kms[profile]!
                    let key = CaseKey(path: .kms, profile: profile, algorithm: name, batch: batch, threads: allCores)
                    let runs = engineRuns[key] ?? []
                    let latencies = runs.flatMap(\.latenciesMicroseconds)
                    let streams = batch == 1 ? allCores : 1
                    let concurrency = min(RewrapConfiguration().maxRemoteConcurrency, Self.kmsMaxInFlight, batch * streams)
                    let bound = kms.bound(algorithm: setup.algorithm, concurrency: concurrency)
                    let median = runs.map(\.kaoPerSecond).median
                    let stats = kmsStats[key] ?? (0, 0, 0)
                    report.cases.append(.init(
                        path: "kms", algorithm: name, client: setup.clientAlgorithm.description, batch: batch, threads: allCores,
                        streams: streams, kaoPerSecond: runs.map(\.kaoPerSecond), medianKAOPerSecond: median,
                        medianRequestsPerSecond: runs.map(\.requestsPerSecond).median,
                        efficiency: median / bound, efficiencyPerRepetition: runs.map { $0.kaoPerSecond / bound },
                        latencyP50Microseconds: latencies.percentile(50), latencyP99Microseconds: latencies.percentile(99),
                        latencyMaxMicroseconds: latencies.max() ?? 0, wrongDEKs: wrong[key] ?? 0, failedKAOs: failed[key] ?? 0,
                        cache: nil,
                        kms: .init(profile: profile, concurrency: concurrency, meanLatencyMilliseconds: kms.meanLatencySeconds * 1000,
                                   boundKAOPerSecond: bound, ratioToBound: median / bound, throttled: stats.throttled,
                                   retries: stats.retries, faultsInjected: stats.faults,
                                   sendRate: kms.client.sendRate.isFinite ? kms.client.sendRate : nil)))
                }
                // Paths against each other, per repetition, same algorithm, batch and threads.
                for threadCount in threadList {
                    func runs(_ path: BenchPath) -> [EngineRun] {
                        engineRuns[CaseKey(path: path, algorithm: name, batch: batch, threads: threadCount)] ?? []
                    }
                    for (numerator, denominator) in [(BenchPath.cachedWarm, BenchPath.local), (.cachedWarm, .uncached), (.cachedCold, .local)]
                    where pathList.contains(numerator) && pathList.contains(denominator) {
                        let ratios = zip(runs(numerator), runs(denominator)).map { $0.kaoPerSecond / $1.kaoPerSecond }
                        report.pathRatios.append(.init(
                            numerator: numerator.rawValue, denominator: denominator.rawValue, algorithm: name, batch: batch,
                            threads: threadCount, ratio: ratios.median, ratioPerRepetition: ratios))
                    }
                }
            }
        }
        report.targets = targets(report, allCores: cores)

        let markdown = report.markdown()
        print(markdown)
        if !noWrite {
            try write(report, markdown: markdown)
            FileHandle.standardError.write(Data("wrote \(outputPath) and \(markdownPath)\n".utf8))
        }
        let wrongTotal = report.cases.reduce(0) { $0 + $1.wrongDEKs }
        let failedLocal = report.cases.filter { $0.kms == nil }.reduce(0) { $0 + $1.failedKAOs }
        if failedLocal > 0 {
            FileHandle.standardError.write(Data("error: \(failedLocal) KAOs failed on local paths\n".utf8))
            throw ExitCode(2)
        }
        if wrongTotal > 0 {
            FileHandle.standardError.write(Data("error: \(wrongTotal) KAOs did not rewrap to their DEK\n".utf8))
            throw ExitCode(2)
        }
    }

    /// The targets, where the run covers them.
    private func targets(_ report: Report, allCores: Int) -> [Report.Target] {
        var targets: [Report.Target] = []
        func efficiency(_ algorithm: String, _ goal: Double) {
            guard let c = report.cases.first(where: {
                $0.path == BenchPath.local.rawValue && $0.algorithm == algorithm && $0.batch == 256 && $0.threads == allCores
            }) else { return }
            targets.append(.init(name: "\(algorithm) → \(c.client), batch 256, \(allCores) threads: KAO/s ÷ ceiling",
                                 value: c.efficiency, goal: goal, met: c.efficiency >= goal))
        }
        func scaling(_ algorithm: String) {
            guard allCores > 1, let s = report.scaling.first(where: {
                $0.path == BenchPath.local.rawValue && $0.algorithm == algorithm && $0.batch == 256
            }) else { return }
            targets.append(.init(name: "\(algorithm) → \(s.client), batch 256: \(s.threads) threads ÷ 1 thread",
                                 value: s.ratio, goal: 1.8, met: s.ratio >= 1.8))
        }
        func pathRatio(_ numerator: BenchPath, _ denominator: BenchPath, _ algorithm: String, _ goal: Double) {
            guard let r = report.pathRatios.first(where: {
                $0.numerator == numerator.rawValue && $0.denominator == denominator.rawValue && $0.algorithm == algorithm
                    && $0.batch == 256 && $0.threads == allCores
            }) else { return }
            targets.append(.init(name: "\(algorithm), batch 256, \(allCores) threads: \(numerator.rawValue) ÷ \(denominator.rawValue)",
                                 value: r.ratio, goal: goal, met: r.ratio >= goal))
        }
        efficiency("ec:secp256r1", 0.70)
        efficiency("rsa:2048", 0.90)
        scaling("ec:secp256r1")
        scaling("rsa:2048")
        pathRatio(.cachedWarm, .local, "ec:secp256r1", 0.95)
        pathRatio(.cachedWarm, .local, "rsa:2048", 0.95)
        pathRatio(.cachedWarm, .uncached, "ec:secp256r1", 5)
        for algorithm in ["rsa:2048", "ec:secp256r1"] {
            guard let realistic = report.cases.first(where: { $0.kms?.profile == "realistic" && $0.algorithm == algorithm && $0.batch == 256 })
            else { continue }
            targets.append(.init(name: "\(algorithm), kms (realistic), batch 256: KAO/s ÷ min(quota, C ÷ mean latency)",
                                 value: realistic.kms!.ratioToBound, goal: 0.9, met: realistic.kms!.ratioToBound >= 0.9))
            if let stress = report.cases.first(where: { $0.kms?.profile == "stress" && $0.algorithm == algorithm && $0.batch == 256 }) {
                let ratio = stress.latencyP99Microseconds / max(realistic.latencyP99Microseconds, 1)
                targets.append(.init(name: "\(algorithm), kms (stress), batch 256: 3 ÷ (p99 ÷ no-fault p99), ≥ 1 means p99 ≤ 3× (wrong DEKs: \(stress.wrongDEKs))",
                                     value: 3 / ratio, goal: 1, met: ratio <= 3 && stress.wrongDEKs == 0))
            }
        }
        return targets
    }

    /// The KMS client's in-flight bound (and connection pool size) in the kms path.
    static let kmsMaxInFlight = 64

    private var outputPath: String {
        output ?? (paths == "local" ? "results/local.json" : "results/paths.json")
    }

    private var markdownPath: String {
        outputPath.hasSuffix(".json") ? String(outputPath.dropLast(5)) + ".md" : outputPath + ".md"
    }

    private func write(_ report: Report, markdown: String) throws {
        let url = URL(fileURLWithPath: outputPath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(report).write(to: url)
        try Data(markdown.utf8).write(to: URL(fileURLWithPath: markdownPath))
    }

    private func clientAlgorithm(for algorithm: KeyAlgorithm) throws -> KeyAlgorithm {
        if client != "auto" {
            guard let parsed = KeyAlgorithm(client) else { throw ValidationError("unknown --client \(client)") }
            return parsed
        }
        switch algorithm {
        case .rsa: return .rsa2048
        case .ec: return algorithm
        }
    }

    private func parseList<T>(_ text: String, _ parse: (String) -> T?) throws -> [T] {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [T] = []
        for item in items {
            guard let value = parse(item) else { throw ValidationError("cannot read '\(item)' in '\(text)'") }
            out.append(value)
        }
        guard !out.isEmpty else { throw ValidationError("empty list '\(text)'") }
        return out
    }
}

/// Progress on stderr: one rewritten line on a terminal, plain lines otherwise.
final class Progress: @unchecked Sendable {
    private let total: Int
    private var done = 0
    private let start = Date()
    private let interactive = isatty(2) == 1

    init(total: Int) { self.total = total }

    func note(_ text: String) {
        emit(text, final: true)
    }

    func step(_ text: String) {
        done += 1
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 1 ? elapsed / Double(done - 1) * Double(total - done + 1) : 0
        emit(String(format: "[%d/%d %3.0fs, ETA %3.0fs] ", done, total, elapsed, eta) + text, final: !interactive)
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func emit(_ text: String, final: Bool) {
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text + (final ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}
