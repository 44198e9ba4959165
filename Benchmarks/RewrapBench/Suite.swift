import Foundation
import RewrapBenchKit
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapLoad
import RewrapKeyRing
import RewrapKMSSimulator
import RewrapRegistry

/// What one process measures (one allocator): the cases the options select, every repetition.
struct SuitePlan {
    var caseSet: String
    var allocator: String
    var algorithms: [KeyAlgorithm]
    /// Client key kinds: "rsa", "ec" (on the KAS key's curve; P-256 for RSA KAS keys), or an explicit algorithm.
    var clients: [String]
    var paths: [BenchPath]
    var kmsProfiles: [String]
    var workloads: Set<String>
    var batches: [Int]
    var threads: [Int]
    var duration: Double
    /// When set, each engine case runs this many KAOs instead of `duration` seconds.
    var kaos: Int?
    var warmUp: Double
    var repetitions: Int
    var kmsDuration: Double
    var kmsWarmUp: Double
    var badFraction: Double
    /// .tdf files to replay with these keys, instead of generated workloads.
    var replay: (files: [(name: String, manifest: TDFManifest)], keys: KeyRing)?

    static let kmsMaxInFlight = 64
    /// KAOs rewrapped while allocations are counted: enough that OpenSSL's periodic work (RSA
    /// blinding refreshes) averages out well below the gate's 0.5. The uncached path allocates
    /// ~4 300 times per KAO (a key parse each), so fewer KAOs average it well inside its 0.5 %;
    /// kms cases are not gated: each request once.
    static func mallocCountKAOs(_ path: BenchPath) -> Int {
        switch path {
        case .kms: return 0
        case .uncached: return 64
        case .local, .cachedWarm, .cachedCold: return 512
        }
    }

    func clientAlgorithm(_ kind: String, kas: KeyAlgorithm) -> KeyAlgorithm? {
        switch kind {
        case "rsa": return .rsa2048
        case "ec":
            if case .ec = kas { return kas }
            return .ec(.p256)
        default: return KeyAlgorithm(kind)
        }
    }

    /// The client of the same family as the KAS key (what the earlier issues' figures use), else the first.
    func matchingClient(for kas: KeyAlgorithm) -> String {
        let family = kas.isRSA ? "rsa" : "ec"
        return clients.first { $0 == family || $0.hasPrefix(family + ":") } ?? clients[0]
    }

    var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    func threadsLabel(_ threads: Int) -> String { threads == cores ? "all" : String(threads) }
}

/// One engine case of the plan, measured once per repetition.
private struct PlannedCase {
    var id: BenchReport.CaseID
    var path: BenchPath
    var kmsProfile: String?
    var kas: KeyAlgorithm?
    var workload: Workload
    var threads: Int
    var streams: Int
}

private struct CaseResults {
    var runs: [EngineRun] = []
    var efficiencies: [Double] = []
    /// Per repetition: the workload ceiling (WorkloadCeiling) and KAO/s ÷ it.
    var workloadCeilings: [Double] = []
    var workloadEfficiencies: [Double] = []
    var mallocs: [Double] = []
    var correctness = BenchReport.Correctness()
    var cache: BenchReport.CacheFigures?
    var kms: (throttled: Int, retries: Int, faults: Int) = (0, 0, 0)
    /// Per repetition: the quota bucket's tokens as the timed kms run started, and the bound they give.
    var kmsBurst: [Double] = []
    var kmsBoundWithBurst: [Double] = []
    var peakRSSMiB = 0.0
}

final class Suite {
    /// Cases whose work is all primitives the ceiling measures: one KAS key, every KAO good, keys
    /// in memory (local, or the cache once warm); not the KMS (its bound is a model), a mix, or replay.
    fileprivate static func hasWorkloadCeiling(_ item: PlannedCase) -> Bool {
        item.kmsProfile == nil && item.kas != nil && item.workload.kind == "uniform" && (item.path == .local || item.path == .cachedWarm)
    }

    let plan: SuitePlan
    let progress: Progress
    /// "<algorithm> <profile>": each a simulated KMS on loopback, stopped by `shutdown()`.
    private var kmsPaths: [String: KMSPath] = [:]

    init(plan: SuitePlan, progress: Progress) {
        self.plan = plan
        self.progress = progress
    }

    func run() async throws -> BenchReport {
        let plan = self.plan
        var cases: [PlannedCase] = []
        var keyPaths: KeyPaths?
        /// The KAS algorithms of the mixed workload's keys, round robin over its KAOs.
        var mixAlgorithms: [KeyAlgorithm] = []

        if let replay = plan.replay {
            keyPaths = try KeyPaths(keys: replay.keys.keys)
            let client = try PrivateKey.generate(plan.clientAlgorithm(plan.clients[0], kas: .ec(.p256)) ?? .ec(.p256))
            for batch in plan.batches {
                let workload = try Workload.replay(replay.files, clientKey: client, batch: batch)
                for threads in plan.threads {
                    cases.append(planned(.local, workload: workload, kas: nil, threads: threads))
                }
            }
        } else {
            var kasKeys: [KASKey] = []
            var uniform: [(kas: KeyAlgorithm, client: String, batch: Int, workload: Workload)] = []
            var clientKeys: [KeyAlgorithm: PrivateKey] = [:]
            func clientKey(_ algorithm: KeyAlgorithm) throws -> PrivateKey {
                if let key = clientKeys[algorithm] { return key }
                let key = try PrivateKey.generate(algorithm)
                clientKeys[algorithm] = key
                return key
            }
            for algorithm in plan.algorithms {
                progress.note("generating \(algorithm) KAS keys and requests")
                let key = try PrivateKey.generate(algorithm)
                key.warmUp()
                kasKeys.append(KASKey(kid: Workload.kid(algorithm), privateKey: key))
                if plan.workloads.contains("mixed") {
                    kasKeys.append(KASKey(kid: Workload.kid(algorithm, generation: 2), privateKey: try PrivateKey.generate(algorithm)))
                }
                guard plan.workloads.contains("uniform") else { continue }
                for kind in plan.clients {
                    guard let clientAlgorithm = plan.clientAlgorithm(kind, kas: algorithm) else { continue }
                    for batch in plan.batches {
                        uniform.append((algorithm, kind, batch, try Workload.uniform(
                            kas: KASKey(kid: Workload.kid(algorithm), privateKey: key), clientKey: try clientKey(clientAlgorithm), batch: batch)))
                    }
                }
                for profile in plan.kmsProfiles {
                    progress.note("starting the simulated KMS (\(profile)) for \(algorithm) and registering its answers")
                    let matching = plan.matchingClient(for: algorithm)
                    kmsPaths["\(algorithm) \(profile)"] = try await KMSPath(
                        profileName: profile, kid: Workload.kid(algorithm), key: key,
                        workloads: uniform.filter { $0.kas == algorithm && $0.client == matching }.map(\.workload),
                        maxInFlight: SuitePlan.kmsMaxInFlight)
                }
            }
            keyPaths = try KeyPaths(keys: kasKeys)
            for item in uniform {
                for path in plan.paths where path != .kms {
                    // Client-key variety is measured on the local path; the response encryption it
                    // changes costs the same on every path.
                    guard path == .local || item.client == plan.matchingClient(for: item.kas) else { continue }
                    for threads in plan.threads {
                        cases.append(planned(path, workload: item.workload, kas: item.kas, threads: threads))
                    }
                }
                if item.client == plan.matchingClient(for: item.kas) {
                    for profile in plan.kmsProfiles {
                        let threads = plan.threads.max() ?? plan.cores
                        cases.append(planned(.kms, profile: profile, workload: item.workload, kas: item.kas, threads: threads))
                    }
                }
            }
            if plan.workloads.contains("mixed") {
                let client = try clientKey(plan.clientAlgorithm(plan.clients[0], kas: .ec(.p256)) ?? .ec(.p256))
                progress.note("generating the mixed workload: \(kasKeys.count) kids, \(Int(plan.badFraction * 100)) % bad KAOs")
                for batch in plan.batches {
                    let workload = try Workload.mixed(kas: kasKeys, clientKey: client, batch: batch, badFraction: plan.badFraction)
                    mixAlgorithms = kasKeys.map(\.algorithm)
                    for path in plan.paths where path == .local || path == .cachedWarm {
                        for threads in plan.threads {
                            cases.append(planned(path, workload: workload, kas: nil, threads: threads))
                        }
                    }
                }
            }
        }
        guard let keys = keyPaths, !cases.isEmpty else {
            throw BenchError("these options select no case (mixed runs on local and cached-warm only; kms needs the uniform workload)")
        }

        let ceilingThreads = plan.replay == nil ? plan.threads : []
        progress.expect(steps: plan.repetitions * (plan.algorithms.count * ceilingThreads.count + cases.count))
        var ceilings: [String: [Double]] = [:]  // "<algorithm> <threads>"
        // The workload ceilings' other steps, "<step> <threads>", and the raw ECDH of client curves
        // no KAS key uses (their session ECDH), "<algorithm> <threads>".
        var stepRates: [String: [Double]] = [:]
        let uniformClients = Array(Set(cases.filter { Self.hasWorkloadCeiling($0) }.map(\.workload.clientAlgorithm.description)))
            .sorted().compactMap { KeyAlgorithm($0) }
        let steps = WorkloadCeiling.steps(clients: uniformClients)
        let clientCurves = uniformClients.filter { if case .ec = $0 { !plan.algorithms.contains($0) } else { false } }
        var results = Array(repeating: CaseResults(), count: cases.count)
        for repetition in 1...plan.repetitions {
            if plan.replay == nil {
                for algorithm in plan.algorithms + clientCurves {
                    for threads in ceilingThreads {
                        let primitive = PrimitiveCeiling.primitive(for: algorithm)
                        progress.step("rep \(repetition)/\(plan.repetitions)  ceiling \(primitive)  threads=\(threads)")
                        ceilings["\(algorithm) \(threads)", default: []].append(
                            try PrimitiveCeiling.measure(primitive, threads: threads, duration: plan.duration))
                    }
                }
                // The smaller steps are quick and steady: a fifth of the window each (≥ 0.1 s).
                for step in uniformClients.isEmpty ? [] : steps {
                    for threads in ceilingThreads {
                        stepRates["\(step) \(threads)", default: []].append(
                            try WorkloadCeiling.measure(step, threads: threads, duration: max(0.1, plan.duration / 5)))
                    }
                }
            }
            for (index, item) in cases.enumerated() {
                progress.step("rep \(repetition)/\(plan.repetitions)  \(item.id)")
                let kms = kmsPath(for: item)
                var configuration = RewrapConfiguration()
                configuration.maxConcurrency = item.threads
                let source: any KeySource = kms?.source ?? keys.source(item.path)
                let engine = RewrapEngine(keys: source, authorizer: PermitAll(), configuration: configuration)
                let cache = (source as? RegistryKeySource)?.cache
                if item.path == .cachedWarm { _ = await item.workload.check(engine: engine) }
                cache?.resetCounters()
                var warmUp = item.path == .cachedCold ? 0 : plan.warmUp
                var burst = 0.0
                if let kms, let kas = item.kas {
                    // Warm up apart, then read what burst the quota's bucket still holds: the bound
                    // of the timed window includes it.
                    _ = await Measurement.run(engine: engine, workload: item.workload, streams: item.streams,
                                              length: .seconds(plan.kmsWarmUp), warmUp: 0)
                    burst = kms.quotaTokens(algorithm: kas)
                    warmUp = 0
                }
                let before = kms.map { ($0.client.statistics, $0.simulator.counters.faultsInjected.values.reduce(0, +)) }
                let run = await Measurement.run(
                    engine: engine, workload: item.workload, streams: item.streams,
                    length: kms == nil ? (plan.kaos.map(RunLength.kaos) ?? .seconds(plan.duration)) : .seconds(plan.kmsDuration),
                    warmUp: warmUp)
                var result = results[index]
                result.runs.append(run)
                if let counters = cache?.counters {
                    var figures = result.cache ?? BenchReport.CacheFigures(hits: 0, misses: 0, loads: 0)
                    figures.hits += counters.hits
                    figures.misses += counters.misses
                    figures.loads += counters.loads
                    result.cache = figures
                }
                if let kms, let before {
                    let after = (kms.client.statistics, kms.simulator.counters.faultsInjected.values.reduce(0, +))
                    result.kms.throttled += after.0.throttled - before.0.throttled
                    result.kms.retries += after.0.retries - before.0.retries
                    result.kms.faults += after.1 - before.1
                    let withBurst = kms.bound(algorithm: item.kas!, concurrency: kmsConcurrency(item), burst: burst, seconds: plan.kmsDuration)
                    result.kmsBurst.append(burst)
                    result.kmsBoundWithBurst.append(withBurst)
                    result.efficiencies.append(run.kaoPerSecond / kms.bound(algorithm: item.kas!, concurrency: kmsConcurrency(item)))
                } else if let kas = item.kas, let ceiling = ceilings["\(kas) \(item.threads)"]?.last {
                    result.efficiencies.append(run.kaoPerSecond / ceiling)
                    if Self.hasWorkloadCeiling(item), let workload = WorkloadCeiling.kaoPerSecond(
                        kas: kas, client: item.workload.clientAlgorithm, batch: item.workload.batch,
                        primitive: { ceilings["\($0) \(item.threads)"]?.last }, rate: { stepRates["\($0) \(item.threads)"]?.last }) {
                        result.workloadCeilings.append(workload)
                        result.workloadEfficiencies.append(run.kaoPerSecond / workload)
                    }
                }
                // Allocation counts do not move between repetitions once warm: counted on the first.
                let (correctness, mallocs) = await item.workload.check(
                    engine: engine, countingAllocationsOver: repetition == 1 ? SuitePlan.mallocCountKAOs(item.path) : nil)
                result.correctness.add(correctness)
                if let mallocs { result.mallocs.append(mallocs) }
                result.peakRSSMiB = ProcessUsage.peakRSSMiB()
                results[index] = result
            }
        }
        progress.finish()
        var breakdowns: [KeyAlgorithm: AllocationBreakdown] = [:]
        if AllocationCounter.isActive && plan.replay == nil {
            for algorithm in plan.algorithms { breakdowns[algorithm] = try AllocationBreakdown(kas: algorithm) }
        }

        var report = BenchReport(
            caseSet: plan.caseSet, date: Environment.utcTimestamp(), gitCommit: Environment.gitCommit,
            machine: Environment.machine, openSSL: OpenSSLInfo.version, swiftCompiler: Environment.swiftCompiler,
            buildConfiguration: Environment.buildConfiguration, allocators: [plan.allocator],
            settings: .init(durationSeconds: plan.duration, kaosPerCase: plan.kaos, warmUpSeconds: plan.warmUp, repetitions: plan.repetitions,
                            kmsDurationSeconds: plan.kmsDuration, kmsWarmUpSeconds: plan.kmsWarmUp, badFraction: plan.badFraction))
        for algorithm in plan.algorithms {
            for threads in ceilingThreads {
                report.ceilings.append(.init(allocator: plan.allocator, primitive: PrimitiveCeiling.primitive(for: algorithm).description,
                                             algorithm: algorithm.description, threads: threads,
                                             opsPerSecond: .init(ceilings["\(algorithm) \(threads)"] ?? [])))
            }
        }
        for (item, result) in zip(cases, results) {
            var latency = LatencyRecorder()
            for run in result.runs { latency.add(run.latency) }
            let kms = kmsPath(for: item)
            report.cases.append(.init(
                id: item.id, threads: item.threads, streams: item.streams,
                kaoPerSecond: .init(result.runs.map(\.kaoPerSecond)), requestsPerSecond: .init(result.runs.map(\.requestsPerSecond)),
                efficiency: result.efficiencies.isEmpty ? nil : .init(result.efficiencies),
                workloadCeilingKAOPerSecond: result.workloadCeilings.isEmpty ? nil : .init(result.workloadCeilings),
                workloadEfficiency: result.workloadEfficiencies.isEmpty ? nil : .init(result.workloadEfficiencies), latency: latency.summary,
                cpuMicrosecondsPerKAO: .init(result.runs.map(\.cpuMicrosecondsPerKAO)),
                mallocsPerKAO: result.mallocs.isEmpty ? nil : .init(result.mallocs),
                cryptoStepMallocsPerKAO: item.kmsProfile == nil
                    ? Self.openSSLShare(item.workload, kas: item.kas, mix: mixAlgorithms, breakdowns: breakdowns) : nil,
                peakRSSMiB: result.peakRSSMiB,
                correctness: result.correctness, cache: result.cache,
                kms: kms.map { kms in
                    let concurrency = kmsConcurrency(item)
                    return .init(profile: kms.profileName, concurrency: concurrency, meanLatencyMilliseconds: kms.meanLatencySeconds * 1000,
                                 boundKAOPerSecond: kms.bound(algorithm: item.kas!, concurrency: concurrency),
                                 burstTokensAtStart: Statistics.median(result.kmsBurst),
                                 boundWithBurstKAOPerSecond: Statistics.median(result.kmsBoundWithBurst),
                                 throttled: result.kms.throttled, retries: result.kms.retries, faultsInjected: result.kms.faults)
                }))
        }
        report.ratios = ratios(cases: cases, results: results)
        return report
    }

    /// Stops the simulated KMS servers; call it after `run()`, whether it threw or not.
    /// OpenSSL's allocations per good KAO for a workload: the KAS algorithm's steps for a uniform
    /// one, the mean over the keys for the mixed one (its KAOs go round robin over them).
    static func openSSLShare(_ workload: Workload, kas: KeyAlgorithm?, mix: [KeyAlgorithm],
                             breakdowns: [KeyAlgorithm: AllocationBreakdown]) -> Double? {
        func share(_ algorithm: KeyAlgorithm) -> Double? {
            breakdowns[algorithm]?.opensslPerKAO(client: workload.clientAlgorithm, batch: workload.batch)
        }
        switch workload.kind {
        case "uniform": return kas.flatMap(share)
        case "mixed":
            let shares = mix.compactMap(share)
            guard !mix.isEmpty, shares.count == mix.count else { return nil }
            return shares.reduce(0, +) / Double(shares.count)
        default: return nil
        }
    }

    func shutdown() async {
        for kms in kmsPaths.values { await kms.shutdown() }
        kmsPaths = [:]
    }

    private func planned(_ path: BenchPath, profile: String? = nil, workload: Workload, kas: KeyAlgorithm?, threads: Int) -> PlannedCase {
        PlannedCase(
            id: .init(allocator: plan.allocator, path: profile.map { "kms:\($0)" } ?? path.rawValue, workload: workload.kind,
                      algorithm: workload.algorithmLabel, client: workload.clientAlgorithm.description, batch: workload.batch,
                      threads: plan.threadsLabel(threads)),
            path: path, kmsProfile: profile, kas: kas, workload: workload, threads: threads,
            streams: workload.batch == 1 ? threads : 1)
    }

    /// The simulated KMS behind a kms case; nil for every other path.
    private func kmsPath(for item: PlannedCase) -> KMSPath? {
        guard let profile = item.kmsProfile, let kas = item.kas else { return nil }
        return kmsPaths["\(kas) \(profile)"]
    }

    private func kmsConcurrency(_ item: PlannedCase) -> Int {
        min(RewrapConfiguration().maxRemoteConcurrency, SuitePlan.kmsMaxInFlight, item.workload.batch * item.streams)
    }

    /// Scaling (most threads ÷ 1 thread) for every engine case, and the paths against each other.
    private func ratios(cases: [PlannedCase], results: [CaseResults]) -> [BenchReport.Ratio] {
        var byID: [BenchReport.CaseID: [EngineRun]] = [:]
        for (item, result) in zip(cases, results) { byID[item.id] = result.runs }
        func ratio(_ kind: String, _ numerator: BenchReport.CaseID, _ denominator: BenchReport.CaseID) -> BenchReport.Ratio? {
            guard let top = byID[numerator], let bottom = byID[denominator], !top.isEmpty else { return nil }
            return .init(kind: kind, numerator: numerator, denominator: denominator,
                         value: .init(zip(top, bottom).map { $0.kaoPerSecond / $1.kaoPerSecond }))
        }
        var out: [BenchReport.Ratio] = []
        let most = plan.threads.max() ?? 1
        for item in cases where item.kmsProfile == nil && item.threads == most && most > 1 && plan.threads.contains(1) {
            var single = item.id
            single.threads = plan.threadsLabel(1)
            if let r = ratio("scaling", item.id, single) { out.append(r) }
        }
        for item in cases where item.path == .cachedWarm || item.path == .cachedCold {
            var local = item.id
            local.path = BenchPath.local.rawValue
            if let r = ratio("path", item.id, local) { out.append(r) }
            if item.path == .cachedWarm {
                var uncached = item.id
                uncached.path = BenchPath.uncached.rawValue
                if let r = ratio("path", item.id, uncached) { out.append(r) }
            }
        }
        return out
    }
}
