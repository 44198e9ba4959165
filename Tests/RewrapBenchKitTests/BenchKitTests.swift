import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import RewrapBenchKit

/// The harness's statistics, report schema and regression gate.
@Suite struct BenchKitTests {
    // MARK: Percentiles

    @Test func medians() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
        #expect(Statistics.median([]) == 0)
        #expect(abs(BenchReport.Sample([0.9, 0.7, 0.8]).spread - 0.2) < 1e-12)
    }

    @Test func histogramPercentilesWithinItsPrecision() {
        var recorder = LatencyRecorder()
        // 1 … 10 000 µs, once each: the exact p-th percentile is p × 100 µs.
        for value in 1...10_000 { recorder.record(nanoseconds: UInt64(value) * 1000) }
        #expect(recorder.count == 10_000)
        for p in [50.0, 90, 99, 99.9] {
            let exact = p * 100
            #expect(abs(recorder.percentile(p) - exact) <= exact * 0.001 + 1, "p\(p): \(recorder.percentile(p)) vs \(exact)")
        }
        let summary = recorder.summary
        #expect(abs(summary.maxMicroseconds - 10_000) <= 10)
        #expect(abs(summary.meanMicroseconds - 5000.5) < 10)
        // The CDF rises monotonically from p0 to p100, tail points included.
        #expect(summary.cdf.first?[0] == 0 && summary.cdf.last?[0] == 100)
        #expect(summary.cdf.contains { $0[0] > 99.9 })
        #expect(zip(summary.cdf, summary.cdf.dropFirst()).allSatisfy { $0[0] < $1[0] && $0[1] <= $1[1] })
    }

    @Test func histogramsOfStreamsAddUp() {
        var a = LatencyRecorder()
        var b = LatencyRecorder()
        for _ in 0..<90 { a.record(nanoseconds: 100_000) }  // 100 µs
        for _ in 0..<10 { b.record(nanoseconds: 5_000_000) }  // 5 ms
        a.add(b)
        #expect(a.count == 100)
        #expect(abs(a.percentile(90) - 100) < 1)
        #expect(abs(a.percentile(91) - 5000) < 5)
        // Out-of-range values are clamped, not dropped.
        var c = LatencyRecorder()
        c.record(nanoseconds: 0)
        c.record(nanoseconds: 120_000_000_000)
        #expect(c.count == 2)
    }

    @Test func emptyRecorderSummary() {
        let summary = LatencyRecorder().summary
        #expect(summary.count == 0 && summary.p99Microseconds == 0 && summary.cdf.isEmpty)
    }

    // MARK: Schema

    @Test func reportRoundTripsThroughJSON() throws {
        let report = Self.report(mallocs: 6.2, efficiency: [0.74, 0.76, 0.78], scaling: [1.85, 1.86, 1.9])
        let decoded = try BenchReport.decode(try report.encoded(), source: "test")
        #expect(decoded == report)
        #expect(decoded.schemaVersion == BenchReport.schemaVersion)
    }

    @Test func otherSchemaVersionsAreRefusedClearly() throws {
        var object = try JSONSerialization.jsonObject(with: try Self.report().encoded()) as! [String: Any]
        object["schemaVersion"] = 2
        let old = try JSONSerialization.data(withJSONObject: object)
        let other = #expect(throws: BenchReportError.self) { try BenchReport.decode(old, source: "old.json") }
        #expect(other?.description
            == "old.json has schema version 2, this rewrap-bench reads \(BenchReport.schemaVersion): re-run it to make a new one")
        let empty = #expect(throws: BenchReportError.self) { try BenchReport.decode(Data("{}".utf8), source: "empty.json") }
        #expect(empty?.description == "empty.json is not a rewrap-bench report (no schemaVersion)")
        let array = #expect(throws: BenchReportError.self) { try BenchReport.decode(Data("[1]".utf8), source: "array.json") }
        #expect(array?.description == "array.json is not a rewrap-bench report (no schemaVersion)")
    }

    // MARK: Regression gate

    @Test func identicalRunsPass() {
        let report = Self.report()
        let comparison = Comparison(baseline: report, current: report)
        #expect(comparison.regressions.isEmpty)
        #expect(comparison.matched == 2)  // the case and its scaling ratio
        #expect(comparison.rows.contains { $0.metric == "mallocs/KAO" && $0.verdict == .pass })
    }

    @Test func oneExtraAllocationPerKAOFails() {
        let baseline = Self.report(mallocs: 6.0)
        let comparison = Comparison(baseline: baseline, current: Self.report(mallocs: 7.0))
        #expect(comparison.regressions.map(\.metric) == ["mallocs/KAO"])
        #expect(comparison.table().contains("**REGRESSED**"))
        // Within the tolerance (0.5 here): passes.
        #expect(Comparison(baseline: baseline, current: Self.report(mallocs: 6.4)).regressions.isEmpty)
        // On the real local EC path (~103 per KAO, almost all inside OpenSSL) one more still fails.
        #expect(Comparison(baseline: Self.report(mallocs: 103.2), current: Self.report(mallocs: 104.2)).regressions.map(\.metric) == ["mallocs/KAO"])
        #expect(Comparison(baseline: Self.report(mallocs: 103.2), current: Self.report(mallocs: 103.5)).regressions.isEmpty)
        // Fewer allocations is an improvement, not a failure.
        let fewer = Comparison(baseline: baseline, current: Self.report(mallocs: 4.0))
        #expect(fewer.regressions.isEmpty && fewer.rows.contains { $0.metric == "mallocs/KAO" && $0.verdict == .improved })
    }

    /// With OpenSSL's share measured in both runs, the engine's own allocations are gated: one
    /// more OpenSSL malloc per KAO on another machine passes, one more of the engine's fails.
    @Test func engineAllocationsAreGatedApartFromOpenSSLs() {
        func report(total: Double, openSSL: Double) -> BenchReport {
            var report = Self.report(mallocs: total)
            report.cases[0].cryptoStepMallocsPerKAO = openSSL
            return report
        }
        let baseline = report(total: 74.0, openSSL: 42.3)
        let otherMachine = Comparison(baseline: baseline, current: report(total: 75.0, openSSL: 43.3))
        #expect(otherMachine.regressions.isEmpty)
        #expect(otherMachine.rows.contains { $0.metric == "engine mallocs/KAO" && $0.verdict == .pass })
        #expect(otherMachine.rows.contains { $0.metric == "mallocs/KAO (total)" && !$0.gated })
        let engineGrew = Comparison(baseline: baseline, current: report(total: 75.0, openSSL: 42.3))
        #expect(engineGrew.regressions.map(\.metric) == ["engine mallocs/KAO"])
    }

    @Test func aRegressionCountsOnlyWhenTheConfirmationRunShowsItToo() {
        let baseline = Self.report(efficiency: [0.76, 0.76, 0.76])
        let burst = Self.report(efficiency: [0.63, 0.63, 0.63])
        // The second run measured the figure within bounds: the first run's drop was noise.
        var noise = Comparison(baseline: baseline, current: burst)
        let healthy = noise.confirm(with: Comparison(baseline: baseline, current: Self.report(efficiency: [0.75, 0.75, 0.75])))
        #expect(healthy.before == 1 && healthy.kept == 0 && noise.regressions.isEmpty)
        #expect(noise.rows.contains { $0.metric == "efficiency" && $0.limit.contains("not confirmed: 0.75") })
        // Both runs regressed: it stays a regression.
        var real = Comparison(baseline: baseline, current: burst)
        real.confirm(with: Comparison(baseline: baseline, current: Self.report(efficiency: [0.62, 0.62, 0.62])))
        #expect(real.regressions.map(\.metric) == ["efficiency"])
        // An allocation regression reproduces, whatever the noise.
        var mallocs = Comparison(baseline: Self.report(mallocs: 6.0), current: Self.report(mallocs: 7.0))
        mallocs.confirm(with: Comparison(baseline: Self.report(mallocs: 6.0), current: Self.report(mallocs: 7.0)))
        #expect(mallocs.regressions.map(\.metric) == ["mallocs/KAO"])
    }

    /// Where both runs measured the workload ceiling, its efficiency is what is gated; the
    /// one-primitive efficiency is only reported beside it (issue #11).
    @Test func theWorkloadEfficiencyIsGatedWhereBothRunsHaveIt() {
        func withWorkload(_ values: [Double], efficiency: [Double] = [0.75, 0.76, 0.77]) -> BenchReport {
            var report = Self.report(efficiency: efficiency)
            report.cases[0].workloadCeilingKAOPerSecond = .init([30_000, 30_000, 30_000])
            report.cases[0].workloadEfficiency = .init(values)
            return report
        }
        let baseline = withWorkload([0.84, 0.84, 0.84])
        let dropped = Comparison(baseline: baseline, current: withWorkload([0.60, 0.60, 0.60]))
        #expect(dropped.regressions.map(\.metric) == ["workload efficiency"])
        #expect(dropped.rows.contains { $0.metric == "efficiency" && !$0.gated })
        // The one-primitive efficiency falling alone is not a regression when the workload one holds.
        let held = Comparison(baseline: baseline, current: withWorkload([0.84, 0.84, 0.84], efficiency: [0.50, 0.50, 0.50]))
        #expect(held.regressions.isEmpty)
        // A baseline without it (older runs): the one-primitive efficiency is gated as before.
        let old = Comparison(baseline: Self.report(efficiency: [0.76, 0.76, 0.76]), current: withWorkload([0.84, 0.84, 0.84], efficiency: [0.50, 0.50, 0.50]))
        #expect(old.regressions.map(\.metric) == ["efficiency"])
    }

    @Test func efficiencyDropWithinTheNoiseBandPasses() {
        let baseline = Self.report(efficiency: [0.70, 0.76, 0.80])  // spread 0.10
        // 0.76 → 0.63: a 17 % drop, past the 15 % floor but within the spreads (0.10 + 0.05).
        let noisy = Comparison(baseline: baseline, current: Self.report(efficiency: [0.60, 0.63, 0.65]))
        #expect(noisy.regressions.isEmpty)
        // The same drop from steady repetitions is a regression.
        let steady = Comparison(baseline: Self.report(efficiency: [0.76, 0.76, 0.76]), current: Self.report(efficiency: [0.63, 0.63, 0.63]))
        #expect(steady.regressions.map(\.metric) == ["efficiency"])
        // Batch-1 cases get the wider floor: the same steady 17 % drop passes there.
        var single = Self.report(efficiency: [0.76, 0.76, 0.76])
        single.cases[0].id.batch = 1
        var singleNow = Self.report(efficiency: [0.63, 0.63, 0.63])
        singleNow.cases[0].id.batch = 1
        #expect(Comparison(baseline: single, current: singleNow).regressions.isEmpty)
        // A drop smaller than the floor passes even with no spread at all.
        #expect(Comparison(baseline: Self.report(efficiency: [0.76]), current: Self.report(efficiency: [0.68])).regressions.isEmpty)
        // One repetition (--quick) is taken to be as noisy as the baseline's repetitions: the
        // band is twice the baseline's spread. 0.76 → 0.58 is within 2 × 0.10, 0.76 → 0.55 is not.
        #expect(Comparison(baseline: baseline, current: Self.report(efficiency: [0.58])).regressions.isEmpty)
        #expect(Comparison(baseline: baseline, current: Self.report(efficiency: [0.55])).regressions.map(\.metric) == ["efficiency"])
    }

    @Test func lostScalingFailsOnlyOnTheSameCoreCount() {
        let baseline = Self.report(scaling: [1.86, 1.88, 1.9])
        let serial = Self.report(scaling: [1.0, 1.02, 1.01])
        #expect(Comparison(baseline: baseline, current: serial).regressions.map(\.metric) == ["scaling"])
        var bigger = serial
        bigger.machine.cores = 8
        let elsewhere = Comparison(baseline: baseline, current: bigger)
        #expect(elsewhere.regressions.isEmpty)
        #expect(!elsewhere.notes.isEmpty)
    }

    @Test func ratiosAreGatedOnlyOnTheSameCPUModel() {
        let baseline = Self.report(efficiency: [0.76, 0.77, 0.78], scaling: [1.86, 1.88, 1.9])
        var otherCPU = Self.report(efficiency: [0.50, 0.50, 0.50], scaling: [1.0, 1.0, 1.0])
        otherCPU.machine.cpu = "another CPU"
        let elsewhere = Comparison(baseline: baseline, current: otherCPU)
        #expect(elsewhere.regressions.isEmpty)
        #expect(elsewhere.notes.contains { $0.contains("CPU models differ") })
        #expect(elsewhere.rows.contains { $0.metric == "efficiency" && $0.verdict == .info })
        // Allocations and correctness stay gated across machines.
        otherCPU.cases[0].mallocsPerKAO = .init([(baseline.cases[0].mallocsPerKAO?.median ?? 0) + 1])
        otherCPU.cases[0].correctness.wrongDEKs = 1
        #expect(Comparison(baseline: baseline, current: otherCPU).regressions.map(\.metric).sorted() == ["mallocs/KAO", "wrong DEKs"])
        // The same drop on the same CPU fails.
        otherCPU.machine.cpu = baseline.machine.cpu
        #expect(Set(Comparison(baseline: baseline, current: otherCPU).regressions.map(\.metric)).isSuperset(of: ["efficiency", "scaling"]))
    }

    @Test func correctnessIsExact() {
        var wrong = Self.report()
        wrong.cases[0].correctness.wrongDEKs = 1
        #expect(Comparison(baseline: Self.report(), current: wrong).regressions.map(\.metric) == ["wrong DEKs"])
        var accepted = Self.report()
        accepted.cases[0].correctness.unexpectedOutcomes = 1  // a bad KAO permitted
        #expect(Comparison(baseline: Self.report(), current: accepted).regressions.map(\.metric) == ["unexpected outcomes"])
        // Bad KAOs: the same share refused, over any number of checked KAOs.
        var withBad = Self.report()
        withBad.cases[0].correctness.refusedAsExpected = 150
        withBad.cases[0].correctness.kaos = 1500
        var fewerChecks = withBad
        fewerChecks.cases[0].correctness.refusedAsExpected = 50
        fewerChecks.cases[0].correctness.kaos = 500
        #expect(Comparison(baseline: withBad, current: fewerChecks).regressions.isEmpty)
        var oneLess = fewerChecks
        oneLess.cases[0].correctness.refusedAsExpected = 49
        #expect(Comparison(baseline: withBad, current: oneLess).regressions.map(\.metric) == ["bad KAOs refused (share)"])
        // A KMS path's fault-refused KAOs are reported, not gated; a wrong DEK still is.
        var kms = Self.report()
        kms.cases[0].kms = .init(profile: "stress", concurrency: 64, meanLatencyMilliseconds: 13, boundKAOPerSecond: 1000,
                                 throttled: 3, retries: 5, faultsInjected: 4)
        var kmsFaults = kms
        kmsFaults.cases[0].correctness.unexpectedOutcomes = 7
        #expect(Comparison(baseline: kms, current: kmsFaults).regressions.isEmpty)
        kmsFaults.cases[0].correctness.wrongDEKs = 1
        #expect(Comparison(baseline: kms, current: kmsFaults).regressions.map(\.metric) == ["wrong DEKs"])
    }

    @Test func absoluteFiguresAreNeverGated() {
        var slower = Self.report()
        slower.cases[0].kaoPerSecond = .init([100])
        slower.cases[0].latency.p99Microseconds *= 50
        slower.cases[0].cpuMicrosecondsPerKAO = .init([900])
        let comparison = Comparison(baseline: Self.report(), current: slower)
        #expect(comparison.regressions.isEmpty)
        #expect(comparison.rows.contains { $0.metric == "KAO/s" && $0.verdict == .info && ($0.change ?? 0) < -0.9 })
    }

    @Test func casesInOneRunOnlyAreListedNotGated() {
        var current = Self.report()
        current.cases[0].id.batch = 16
        let comparison = Comparison(baseline: Self.report(), current: current)
        #expect(comparison.regressions.isEmpty)
        #expect(comparison.rows.contains { $0.verdict == .notRun } && comparison.rows.contains { $0.verdict == .new })
    }

    // MARK: Report rendering

    @Test func reportRendersChartsAndTables() throws {
        var report = Self.report()
        // One more path and batch size, so every chart has two series and two points.
        for (path, batch, rate) in [("cached-warm", 256, 24_800.0), ("local", 16, 19_000), ("cached-warm", 16, 18_700)] {
            var other = report.cases[0]
            other.id.path = path
            other.id.batch = batch
            other.kaoPerSecond = .init([rate])
            report.cases.append(other)
        }
        report.targets = [.init(name: "mallocs per KAO", value: 103, goal: 8, atMost: true)]
        let charts = report.charts()
        #expect(charts.map(\.file) == ["throughput-ec-secp256r1.svg", "latency-cdf-ec-secp256r1.svg", "efficiency.svg"])
        for chart in charts {
            #expect(chart.svg.hasPrefix("<?xml"))
            let parser = XMLParser(data: Data(chart.svg.utf8))
            #expect(parser.parse(), "\(chart.file) is not well-formed XML")
        }
        // Throughput chart: a polyline per path, through the medians given.
        #expect(charts[0].svg.components(separatedBy: "<polyline").count - 1 == 2)
        let markdown = report.markdown()
        for chart in charts { #expect(markdown.contains("](charts/\(chart.file))")) }
        #expect(markdown.contains("| mallocs per KAO | 103 | ≤ 8.00 | **no** |"))
        #expect(markdown.contains("| jemalloc | cached-warm | uniform | ec:secp256r1 | ec:secp256r1 | 16 | 2 | 18700 |"))
    }

    // MARK: Helpers

    static func report(mallocs: Double = 6.0, efficiency: [Double] = [0.75, 0.76, 0.77],
                       scaling: [Double] = [1.86, 1.87, 1.88]) -> BenchReport {
        let id = BenchReport.CaseID(allocator: "jemalloc", path: "local", workload: "uniform", algorithm: "ec:secp256r1",
                                    client: "ec:secp256r1", batch: 256, threads: "all")
        var single = id
        single.threads = "1"
        var correctness = BenchReport.Correctness()
        correctness.kaos = 1024
        correctness.rewrapped = 1024
        let latency = BenchReport.Latency(count: 100, p50Microseconds: 10_000, p90Microseconds: 11_000, p99Microseconds: 12_000,
                                          p999Microseconds: 13_000, maxMicroseconds: 14_000, meanMicroseconds: 10_200,
                                          cdf: [[0, 9000], [50, 10_000], [100, 14_000]])
        let c = BenchReport.Case(
            id: id, threads: 2, streams: 1, kaoPerSecond: .init([25_000, 25_200, 25_400]), requestsPerSecond: .init([98, 99, 100]),
            efficiency: .init(efficiency), latency: latency, cpuMicrosecondsPerKAO: .init([78, 79, 80]),
            mallocsPerKAO: .init([mallocs]), peakRSSMiB: 60, correctness: correctness, cache: nil, kms: nil)
        return BenchReport(
            caseSet: "standard", date: "2026-11-29T18:00:00Z", gitCommit: "abc1234",
            machine: .init(cpu: "test CPU", cores: 2, memoryGiB: 24, os: "Linux"), openSSL: "OpenSSL 3.0.19",
            swiftCompiler: "6.3", buildConfiguration: "release", allocators: ["jemalloc"],
            settings: .init(durationSeconds: 0.5, warmUpSeconds: 0.2, repetitions: 3, kmsDurationSeconds: 1,
                            kmsWarmUpSeconds: 0.5, badFraction: 0.1),
            cases: [c], ratios: [.init(kind: "scaling", numerator: id, denominator: single, value: .init(scaling))])
    }
}
