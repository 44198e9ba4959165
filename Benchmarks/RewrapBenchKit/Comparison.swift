import Foundation

/// Thresholds of the regression gate. Only figures that do not depend on the machine's speed are
/// gated: allocation counts (tight), ratios measured within one run (loose, widened by the noise
/// the repetitions showed) and correctness counts (exact). Absolute rates and times are reported.
///
/// Ratios are gated only between runs on the same CPU model (and, for scaling, core count): how
/// much parsing, hashing and AES weigh against the dominant primitive moves with the
/// micro-architecture. Measured on two 2-vCPU machine kinds: RSA-2048 decrypt is 4.5× and P-256
/// ECDH 2.4× faster on the AMD EPYC than on the Intel Xeon, and the parse-heavy uncached paths'
/// efficiency moved by −24 % to +40 % between them with the same code.
public struct GatePolicy: Sendable {
    /// Mallocs per KAO may grow by `mallocAbsolute` or by this fraction, whichever is larger, before
    /// the gate fails: one extra allocation per KAO fails it on every case below 200 mallocs per KAO
    /// (the batch-16 and batch-256 cases of the local and cached paths). Counts are averaged over
    /// 512 KAOs, so OpenSSL's periodic work moves them by well under 0.5.
    public var mallocRelative = 0.005
    public var mallocAbsolute = 0.5
    /// Efficiency (÷ the same-run OpenSSL ceiling) may drop by this fraction of the baseline, or by
    /// the two runs' repetition spreads added, whichever is larger.
    public var efficiencyFloor = 0.15
    /// Batch-1 cases are per-request overhead, scheduling and wake-ups more than crypto: the noisiest
    /// ratio on a shared machine, so they get a wider floor.
    public var singleKAOEfficiencyFloor = 0.25
    /// The same rule for scaling (all cores ÷ 1 thread).
    public var scalingFloor = 0.15

    public init() {}
}

public struct Comparison: Sendable {
    public enum Verdict: String, Sendable {
        case regressed, pass, improved
        /// Reported, never gated.
        case info
        /// In the baseline only; a shorter run (--quick, a subset) leaves cases out.
        case notRun = "not run"
        /// In the current run only.
        case new
    }

    public struct Row: Sendable {
        public var metric: String
        public var subject: String
        public var baseline: Double?
        public var current: Double?
        /// The bound the current value had to respect, in words.
        public var limit: String
        public var verdict: Verdict
        public var gated: Bool

        public var change: Double? {
            guard let baseline, let current, baseline != 0 else { return nil }
            return current / baseline - 1
        }
    }

    public var rows: [Row] = []
    public var notes: [String] = []

    public var regressions: [Row] { rows.filter { $0.verdict == .regressed } }
    /// Cases and ratios present in both runs.
    public private(set) var matched = 0

    public init(baseline: BenchReport, current: BenchReport, policy: GatePolicy = GatePolicy()) {
        let sameCPU = baseline.machine.cpu == current.machine.cpu
        if !sameCPU {
            notes.append("CPU models differ ('\(baseline.machine.cpu)' vs '\(current.machine.cpu)'): efficiency and scaling are "
                + "reported, not gated; allocations and correctness are. Make a baseline on this machine kind to gate them.")
        }
        let base = Dictionary(baseline.cases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let now = Dictionary(current.cases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for id in Set(base.keys).union(now.keys).sorted() {
            let subject = id.description
            guard let b = base[id] else {
                rows.append(Row(metric: "case", subject: subject, limit: "", verdict: .new, gated: false))
                continue
            }
            guard let c = now[id] else {
                rows.append(Row(metric: "case", subject: subject, limit: "", verdict: .notRun, gated: false))
                continue
            }
            matched += 1
            var baseCase = b, currentCase = c
            // A mixed case recorded without its OpenSSL share (reports before 2026-12-02) gets
            // the mean of its report's uniform shares for the same client and batch: the mixed
            // workload's KAOs go round robin over one key per algorithm, twice.
            if b.cryptoStepMallocsPerKAO == nil { baseCase.cryptoStepMallocsPerKAO = Self.mixShare(baseline, like: b.id) }
            if c.cryptoStepMallocsPerKAO == nil { currentCase.cryptoStepMallocsPerKAO = Self.mixShare(current, like: c.id) }
            compareCase(baseCase, currentCase, subject: subject, policy: policy, gateRatios: sameCPU)
        }

        let sameCores = baseline.machine.cores == current.machine.cores
        if !sameCores {
            notes.append("core counts differ (\(baseline.machine.cores) vs \(current.machine.cores)): scaling is reported, not gated")
        }
        let gateScaling = sameCores && sameCPU
        let baseRatios = Dictionary(baseline.ratios.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for ratio in current.ratios {
            guard let b = baseRatios[ratio.name] else { continue }
            matched += 1
            if ratio.kind == "scaling" && gateScaling {
                rows.append(Self.noiseAware(metric: "scaling", subject: ratio.name, baseline: b.value, current: ratio.value,
                                            floor: policy.scalingFloor))
            } else {
                rows.append(Row(metric: ratio.kind == "scaling" ? "scaling" : "path ratio", subject: ratio.name,
                                baseline: b.value.median, current: ratio.value.median, limit: "", verdict: .info, gated: false))
            }
        }
        if baseline.openSSL != current.openSSL {
            notes.append("OpenSSL differs (\(baseline.openSSL) vs \(current.openSSL)): allocation counts may move with it")
        }
    }

    private mutating func compareCase(_ b: BenchReport.Case, _ c: BenchReport.Case, subject: String, policy: GatePolicy, gateRatios: Bool) {
        let remote = b.kms != nil
        if var bm = b.mallocsPerKAO?.median, var cm = c.mallocsPerKAO?.median {
            // The engine's own allocations are what is gated when both runs measured OpenSSL's
            // share beside them (`cryptoStepMallocsPerKAO`, counted in the same run): OpenSSL's
            // per-call count moves with the machine — RSA-OAEP decrypt counted one more malloc on
            // the 2026-12-02 "AMD EPYC" VM than on the baseline's, for the same commit built side
            // by side — while the engine's does not.
            var metric = "mallocs/KAO"
            if !remote, let bo = b.cryptoStepMallocsPerKAO, let co = c.cryptoStepMallocsPerKAO {
                rows.append(Row(metric: "mallocs/KAO (total)", subject: subject, baseline: bm, current: cm, limit: "", verdict: .info, gated: false))
                bm -= bo
                cm -= co
                metric = "engine mallocs/KAO"
            }
            if remote {
                // Retries, faults and the in-process simulator's own work move these: reported only.
                rows.append(Row(metric: "mallocs/KAO", subject: subject, baseline: bm, current: cm, limit: "", verdict: .info, gated: false))
            } else {
                let tolerance = max(policy.mallocAbsolute, bm * policy.mallocRelative)
                let limit = bm + tolerance
                let floor = bm - tolerance
                rows.append(Row(metric: metric, subject: subject, baseline: bm, current: cm,
                                limit: String(format: "≤ %.2f", limit), verdict: cm > limit ? .regressed : (cm < floor ? .improved : .pass),
                                gated: true))
            }
        }
        let workload = b.workloadEfficiency.flatMap { bw in c.workloadEfficiency.map { (bw, $0) } }
        if let (bw, cw) = workload, !remote, gateRatios {
            // Where both runs measured the workload ceiling it is what is gated (issue #11): it
            // counts all of a KAO's cryptography, so a change that moves work between steps
            // shows; the one-primitive efficiency is reported beside it.
            rows.append(Self.noiseAware(metric: "workload efficiency", subject: subject, baseline: bw, current: cw,
                                        floor: b.id.batch == 1 ? policy.singleKAOEfficiencyFloor : policy.efficiencyFloor))
            if let be = b.efficiency, let ce = c.efficiency {
                rows.append(Row(metric: "efficiency", subject: subject, baseline: be.median, current: ce.median, limit: "", verdict: .info,
                                gated: false))
            }
        } else if let be = b.efficiency, let ce = c.efficiency {
            if remote || !gateRatios {
                // The KMS bound is a model, not a same-run measurement; another CPU weighs the
                // engine's own work differently: reported only.
                rows.append(Row(metric: remote ? "÷ KMS bound" : "efficiency", subject: subject, baseline: be.median, current: ce.median,
                                limit: "", verdict: .info, gated: false))
            } else {
                rows.append(Self.noiseAware(metric: "efficiency", subject: subject, baseline: be, current: ce,
                                            floor: b.id.batch == 1 ? policy.singleKAOEfficiencyFloor : policy.efficiencyFloor))
            }
        }
        rows.append(Row(metric: "wrong DEKs", subject: subject, baseline: Double(b.correctness.wrongDEKs),
                        current: Double(c.correctness.wrongDEKs), limit: "= 0",
                        verdict: c.correctness.wrongDEKs == 0 ? .pass : .regressed, gated: true))
        // Injected KMS faults may refuse good KAOs by design; everywhere else outcomes are exact.
        let exact = !remote
        let unexpected = c.correctness.unexpectedOutcomes
        rows.append(Row(metric: "unexpected outcomes", subject: subject, baseline: Double(b.correctness.unexpectedOutcomes),
                        current: Double(unexpected), limit: exact ? "= baseline" : "reported (KMS faults)",
                        verdict: exact ? (unexpected == b.correctness.unexpectedOutcomes ? .pass : .regressed) : .info, gated: exact))
        if exact && b.correctness.kaos > 0 && c.correctness.kaos > 0 {
            // The same workload refuses the same share of its KAOs, however many repetitions checked it.
            let baseShare = Double(b.correctness.refusedAsExpected) / Double(b.correctness.kaos)
            let share = Double(c.correctness.refusedAsExpected) / Double(c.correctness.kaos)
            let same = c.correctness.refusedAsExpected * b.correctness.kaos == b.correctness.refusedAsExpected * c.correctness.kaos
            rows.append(Row(metric: "bad KAOs refused (share)", subject: subject, baseline: baseShare, current: share,
                            limit: "= baseline (\(b.correctness.refusedAsExpected) of \(b.correctness.kaos); now \(c.correctness.refusedAsExpected) of \(c.correctness.kaos))",
                            verdict: same ? .pass : .regressed, gated: true))
        }
        rows.append(Row(metric: "KAO/s", subject: subject, baseline: b.kaoPerSecond.median, current: c.kaoPerSecond.median,
                        limit: "", verdict: .info, gated: false))
        rows.append(Row(metric: "p99 µs", subject: subject, baseline: b.latency.p99Microseconds, current: c.latency.p99Microseconds,
                        limit: "", verdict: .info, gated: false))
        rows.append(Row(metric: "CPU µs/KAO", subject: subject, baseline: b.cpuMicrosecondsPerKAO.median,
                        current: c.cpuMicrosecondsPerKAO.median, limit: "", verdict: .info, gated: false))
    }

    static func mixShare(_ report: BenchReport, like id: BenchReport.CaseID) -> Double? {
        guard id.workload == "mixed" else { return nil }
        var byAlgorithm: [String: Double] = [:]
        for item in report.cases where item.id.workload == "uniform" && item.kms == nil && item.id.client == id.client
            && item.id.batch == id.batch && item.id.allocator == id.allocator {
            if let share = item.cryptoStepMallocsPerKAO { byAlgorithm[item.id.algorithm] = share }
        }
        guard !byAlgorithm.isEmpty else { return nil }
        return byAlgorithm.values.reduce(0, +) / Double(byAlgorithm.count)
    }

    /// Keeps a regression only if `other` (the same cases measured again against the same
    /// baseline) regressed on the same figure too; the others become `pass`, with the second
    /// run's value named in the limit column. Returns how many regressions there were and remain.
    @discardableResult
    public mutating func confirm(with other: Comparison) -> (before: Int, kept: Int) {
        let before = regressions.count
        let again = Dictionary(other.rows.map { ("\($0.metric)|\($0.subject)", $0) }, uniquingKeysWith: { first, _ in first })
        for index in rows.indices where rows[index].verdict == .regressed {
            let second = again["\(rows[index].metric)|\(rows[index].subject)"]
            guard second?.verdict != .regressed else { continue }
            rows[index].verdict = .pass
            let value = second?.current.map(BenchReport.number) ?? "not measured"
            rows[index].limit += " (not confirmed: \(value) on the second run)"
        }
        return (before, regressions.count)
    }

    /// Fails when current < baseline − max(floor × baseline, spread(baseline) + spread(current)).
    /// A run of one repetition (`--quick`) shows no spread of its own; it is taken to be as noisy
    /// as the other run, which did show one, rather than noiseless.
    static func noiseAware(metric: String, subject: String, baseline: BenchReport.Sample, current: BenchReport.Sample,
                           floor: Double) -> Row {
        func spread(_ sample: BenchReport.Sample) -> Double? { sample.perRepetition.count > 1 ? sample.spread : nil }
        let baseSpread = spread(baseline) ?? spread(current) ?? 0
        let currentSpread = spread(current) ?? spread(baseline) ?? 0
        let allowed = max(floor * baseline.median, baseSpread + currentSpread)
        let lower = baseline.median - allowed
        let verdict: Verdict = current.median < lower ? .regressed : (current.median > baseline.median + allowed ? .improved : .pass)
        return Row(metric: metric, subject: subject, baseline: baseline.median, current: current.median,
                   limit: "≥ \(BenchReport.number(lower))", verdict: verdict, gated: true)
    }

    /// The gated rows (regressions first), then the reported ones, as Markdown tables.
    public func table(includeInformational: Bool = true) -> String {
        func line(_ row: Row) -> String {
            let change = row.change.map { String(format: "%+.1f %%", $0 * 100) } ?? "–"
            let verdict = row.verdict == .regressed ? "**REGRESSED**" : row.verdict.rawValue
            // Allocation counts are compared to a fraction of one: show them to two decimals.
            let precise = row.metric.hasPrefix("mallocs/KAO") || row.metric == "engine mallocs/KAO"
            func value(_ number: Double) -> String { precise ? String(format: "%.2f", number) : BenchReport.number(number) }
            return "| \(verdict) | \(row.metric) | \(row.subject) | \(row.baseline.map(value) ?? "–") | "
                + "\(row.current.map(value) ?? "–") | \(change) | \(row.limit) |"
        }
        let header = ["| verdict | metric | case | baseline | current | change | limit |", "|---|---|---|---:|---:|---:|---|"]
        let order: [Verdict: Int] = [.regressed: 0, .improved: 1, .pass: 2]
        let gated = rows.filter(\.gated).sorted { (order[$0.verdict] ?? 3) < (order[$1.verdict] ?? 3) }
        var lines = ["## Gated (fail the build when regressed)", ""] + header + gated.map(line)
        if includeInformational {
            let info = rows.filter { !$0.gated }
            lines += ["", "## Reported (absolute figures move with the machine)", ""] + header + info.map(line)
        }
        if !notes.isEmpty { lines += [""] + notes.map { "Note: \($0)" } }
        let summary = regressions.isEmpty
            ? "compare: \(gated.count) gated figures over \(matched) matched cases and ratios, no regression"
            : "compare: \(regressions.count) of \(gated.count) gated figures regressed"
        return (lines + ["", summary]).joined(separator: "\n") + "\n"
    }
}
