import ArgumentParser
import Foundation
import RewrapCrypto
import RewrapEngine
import RewrapKeyManagement

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

    @Option(help: "Key paths, comma-separated: local, cached-warm, cached-cold, uncached.")
    var paths = "local,cached-warm,cached-cold,uncached"

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

    @Flag(help: "One short repetition (0.5 s per case): a smoke run for CI.")
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
        }
        let algorithmList = try parseList(algorithms) { KeyAlgorithm($0) }
        let batchList = try parseList(batches) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        let pathList = try parseList(paths) { BenchPath(rawValue: $0) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadList = try parseList(threads) { $0 == "all" ? cores : Int($0).flatMap { $0 > 0 ? $0 : nil } }
        guard duration > 0, warmUp >= 0, repetitions > 0 else {
            throw ValidationError("--duration must be > 0, --warm-up ≥ 0, --repetitions > 0")
        }
        let progress = Progress(total: repetitions * algorithmList.count * threadList.count * (1 + batchList.count * pathList.count))
        progress.note("rewrap-bench: \(Environment.allocator), \(OpenSSLInfo.version), \(cores) cores, \(Environment.buildConfiguration) build")
        if Environment.buildConfiguration == "debug" {
            progress.note("warning: debug build; figures are not meaningful (use swift run -c release rewrap-bench)")
        }

        // Keys and workloads are made once; every repetition replays the same requests.
        var setups: [(algorithm: KeyAlgorithm, clientAlgorithm: KeyAlgorithm, keys: KeyPaths, workloads: [Int: Workload])] = []
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
            setups.append((algorithm, clientAlgorithm, keys, workloads))
        }

        struct CaseKey: Hashable { var path: BenchPath = .local; var algorithm: String; var batch: Int; var threads: Int }
        var ceilingRuns: [CaseKey: [Double]] = [:]
        var engineRuns: [CaseKey: [EngineRun]] = [:]
        var wrong: [CaseKey: Int] = [:]
        var cacheCounters: [CaseKey: KeyCacheCounters] = [:]

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
                                _ = await workload.wrongDEKs(engine: engine)  // make sure it is warm
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
                            wrong[key, default: 0] += await workload.wrongDEKs(engine: engine)
                        }
                    }
                }
            }
        }
        progress.finish()

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
                            wrongDEKs: wrong[key] ?? 0, cache: cacheCounters[key]))
                    }
                    if let single = threadList.first(where: { $0 == 1 }), let most = threadList.max(), most > 1 {
                        let base = engineRuns[CaseKey(path: path, algorithm: name, batch: batch, threads: single)] ?? []
                        let wide = engineRuns[CaseKey(path: path, algorithm: name, batch: batch, threads: most)] ?? []
                        let ratios = zip(wide, base).map { $0.kaoPerSecond / $1.kaoPerSecond }
                        report.scaling.append(.init(path: path.rawValue, algorithm: name, client: setup.clientAlgorithm.description,
                                                    batch: batch, threads: most, ratio: ratios.median, ratioPerRepetition: ratios))
                    }
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
        return targets
    }

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
