import RewrapBenchKit

/// The goals the issues set, read off a report (the first allocator's cases), where it covers them.
enum Targets {
    static func evaluate(_ report: BenchReport) -> [BenchReport.Target] {
        guard let allocator = report.allocators.first else { return [] }
        func id(_ path: String, _ algorithm: String, _ client: String, workload: String = "uniform", threads: String = "all") -> BenchReport.CaseID {
            .init(allocator: allocator, path: path, workload: workload, algorithm: algorithm, client: client, batch: 256, threads: threads)
        }
        let cases = Dictionary(report.cases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let ratios = Dictionary(report.ratios.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var targets: [BenchReport.Target] = []
        let ec = "ec:secp256r1", rsa = "rsa:2048"

        for (algorithm, goal) in [(ec, 0.70), (rsa, 0.90)] {
            if let efficiency = cases[id("local", algorithm, algorithm)]?.efficiency {
                targets.append(.init(name: "engine: \(algorithm) → \(algorithm), local, batch 256, all cores: KAO/s ÷ ceiling",
                                     value: efficiency.median, goal: goal))
            }
        }
        for algorithm in [ec, rsa] {
            let wide = id("local", algorithm, algorithm)
            var single = wide
            single.threads = "1"
            if let scaling = ratios[BenchReport.Ratio(kind: "scaling", numerator: wide, denominator: single, value: .init([])).name] {
                targets.append(.init(name: "engine: \(algorithm), local, batch 256: all cores ÷ 1 thread", value: scaling.value.median, goal: 1.8))
            }
        }
        for (algorithm, denominator, goal) in [(ec, "local", 0.95), (rsa, "local", 0.95), (ec, "uncached", 5.0)] {
            let warm = id("cached-warm", algorithm, algorithm)
            let other = id(denominator, algorithm, algorithm)
            if let ratio = ratios[BenchReport.Ratio(kind: "path", numerator: warm, denominator: other, value: .init([])).name] {
                targets.append(.init(name: "key management: \(algorithm), batch 256, all cores: cached-warm ÷ \(denominator)",
                                     value: ratio.value.median, goal: goal))
            }
        }
        for algorithm in [rsa, ec] {
            guard let realistic = cases[id("kms:realistic", algorithm, algorithm)], let bound = realistic.efficiency else { continue }
            let withBurst = realistic.kaoPerSecond.median / max(realistic.kms?.boundWithBurstKAOPerSecond ?? 1, 1e-9)
            targets.append(.init(name: "kms: \(algorithm), realistic, batch 256: KAO/s ÷ min(quota, C ÷ mean latency) "
                                     + "(÷ the bound with the bucket's burst: \(BenchReport.number(withBurst)))",
                                 value: bound.median, goal: 0.9))
            if let stress = cases[id("kms:stress", algorithm, algorithm)] {
                let ratio = stress.latency.p99Microseconds / max(realistic.latency.p99Microseconds, 1)
                targets.append(.init(name: "kms: \(algorithm), stress ÷ realistic p99, batch 256 (wrong DEKs \(stress.correctness.wrongDEKs))",
                                     value: stress.correctness.wrongDEKs == 0 ? ratio : .infinity, goal: 3, atMost: true))
            }
        }
        // Issue #11: every local uniform case against the rate its whole cryptography allows.
        for item in report.cases where item.id.allocator == allocator && item.id.path == "local" && item.id.workload == "uniform" {
            guard let workload = item.workloadEfficiency, item.id.batch == 1 || item.id.batch >= 16 else { continue }
            targets.append(.init(name: "engine: \(item.id.algorithm) → \(item.id.client), local, batch \(item.id.batch), threads \(item.id.threads): "
                                     + "KAO/s ÷ workload ceiling", value: workload.median, goal: item.id.batch == 1 ? 0.85 : 0.90))
        }
        if let local = cases[id("local", ec, ec)], let mallocs = local.mallocsPerKAO {
            targets.append(.init(name: "harness: \(ec) → \(ec), local, batch 256, all cores: mallocs per KAO, all of them",
                                 value: mallocs.median, goal: 8, atMost: true))
            if let crypto = local.cryptoStepMallocsPerKAO {
                targets.append(.init(name: "harness: the same, the engine's own (all − \(BenchReport.number(crypto)) in the OpenSSL steps)",
                                     value: mallocs.median - crypto, goal: 8, atMost: true))
            }
        }
        return targets
    }
}
