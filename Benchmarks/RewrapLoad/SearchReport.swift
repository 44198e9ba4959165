import Foundation

/// A `--find-max` search as `rewrap-bench load` prints and writes it: the knee and every step
/// (the curve of offered against achieved rate, with p50 and p99).
package struct SearchReport: Codable, Sendable {
    package var date: String
    package var machine: String
    package var settings: LoadReport.Settings
    package var criteria: ThroughputSearch.Criteria
    package var outcome: ThroughputSearch.Outcome

    package init(date: String, machine: String, settings: LoadReport.Settings, criteria: ThroughputSearch.Criteria,
                 outcome: ThroughputSearch.Outcome) {
        self.date = date
        self.machine = machine
        self.settings = settings
        self.criteria = criteria
        self.outcome = outcome
    }

    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    package var markdown: String {
        let s = settings
        func ms(_ microseconds: Double) -> String { String(format: "%.2f", microseconds / 1000) }
        var lines = [
            "# rewrap-bench load --find-max: \(s.targets.joined(separator: ", ")), \(date)",
            "",
            "\(machine). Batch \(s.batch) of \(s.algorithms.joined(separator: "+")), \(s.clients) client(s) with \(s.clientAlgorithm) keys, "
                + "\(s.encoding)\(s.gzip ? " + gzip" : "") over \(s.protocol), auth \(s.authentication), ≤ \(s.maxInFlight) in flight, \(s.threads) "
                + "generator thread(s), answers checked \(s.checkEvery == 1 ? "all" : s.checkEvery == 0 ? "none" : "one in \(s.checkEvery)"); "
                + "steps of \(LoadReport.number(s.durationSeconds)) s at a \(s.process) rate. A step passes when p99 ≤ "
                + "\(LoadReport.number(criteria.p99 / 1000)) ms, error rate ≤ \(LoadReport.number(criteria.errorRate)), achieved ≥ "
                + "\(LoadReport.number(criteria.achievedRatio)) × offered, and no KAO is wrong or unexpected.",
            "",
        ]
        if let knee = outcome.kneeStep {
            lines.append("**Maximum sustainable rate: \(LoadReport.number(outcome.knee)) requests/s** "
                + "(\(LoadReport.number(outcome.knee * Double(s.batch))) KAO/s)\(outcome.reachedMaxRate ? ", the --max-rate bound: the KAS may go higher" : ""); "
                + "its confirmation run: achieved \(LoadReport.number(knee.achievedRate))/s, p50 \(ms(knee.p50Microseconds)) ms, "
                + "p99 \(ms(knee.p99Microseconds)) ms.")
        } else {
            lines.append("**No rate passed**: even the first step broke the criteria.")
        }
        lines += ["", "| # | phase | offered req/s | achieved req/s | achieved ÷ offered | p50 ms | p99 ms | error rate | result |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
        for (index, step) in outcome.steps.enumerated() {
            let ratio = step.offeredRate > 0 ? step.achievedRate / step.offeredRate : 0
            lines.append("| \(index + 1) | \(step.phase) | \(LoadReport.number(step.offeredRate)) | \(LoadReport.number(step.achievedRate)) | "
                + String(format: "%.3f", ratio) + " | \(ms(step.p50Microseconds)) | \(ms(step.p99Microseconds)) | "
                + String(format: "%.4f", step.errorRate) + " | \(step.failure(criteria) ?? "pass") |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
