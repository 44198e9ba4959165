import Foundation

/// One run of `rewrap-bench`: everything needed to judge it, or gate on it, without re-running it.
/// Written as `results/<UTC date>-<case set>.json`; `compare` reads two of them.
public struct BenchReport: Codable, Sendable, Equatable {
    /// Bumped whenever a field changes meaning; `compare` refuses other versions.
    public static let schemaVersion = 3

    public var schemaVersion = BenchReport.schemaVersion
    /// standard, quick, custom or replay.
    public var caseSet: String
    /// ISO 8601, UTC.
    public var date: String
    public var gitCommit: String
    public var machine: Machine
    public var openSSL: String
    public var swiftCompiler: String
    public var buildConfiguration: String
    /// Every allocator the run measured (each case names its own).
    public var allocators: [String]
    public var settings: Settings
    public var ceilings: [Ceiling]
    public var cases: [Case]
    /// All cores ÷ 1 thread, and one path ÷ another, per repetition.
    public var ratios: [Ratio]
    public var targets: [Target]

    public init(caseSet: String, date: String, gitCommit: String, machine: Machine, openSSL: String, swiftCompiler: String,
                buildConfiguration: String, allocators: [String], settings: Settings, ceilings: [Ceiling] = [],
                cases: [Case] = [], ratios: [Ratio] = [], targets: [Target] = []) {
        self.caseSet = caseSet
        self.date = date
        self.gitCommit = gitCommit
        self.machine = machine
        self.openSSL = openSSL
        self.swiftCompiler = swiftCompiler
        self.buildConfiguration = buildConfiguration
        self.allocators = allocators
        self.settings = settings
        self.ceilings = ceilings
        self.cases = cases
        self.ratios = ratios
        self.targets = targets
    }

    public struct Machine: Codable, Sendable, Equatable {
        public var cpu: String
        public var cores: Int
        public var memoryGiB: Double
        public var os: String

        public init(cpu: String, cores: Int, memoryGiB: Double, os: String) {
            self.cpu = cpu
            self.cores = cores
            self.memoryGiB = memoryGiB
            self.os = os
        }
    }

    public struct Settings: Codable, Sendable, Equatable {
        public var durationSeconds: Double
        /// Set when engine cases ran a fixed number of KAOs instead of `durationSeconds`.
        public var kaosPerCase: Int?
        public var warmUpSeconds: Double
        public var repetitions: Int
        public var kmsDurationSeconds: Double
        public var kmsWarmUpSeconds: Double
        /// Fraction of bad KAOs (tampered binding or unknown kid) in the mixed workload.
        public var badFraction: Double

        public init(durationSeconds: Double, kaosPerCase: Int? = nil, warmUpSeconds: Double, repetitions: Int,
                    kmsDurationSeconds: Double, kmsWarmUpSeconds: Double, badFraction: Double) {
            self.durationSeconds = durationSeconds
            self.kaosPerCase = kaosPerCase
            self.warmUpSeconds = warmUpSeconds
            self.repetitions = repetitions
            self.kmsDurationSeconds = kmsDurationSeconds
            self.kmsWarmUpSeconds = kmsWarmUpSeconds
            self.badFraction = badFraction
        }
    }

    /// A figure measured once per repetition, with its median.
    public struct Sample: Codable, Sendable, Equatable {
        public var perRepetition: [Double]
        public var median: Double

        public init(_ values: [Double]) {
            perRepetition = values
            median = Statistics.median(values)
        }

        /// max − min over the repetitions: how far this figure moves by noise alone.
        public var spread: Double { (perRepetition.max() ?? 0) - (perRepetition.min() ?? 0) }
    }

    /// The raw OpenSSL rate of a key's dominant primitive, same run.
    public struct Ceiling: Codable, Sendable, Equatable {
        public var allocator: String
        public var primitive: String
        public var algorithm: String
        public var threads: Int
        public var opsPerSecond: Sample

        public init(allocator: String, primitive: String, algorithm: String, threads: Int, opsPerSecond: Sample) {
            self.allocator = allocator
            self.primitive = primitive
            self.algorithm = algorithm
            self.threads = threads
            self.opsPerSecond = opsPerSecond
        }
    }

    /// What identifies a case across runs and machines ("all" cores is a label, not a number).
    public struct CaseID: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
        public var allocator: String
        /// local, cached-warm, cached-cold, uncached, kms:<profile>.
        public var path: String
        /// uniform (one key), mixed (several kids and algorithms, some bad KAOs) or replay.
        public var workload: String
        public var algorithm: String
        public var client: String
        public var batch: Int
        /// "1", "2", … or "all".
        public var threads: String

        public init(allocator: String, path: String, workload: String, algorithm: String, client: String, batch: Int, threads: String) {
            self.allocator = allocator
            self.path = path
            self.workload = workload
            self.algorithm = algorithm
            self.client = client
            self.batch = batch
            self.threads = threads
        }

        public var description: String {
            "\(allocator) \(path) \(workload) \(algorithm)→\(client) batch=\(batch) threads=\(threads)"
        }

        public static func < (a: CaseID, b: CaseID) -> Bool { a.description < b.description }
    }

    public struct Latency: Codable, Sendable, Equatable {
        /// Requests recorded over all repetitions.
        public var count: Int
        public var p50Microseconds: Double
        public var p90Microseconds: Double
        public var p99Microseconds: Double
        public var p999Microseconds: Double
        public var maxMicroseconds: Double
        public var meanMicroseconds: Double
        /// (percentile, µs) points of the distribution, for the CDF chart.
        public var cdf: [[Double]]

        public init(count: Int, p50Microseconds: Double, p90Microseconds: Double, p99Microseconds: Double,
                    p999Microseconds: Double, maxMicroseconds: Double, meanMicroseconds: Double, cdf: [[Double]]) {
            self.count = count
            self.p50Microseconds = p50Microseconds
            self.p90Microseconds = p90Microseconds
            self.p99Microseconds = p99Microseconds
            self.p999Microseconds = p999Microseconds
            self.maxMicroseconds = maxMicroseconds
            self.meanMicroseconds = meanMicroseconds
            self.cdf = cdf
        }
    }

    /// Every KAO the correctness pass rewrapped, by outcome. On every path `wrongDEKs` must be 0 and
    /// `unexpectedOutcomes` 0: a bad KAO must be refused, a good one must open to its DEK.
    public struct Correctness: Codable, Sendable, Equatable {
        public var kaos = 0
        /// Good KAOs that came back permitted with their DEK.
        public var rewrapped = 0
        /// Bad KAOs (tampered binding, unknown kid) refused, as they must be.
        public var refusedAsExpected = 0
        /// Permitted, but the DEK is not the one that was wrapped.
        public var wrongDEKs = 0
        /// Good KAOs refused, or bad KAOs permitted.
        public var unexpectedOutcomes = 0

        public init() {}

        public mutating func add(_ other: Correctness) {
            kaos += other.kaos
            rewrapped += other.rewrapped
            refusedAsExpected += other.refusedAsExpected
            wrongDEKs += other.wrongDEKs
            unexpectedOutcomes += other.unexpectedOutcomes
        }
    }

    public struct CacheFigures: Codable, Sendable, Equatable {
        public var hits: Int
        public var misses: Int
        /// Store reads: with single-flight, one per key however many threads miss together.
        public var loads: Int

        public init(hits: Int, misses: Int, loads: Int) {
            self.hits = hits
            self.misses = misses
            self.loads = loads
        }
    }

    public struct KMSFigures: Codable, Sendable, Equatable {
        public var profile: String
        /// C in the bound: min(engine remote concurrency, client in-flight limit, KAOs in flight).
        public var concurrency: Int
        public var meanLatencyMilliseconds: Double
        /// min(quota, C ÷ mean latency), KAO/s (Little's law): the steady-state bound the case's efficiency divides by.
        public var boundKAOPerSecond: Double
        /// Tokens left in the quota's bucket as the timed window started (median): a burst above the quota
        /// that a window of T seconds may also take.
        public var burstTokensAtStart: Double
        /// min(quota + burst ÷ T, C ÷ mean latency): the most this window could have done (median).
        public var boundWithBurstKAOPerSecond: Double
        public var throttled: Int
        public var retries: Int
        public var faultsInjected: Int

        public init(profile: String, concurrency: Int, meanLatencyMilliseconds: Double, boundKAOPerSecond: Double,
                    burstTokensAtStart: Double = 0, boundWithBurstKAOPerSecond: Double? = nil, throttled: Int, retries: Int,
                    faultsInjected: Int) {
            self.profile = profile
            self.concurrency = concurrency
            self.meanLatencyMilliseconds = meanLatencyMilliseconds
            self.boundKAOPerSecond = boundKAOPerSecond
            self.burstTokensAtStart = burstTokensAtStart
            self.boundWithBurstKAOPerSecond = boundWithBurstKAOPerSecond ?? boundKAOPerSecond
            self.throttled = throttled
            self.retries = retries
            self.faultsInjected = faultsInjected
        }
    }

    public struct Case: Codable, Sendable, Equatable {
        public var id: CaseID
        public var threads: Int
        /// Closed-loop request streams (batch 1 runs one per thread).
        public var streams: Int
        public var kaoPerSecond: Sample
        public var requestsPerSecond: Sample
        /// KAO/s ÷ the same-repetition ceiling on the same thread count; for kms, ÷ the Little's-law bound.
        public var efficiency: Sample?
        /// The rate all of a KAO's necessary cryptography allows (unwrap, binding HMAC, rewrap to the
        /// client, the EC session key's work ÷ batch), from the same repetition's measured steps on
        /// the same thread count; nil where the case's work is not all measured primitives.
        public var workloadCeilingKAOPerSecond: Sample?
        /// KAO/s ÷ that: what the gate and the targets judge where it exists.
        public var workloadEfficiency: Sample?
        public var latency: Latency
        /// (user + system) CPU seconds of the whole process ÷ KAOs, in the timed run.
        public var cpuMicrosecondsPerKAO: Sample
        /// Allocations (malloc, calloc, realloc, posix_memalign, …) counted by the interposer while the
        /// workload's requests are rewrapped one at a time (at least 512 KAOs, on the first repetition), ÷ KAOs;
        /// nil when the counter is not active.
        public var mallocsPerKAO: Sample?
        /// Of those, the crypto steps' own (OpenSSL as the engine calls it, each step counted alone by
        /// `rewrap-bench allocations`); the rest is the engine's. Uniform workloads only.
        public var cryptoStepMallocsPerKAO: Double?
        /// The process's resident-set high-water mark when the case ended.
        public var peakRSSMiB: Double
        public var correctness: Correctness
        public var cache: CacheFigures?
        public var kms: KMSFigures?

        public init(id: CaseID, threads: Int, streams: Int, kaoPerSecond: Sample, requestsPerSecond: Sample, efficiency: Sample?,
                    workloadCeilingKAOPerSecond: Sample? = nil, workloadEfficiency: Sample? = nil, latency: Latency, cpuMicrosecondsPerKAO: Sample, mallocsPerKAO: Sample?, cryptoStepMallocsPerKAO: Double? = nil,
                    peakRSSMiB: Double, correctness: Correctness, cache: CacheFigures?, kms: KMSFigures?) {
            self.id = id
            self.threads = threads
            self.streams = streams
            self.kaoPerSecond = kaoPerSecond
            self.requestsPerSecond = requestsPerSecond
            self.efficiency = efficiency
            self.workloadCeilingKAOPerSecond = workloadCeilingKAOPerSecond
            self.workloadEfficiency = workloadEfficiency
            self.latency = latency
            self.cpuMicrosecondsPerKAO = cpuMicrosecondsPerKAO
            self.mallocsPerKAO = mallocsPerKAO
            self.cryptoStepMallocsPerKAO = cryptoStepMallocsPerKAO
            self.peakRSSMiB = peakRSSMiB
            self.correctness = correctness
            self.cache = cache
            self.kms = kms
        }
    }

    /// KAO/s of one case ÷ another's, per repetition (scaling: all cores ÷ 1 thread; or path ÷ path).
    public struct Ratio: Codable, Sendable, Equatable {
        /// "scaling" or "path".
        public var kind: String
        public var numerator: CaseID
        public var denominator: CaseID
        public var value: Sample

        public init(kind: String, numerator: CaseID, denominator: CaseID, value: Sample) {
            self.kind = kind
            self.numerator = numerator
            self.denominator = denominator
            self.value = value
        }

        /// Stable name across runs, for the regression gate.
        public var name: String { "\(kind): \(numerator) ÷ \(denominator.path == numerator.path ? "threads=\(denominator.threads)" : denominator.path)" }
    }

    /// A goal from the issues, where the run covers it.
    public struct Target: Codable, Sendable, Equatable {
        public var name: String
        public var value: Double
        /// The goal; `atMost` goals are met at or below it.
        public var goal: Double
        public var atMost: Bool
        public var met: Bool

        public init(name: String, value: Double, goal: Double, atMost: Bool = false) {
            self.name = name
            self.value = value
            self.goal = goal
            self.atMost = atMost
            met = atMost ? value <= goal : value >= goal
        }
    }
}

extension BenchReport {
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a report, refusing other schema versions with a message that says what to do.
    public static func decode(_ data: Data, source: String) throws -> BenchReport {
        struct Version: Decodable { var schemaVersion: Int? }
        let version = try? JSONDecoder().decode(Version.self, from: data)
        guard let found = version?.schemaVersion else {
            throw BenchReportError("\(source) is not a rewrap-bench report (no schemaVersion)")
        }
        guard found == schemaVersion else {
            throw BenchReportError("\(source) has schema version \(found), this rewrap-bench reads \(schemaVersion): re-run it to make a new one")
        }
        do {
            return try JSONDecoder().decode(BenchReport.self, from: data)
        } catch {
            throw BenchReportError("\(source) is not a valid rewrap-bench report: \(error)")
        }
    }

    public static func load(path: String) throws -> BenchReport {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BenchReportError("cannot read \(path)")
        }
        return try decode(data, source: path)
    }
}

public struct BenchReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
