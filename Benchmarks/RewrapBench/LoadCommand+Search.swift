import ArgumentParser
import Foundation
import RewrapLoad

/// `rewrap-bench load --find-max`: steps of the same prepared load at rates the search picks.
extension Load {
    func search(_ template: LoadPlan, settings: LoadReport.Settings) async throws {
        let slo = try Threshold(parsing: "p99<" + sloP99).bound
        let criteria = ThroughputSearch.Criteria(p99: slo, errorRate: errorBudget)
        var search = ThroughputSearch(criteria: criteria, startRate: rate, maxRate: maxRate)
        search.precision = precision
        var incorrect = 0
        var number = 0
        Self.note("searching for the maximum sustainable rate from \(LoadReport.number(rate)) req/s, steps of \(LoadReport.number(duration)) s")
        let outcome = try await search.run { stepRate, phase in
            var plan = template
            plan.schedule = ArrivalSchedule(rate: stepRate, duration: duration, process: poisson ? .poisson(seed: seed) : .constant)
            let result = try await LoadRun.run(plan, serverPID: serverPID)
            // A refused good KAO (a throttled KMS: `key service unavailable`) fails its step; a
            // wrong DEK fails the whole search.
            let wrong = result.correctness.wrongDEKs + result.correctness.unexpectedOutcomes
            incorrect += result.correctness.wrongDEKs
            let step = ThroughputSearch.Step(offeredRate: stepRate, achievedRate: result.achievedRate,
                                             p50Microseconds: result.latency.percentile(50), p99Microseconds: result.latency.percentile(99),
                                             errorRate: result.errorRate, incorrectKAOs: wrong)
            number += 1
            Self.note(String(format: "step %d (%@) %@ req/s: achieved %@/s, p50 %.2f ms, p99 %.2f ms, error rate %.4f: %@", number, phase,
                             LoadReport.number(stepRate), LoadReport.number(result.achievedRate), step.p50Microseconds / 1000,
                             step.p99Microseconds / 1000, result.errorRate, step.failure(criteria) ?? "pass"))
            // Let the KAS drain whatever the step left queued before the next one starts.
            try await Task.sleep(for: .seconds(1))
            return step
        }
        let report = SearchReport(date: Environment.utcTimestamp(), machine: Self.machine, settings: settings, criteria: criteria,
                                  outcome: outcome)
        print(report.markdown)
        if let out {
            try report.encoded().write(to: URL(fileURLWithPath: out))
            Self.note("wrote \(out)")
        }
        if incorrect > 0 {
            Self.note("error: \(incorrect) wrong DEK(s) during the search")
            throw ExitCode(2)
        }
        if outcome.kneeStep == nil {
            Self.note("no rate passed: the first step (\(LoadReport.number(rate)) req/s) already broke the criteria; lower --rate")
            throw ExitCode(1)
        }
    }
}
