import Foundation
import RewrapKeyManagement

/// `results/local.json`: everything needed to judge a run without re-running it.
struct Report: Codable {
    static let schema = "rewrap-bench/paths/2"

    struct Machine: Codable {
        var cpu: String
        var cores: Int
        var memoryGiB: Double
        var os: String
    }

    struct Ceiling: Codable {
        var primitive: String
        var algorithm: String
        var threads: Int
        /// One value per repetition.
        var opsPerSecond: [Double]
        var medianOpsPerSecond: Double
    }

    struct Case: Codable {
        /// local, cached-warm, cached-cold or uncached.
        var path: String
        var algorithm: String
        var client: String
        var batch: Int
        var threads: Int
        var streams: Int
        var kaoPerSecond: [Double]
        var medianKAOPerSecond: Double
        var medianRequestsPerSecond: Double
        /// Engine ÷ ceiling (same primitive, same thread count, same repetition); median.
        var efficiency: Double
        var efficiencyPerRepetition: [Double]
        /// Request latency over all repetitions, microseconds.
        var latencyP50Microseconds: Double
        var latencyP99Microseconds: Double
        var latencyMaxMicroseconds: Double
        var wrongDEKs: Int
        /// KAOs that came back as errors in the correctness checks.
        var failedKAOs: Int
        /// Parsed-key cache counters over the timed runs (registry paths with a cache).
        var cache: KeyCacheCounters?
        /// The kms path's figures.
        var kms: KMSFigures?
    }

    struct KMSFigures: Codable {
        var profile: String
        /// Concurrency C used in the bound: min(engine remote concurrency, client in-flight, KAOs in flight).
        var concurrency: Int
        var meanLatencyMilliseconds: Double
        /// min(quota, C ÷ mean latency), KAO/s.
        var boundKAOPerSecond: Double
        /// Median KAO/s ÷ bound.
        var ratioToBound: Double
        var throttled: Int
        var retries: Int
        var faultsInjected: Int
        var sendRate: Double?
    }

    /// KAO/s of one path ÷ another, same algorithm, batch and threads, per repetition; median.
    struct PathRatio: Codable {
        var numerator: String
        var denominator: String
        var algorithm: String
        var batch: Int
        var threads: Int
        var ratio: Double
        var ratioPerRepetition: [Double]
    }

    struct Scaling: Codable {
        var path: String
        var algorithm: String
        var client: String
        var batch: Int
        var threads: Int
        /// KAO/s on `threads` ÷ KAO/s on 1 thread, per repetition; median.
        var ratio: Double
        var ratioPerRepetition: [Double]
    }

    struct Target: Codable {
        var name: String
        var value: Double
        var goal: Double
        var met: Bool
    }

    var schema = Report.schema
    var date: String
    var gitCommit: String
    var machine: Machine
    var openSSL: String
    var swiftCompiler: String
    var allocator: String
    var buildConfiguration: String
    var durationSeconds: Double
    var warmUpSeconds: Double
    var repetitions: Int
    var ceilings: [Ceiling]
    var cases: [Case]
    var scaling: [Scaling]
    var pathRatios: [PathRatio]
    var targets: [Target]
}

enum Environment {
    static var allocator: String {
        // jemalloc exports mallctl; glibc does not.
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallctl") != nil ? "jemalloc" : "glibc"
    }

    static var swiftCompiler: String {
        #if compiler(>=6.4)
        return "6.4+"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "<6.2"
        #endif
    }

    static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    static var machine: Report.Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let info = ProcessInfo.processInfo
        return .init(cpu: model, cores: info.activeProcessorCount,
                     memoryGiB: (Double(info.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
                     os: info.operatingSystemVersionString)
    }

    static var gitCommit: String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : "unknown"
    }
}

extension Report {
    /// The table printed at the end and written to `local.md`.
    func markdown() -> String {
        var lines: [String] = []
        lines.append("# rewrap-bench: key paths")
        lines.append("")
        lines.append("\(date), commit `\(gitCommit)`, \(machine.cpu), \(machine.cores) cores, \(openSSL), "
            + "Swift \(swiftCompiler) \(buildConfiguration), allocator \(allocator). "
            + "Medians of \(repetitions) repetitions of \(format(durationSeconds)) s (after \(format(warmUpSeconds)) s warm-up).")
        lines.append("")
        lines.append("## Ceiling (raw OpenSSL primitive, same run)")
        lines.append("")
        lines.append("| primitive | threads | ops/s (median) | per repetition |")
        lines.append("|---|---:|---:|---|")
        for ceiling in ceilings {
            lines.append("| \(ceiling.primitive) | \(ceiling.threads) | \(format(ceiling.medianOpsPerSecond)) | "
                + ceiling.opsPerSecond.map(format).joined(separator: ", ") + " |")
        }
        lines.append("")
        lines.append("## Engine")
        lines.append("")
        lines.append("| path | KAS key | client | batch | threads | streams | KAO/s | req/s | efficiency | p50 µs | p99 µs | max µs | cache hits/misses/loads | wrong DEKs | failed KAOs |")
        lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for c in cases where c.kms == nil {
            let cache = c.cache.map { "\($0.hits)/\($0.misses)/\($0.loads)" } ?? "–"
            lines.append("| \(c.path) | \(c.algorithm) | \(c.client) | \(c.batch) | \(c.threads) | \(c.streams) | \(format(c.medianKAOPerSecond)) | "
                + "\(format(c.medianRequestsPerSecond)) | \(String(format: "%.2f", c.efficiency)) | "
                + "\(format(c.latencyP50Microseconds)) | \(format(c.latencyP99Microseconds)) | \(format(c.latencyMaxMicroseconds)) | \(cache) | \(c.wrongDEKs) | \(c.failedKAOs) |")
        }
        let kmsCases = cases.filter { $0.kms != nil }
        if !kmsCases.isEmpty {
            lines.append("")
            lines.append("## KMS path (simulated AWS KMS over HTTP on loopback, benchmark mode)")
            lines.append("")
            lines.append("Bound = min(quota, C ÷ mean service latency) (Little's law); C = min(engine remote concurrency, client in-flight limit, KAOs in flight).")
            lines.append("")
            lines.append("| profile | KAS key | batch | streams | C | mean latency ms | bound KAO/s | KAO/s | ÷ bound | p50 ms | p99 ms | throttled | retries | faults | wrong DEKs | failed KAOs |")
            lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for c in kmsCases {
                let k = c.kms!
                lines.append("| \(k.profile) | \(c.algorithm) | \(c.batch) | \(c.streams) | \(k.concurrency) | \(format(k.meanLatencyMilliseconds)) | "
                    + "\(format(k.boundKAOPerSecond)) | \(format(c.medianKAOPerSecond)) | \(String(format: "%.2f", k.ratioToBound)) | "
                    + "\(format(c.latencyP50Microseconds / 1000)) | \(format(c.latencyP99Microseconds / 1000)) | \(k.throttled) | \(k.retries) | "
                    + "\(k.faultsInjected) | \(c.wrongDEKs) | \(c.failedKAOs) |")
            }
        }
        lines.append("")
        lines.append("## Scaling (all cores ÷ 1 thread)")
        lines.append("")
        lines.append("| path | KAS key | client | batch | threads | ratio | per repetition |")
        lines.append("|---|---|---|---:|---:|---:|---|")
        for s in scaling {
            lines.append("| \(s.path) | \(s.algorithm) | \(s.client) | \(s.batch) | \(s.threads) | \(String(format: "%.2f", s.ratio)) | "
                + s.ratioPerRepetition.map { String(format: "%.2f", $0) }.joined(separator: ", ") + " |")
        }
        if !pathRatios.isEmpty {
            lines.append("")
            lines.append("## Paths compared (KAO/s ratio, same run)")
            lines.append("")
            lines.append("| ratio | KAS key | batch | threads | value | per repetition |")
            lines.append("|---|---|---:|---:|---:|---|")
            for r in pathRatios {
                lines.append("| \(r.numerator) ÷ \(r.denominator) | \(r.algorithm) | \(r.batch) | \(r.threads) | \(String(format: "%.2f", r.ratio)) | "
                    + r.ratioPerRepetition.map { String(format: "%.2f", $0) }.joined(separator: ", ") + " |")
            }
        }
        if !targets.isEmpty {
            lines.append("")
            lines.append("## Targets")
            lines.append("")
            lines.append("| target | value | goal | met |")
            lines.append("|---|---:|---:|---|")
            for t in targets {
                lines.append("| \(t.name) | \(String(format: "%.2f", t.value)) | ≥ \(String(format: "%.2f", t.goal)) | \(t.met ? "yes" : "**no**") |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

func format(_ value: Double) -> String {
    if value >= 100 { return String(format: "%.0f", value) }
    if value >= 10 { return String(format: "%.1f", value) }
    return String(format: "%.2f", value)
}
