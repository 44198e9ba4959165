import Foundation

extension BenchReport {
    /// The tables a person reads (`results/latest.md`, and stdout at the end of a run).
    public func markdown() -> String {
        var lines: [String] = []
        func table(_ header: [String], _ alignRight: Set<Int>, _ rows: [[String]]) {
            lines.append("| " + header.joined(separator: " | ") + " |")
            lines.append("|" + header.indices.map { alignRight.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|")
            lines += rows.map { "| " + $0.joined(separator: " | ") + " |" }
            lines.append("")
        }
        lines.append("# rewrap-bench: \(caseSet) run")
        lines.append("")
        lines.append("\(date), commit `\(gitCommit)`, \(machine.cpu), \(machine.cores) cores, \(Int(machine.memoryGiB)) GiB, "
            + "\(openSSL), Swift \(swiftCompiler) \(buildConfiguration) build, allocator \(allocators.joined(separator: " and ")). "
            + "Medians of \(settings.repetitions) repetition\(settings.repetitions == 1 ? "" : "s") of "
            + (settings.kaosPerCase.map { "\($0) KAOs" } ?? "\(Self.number(settings.durationSeconds)) s") + " per case "
            + "(after \(Self.number(settings.warmUpSeconds)) s warm-up; kms cases \(Self.number(settings.kmsDurationSeconds)) s after "
            + "\(Self.number(settings.kmsWarmUpSeconds)) s). Schema version \(schemaVersion).")
        lines.append("")
        if !targets.isEmpty {
            lines.append("## Targets")
            lines.append("")
            table(["target", "value", "goal", "met"], [1, 2], targets.map {
                [$0.name, Self.number($0.value), ($0.atMost ? "≤ " : "≥ ") + Self.number($0.goal), $0.met ? "yes" : "**no**"]
            })
        }
        let charts = charts()
        if !charts.isEmpty {
            lines.append("## Charts")
            lines.append("")
            for chart in charts {
                lines.append("![\(chart.title)](charts/\(chart.file))")
                lines.append("")
            }
        }
        if !ceilings.isEmpty {
            lines.append("## Ceiling: the raw OpenSSL primitive, same run")
            lines.append("")
            table(["allocator", "primitive", "threads", "ops/s", "per repetition"], [2, 3], ceilings.map {
                [$0.allocator, $0.primitive, "\($0.threads)", Self.number($0.opsPerSecond.median), Self.list($0.opsPerSecond)]
            })
        }
        let engine = cases.filter { $0.kms == nil }
        if !engine.isEmpty {
            lines.append("## Engine cases")
            lines.append("")
            lines.append("Efficiency: KAO/s ÷ the raw rate of the KAS key's dominant primitive (one RSA decrypt or ECDH per KAO). "
                + "Workload efficiency: KAO/s ÷ the rate all the KAO's necessary cryptography allows — unwrap, binding HMAC, rewrap "
                + "to the client, and per request the EC session key's generation + ECDH + HKDF ÷ the batch — from the same "
                + "repetition's measured steps on the same threads (local and cached-warm uniform cases).")
            lines.append("")
            lines.append("Latency is per request (µs). CPU is the whole process's user + system time per KAO. Mallocs are counted "
                + "while the workload's requests are rewrapped one at a time (512 KAOs at least); in brackets, the crypto steps' share (OpenSSL, counted step by step "
                + "by `rewrap-bench allocations`), the rest being the engine's own. Correctness: good KAOs rewrapped to their DEK / "
                + "bad KAOs refused / wrong DEKs / unexpected outcomes.")
            lines.append("")
            table(["allocator", "path", "workload", "KAS key", "client", "batch", "threads", "KAO/s", "req/s", "efficiency",
                   "workload ceiling KAO/s", "workload efficiency",
                   "p50", "p90", "p99", "p99.9", "max", "CPU µs/KAO", "mallocs/KAO", "peak RSS MiB", "cache hits/misses/loads", "correctness"],
                  [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], engine.map { c in
                      [c.id.allocator, c.id.path, c.id.workload, c.id.algorithm, c.id.client, "\(c.id.batch)", "\(c.threads)",
                       Self.number(c.kaoPerSecond.median), Self.number(c.requestsPerSecond.median),
                       c.efficiency.map { String(format: "%.2f", $0.median) } ?? "–",
                       c.workloadCeilingKAOPerSecond.map { Self.number($0.median) } ?? "–",
                       c.workloadEfficiency.map { String(format: "%.2f", $0.median) } ?? "–",
                       Self.number(c.latency.p50Microseconds), Self.number(c.latency.p90Microseconds),
                       Self.number(c.latency.p99Microseconds), Self.number(c.latency.p999Microseconds),
                       Self.number(c.latency.maxMicroseconds), Self.number(c.cpuMicrosecondsPerKAO.median),
                       (c.mallocsPerKAO.map { Self.number($0.median) } ?? "–")
                           + (c.cryptoStepMallocsPerKAO.map { " (\(Self.number($0)))" } ?? ""), Self.number(c.peakRSSMiB),
                       c.cache.map { "\($0.hits)/\($0.misses)/\($0.loads)" } ?? "–", Self.correctness(c.correctness)]
                  })
        }
        let remote = cases.filter { $0.kms != nil }
        if !remote.isEmpty {
            lines.append("## KMS path: simulated AWS KMS over HTTP on loopback")
            lines.append("")
            lines.append("Bound = min(quota, C ÷ mean service latency) (Little's law); C = min(engine remote concurrency, client "
                + "in-flight limit, KAOs in flight). The quota's token bucket holds one second of rate: burst = the tokens it still "
                + "held when the timed window of T s started (after the warm-up), and min(quota + burst ÷ T, C ÷ mean latency) is "
                + "the most that window could do. Latency in ms. Mallocs/KAO here include the HTTP client's and the in-process simulator's.")
            lines.append("")
            table(["allocator", "profile", "KAS key", "batch", "streams", "C", "mean latency ms", "bound KAO/s", "KAO/s", "÷ bound", "burst", "÷ bound with burst",
                   "p50", "p99", "p99.9", "throttled", "retries", "faults", "mallocs/KAO", "correctness"],
                  [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18], remote.map { c in
                      let k = c.kms!
                      return [c.id.allocator, k.profile, c.id.algorithm, "\(c.id.batch)", "\(c.streams)", "\(k.concurrency)",
                              Self.number(k.meanLatencyMilliseconds), Self.number(k.boundKAOPerSecond), Self.number(c.kaoPerSecond.median),
                              c.efficiency.map { String(format: "%.2f", $0.median) } ?? "–", Self.number(k.burstTokensAtStart),
                              String(format: "%.2f", c.kaoPerSecond.median / max(k.boundWithBurstKAOPerSecond, 1e-9)),
                              Self.number(c.latency.p50Microseconds / 1000), Self.number(c.latency.p99Microseconds / 1000),
                              Self.number(c.latency.p999Microseconds / 1000), "\(k.throttled)", "\(k.retries)", "\(k.faultsInjected)",
                              c.mallocsPerKAO.map { Self.number($0.median) } ?? "–", Self.correctness(c.correctness)]
                  })
        }
        if !ratios.isEmpty {
            lines.append("## Ratios within the run: scaling (all cores ÷ 1 thread) and paths against each other")
            lines.append("")
            table(["kind", "case", "÷", "value", "per repetition"], [3], ratios.map {
                [$0.kind, $0.numerator.description, $0.kind == "scaling" ? "threads=\($0.denominator.threads)" : $0.denominator.path,
                 String(format: "%.2f", $0.value.median), Self.list($0.value)]
            })
        }
        if allocators.count > 1 {
            lines.append("## Allocators compared")
            lines.append("")
            let first = allocators[0]
            var rows: [[String]] = []
            for c in cases where c.id.allocator == first {
                for other in allocators.dropFirst() {
                    var id = c.id
                    id.allocator = other
                    guard let o = cases.first(where: { $0.id == id }) else { continue }
                    rows.append(["\(c.id.path) \(c.id.workload) \(c.id.algorithm)→\(c.id.client) batch=\(c.id.batch) threads=\(c.id.threads)",
                                 Self.number(c.kaoPerSecond.median), Self.number(o.kaoPerSecond.median),
                                 String(format: "%.2f", o.kaoPerSecond.median / max(c.kaoPerSecond.median, 1e-9)),
                                 c.mallocsPerKAO.map { Self.number($0.median) } ?? "–", o.mallocsPerKAO.map { Self.number($0.median) } ?? "–",
                                 Self.number(c.peakRSSMiB), Self.number(o.peakRSSMiB)])
                }
            }
            let names = allocators.dropFirst().joined(separator: "/")
            table(["case", "\(first) KAO/s", "\(names) KAO/s", "\(names) ÷ \(first)", "\(first) mallocs/KAO", "\(names) mallocs/KAO",
                   "\(first) peak RSS MiB", "\(names) peak RSS MiB"], [1, 2, 3, 4, 5, 6, 7], rows)
        }
        return lines.joined(separator: "\n")
    }

    static func correctness(_ c: Correctness) -> String {
        "\(c.rewrapped)/\(c.refusedAsExpected)/\(c.wrongDEKs)/\(c.unexpectedOutcomes)"
    }

    static func list(_ sample: Sample) -> String {
        sample.perRepetition.map { $0 < 10 ? String(format: "%.2f", $0) : number($0) }.joined(separator: ", ")
    }

    /// Three significant figures at most, no exponent.
    public static func number(_ value: Double) -> String {
        if !value.isFinite { return value > 0 ? "∞" : "–" }
        if value.magnitude >= 100 { return String(format: "%.0f", value) }
        if value.magnitude >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.2f", value)
    }
}
