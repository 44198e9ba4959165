import ArgumentParser
import Foundation
import RewrapBenchKit

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a run with a baseline: print every figure's change, exit 1 if a gated figure regressed.",
        discussion: """
        Cases are matched by allocator, path, workload, algorithm, client, batch and threads ("all" cores \
        matches "all" cores). Gated, because they do not depend on the machine's speed:
          mallocs/KAO          current ≤ baseline + max(--malloc-absolute,
                               --malloc-relative × baseline) (not on kms paths: retries
                               and the in-process simulator move them)
          efficiency           KAO/s ÷ same-run OpenSSL ceiling: may drop by
                               --efficiency-floor of the baseline
                               (--single-kao-efficiency-floor for batch 1), or by both
                               runs' repetition spreads added, whichever is larger
          scaling              all cores ÷ 1 thread, the same rule with --scaling-floor
                               (same core count only)
          wrong DEKs           = 0
          unexpected outcomes  = baseline: good KAOs refused or bad ones permitted (not
                               on kms paths, whose injected faults refuse good KAOs by
                               design)
          bad KAOs refused     the same share of the checked KAOs as in the baseline
                               (the workloads are generated the same way every run)
        KAO/s, latency, CPU per KAO, the kms bound ratio and path ratios are reported, never gated. Cases in \
        only one of the runs are listed, not gated (a --quick run is a subset in time, not in cases).

        --confirm: the same cases measured again (CI re-runs the quick suite once when the first run fails). \
        A figure then counts as regressed only if it regressed in the report and in every --confirm report: \
        on a shared machine one noise burst can push one of ~400 ratio figures past its floor, while a real \
        regression (or any allocation or correctness change) shows in both.

        Exit status: 0 no regression, 1 a gated figure regressed, 2 a report could not be read.

        Example:
          swift run -c release rewrap-bench compare results/baseline.json \\
              /tmp/ci/2026-11-29T1200Z-quick.json
          swift run -c release rewrap-bench compare results/baseline.json \\
              /tmp/ci/a-quick.json --confirm /tmp/ci/b-quick.json
        """)

    @Argument(help: "The baseline report (e.g. results/baseline.json).")
    var baseline: String

    @Argument(help: "The report to judge.")
    var current: String

    @Option(help: "Another run of the same cases; a figure regresses only if it regresses in every run given.")
    var confirm: [String] = []

    @Option(help: "Growth of mallocs per KAO tolerated, as a fraction of the baseline (when larger than --malloc-absolute).")
    var mallocRelative = GatePolicy().mallocRelative

    @Option(help: "Growth of mallocs per KAO always tolerated.")
    var mallocAbsolute = GatePolicy().mallocAbsolute

    @Option(help: "Smallest relative drop of efficiency always tolerated.")
    var efficiencyFloor = GatePolicy().efficiencyFloor

    @Option(help: "The same for batch-1 cases (per-request overheads, the noisiest ratio).")
    var singleKAOEfficiencyFloor = GatePolicy().singleKAOEfficiencyFloor

    @Option(help: "Smallest relative drop of scaling always tolerated.")
    var scalingFloor = GatePolicy().scalingFloor

    @Flag(help: "Print the gated figures only.")
    var gatedOnly = false

    func run() throws {
        let base: BenchReport
        let now: BenchReport
        let again: [BenchReport]
        do {
            base = try BenchReport.load(path: baseline)
            now = try BenchReport.load(path: current)
            again = try confirm.map { path in try BenchReport.load(path: path) }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var policy = GatePolicy()
        policy.mallocRelative = mallocRelative
        policy.mallocAbsolute = mallocAbsolute
        policy.efficiencyFloor = efficiencyFloor
        policy.scalingFloor = scalingFloor
        policy.singleKAOEfficiencyFloor = singleKAOEfficiencyFloor
        var comparison = Comparison(baseline: base, current: now, policy: policy)
        for (path, report) in zip(confirm, again) {
            let confirmed = comparison.confirm(with: Comparison(baseline: base, current: report, policy: policy))
            print("confirmation run \(path): \(confirmed.kept) of \(confirmed.before) regressed figures regressed again\n")
        }
        print("# rewrap-bench compare\n")
        print("baseline: \(baseline) (\(base.caseSet), \(base.date), commit \(base.gitCommit))")
        print("current:  \(current) (\(now.caseSet), \(now.date), commit \(now.gitCommit))\n")
        print(comparison.table(includeInformational: !gatedOnly))
        guard comparison.matched > 0 else {
            FileHandle.standardError.write(Data("error: the two runs have no case in common\n".utf8))
            throw ExitCode(2)
        }
        if !comparison.regressions.isEmpty { throw ExitCode(1) }
    }
}
