/// A pass/fail condition on a run's figures, k6-style: `p99<25ms`, `error_rate<0.001`,
/// `achieved_ratio>=0.99`. A broken one makes `rewrap-bench load` exit 1, naming it.
package struct Threshold: Sendable, Equatable, CustomStringConvertible {
    package enum Metric: String, Sendable, CaseIterable {
        case p50, p90, p99, p999 = "p99.9", max, mean
        case errorRate = "error_rate"
        case errors
        case wrongDEKs = "wrong_deks"
        case unexpected
        case achievedRate = "achieved_rate"
        case achievedRatio = "achieved_ratio"
        case kaoRate = "kao_rate"

        package var isLatency: Bool { [.p50, .p90, .p99, .p999, .max, .mean].contains(self) }
    }

    package enum Comparison: String, Sendable, CaseIterable {
        // Two-character operators first, so "<=" is not read as "<".
        case lessOrEqual = "<=", greaterOrEqual = ">=", equal = "==", less = "<", greater = ">"

        func holds(_ value: Double, _ bound: Double) -> Bool {
            switch self {
            case .less: value < bound
            case .lessOrEqual: value <= bound
            case .greater: value > bound
            case .greaterOrEqual: value >= bound
            case .equal: value == bound
            }
        }
    }

    package let metric: Metric
    package let comparison: Comparison
    /// Latency bounds in µs; others as written.
    package let bound: Double
    package let text: String

    package static let syntax = """
        METRIC OP VALUE: METRIC one of p50 p90 p99 p99.9 max mean (latency: VALUE with us, ms or s), error_rate \
        (failed ÷ due, 0…1), errors, wrong_deks, unexpected (KAO outcomes), achieved_rate (requests/s), achieved_ratio \
        (achieved ÷ offered), kao_rate; OP one of < <= > >= ==
        """

    package init(parsing text: String) throws(LoadError) {
        let compact = text.filter { !$0.isWhitespace }
        guard let comparison = Comparison.allCases.first(where: { compact.contains($0.rawValue) }),
              let range = compact.range(of: comparison.rawValue) else {
            throw LoadError("threshold \"\(text)\": no comparison (\(Self.syntax))")
        }
        let name = String(compact[..<range.lowerBound])
        var value = String(compact[range.upperBound...])
        guard let metric = Metric(rawValue: name) else { throw LoadError("threshold \"\(text)\": unknown metric \"\(name)\" (\(Self.syntax))") }
        var scale = 1.0
        if metric.isLatency {
            for (suffix, factor) in [("us", 1.0), ("µs", 1.0), ("ms", 1000.0), ("s", 1_000_000.0)] where value.hasSuffix(suffix) {
                value.removeLast(suffix.count)
                scale = factor
                break
            }
            if scale == 1.0, !(text.hasSuffix("us") || text.hasSuffix("µs")) {
                throw LoadError("threshold \"\(text)\": a latency bound needs a unit (us, ms or s)")
            }
        }
        guard let number = Double(value), number.isFinite, number >= 0 else {
            throw LoadError("threshold \"\(text)\": \"\(value)\" is not a non-negative number")
        }
        self.metric = metric
        self.comparison = comparison
        bound = number * scale
        self.text = compact
    }

    /// The run's value of the metric (latency in µs).
    package func value(in result: LoadResult, offeredRate: Double) -> Double {
        switch metric {
        case .p50: result.latency.percentile(50)
        case .p90: result.latency.percentile(90)
        case .p99: result.latency.percentile(99)
        case .p999: result.latency.percentile(99.9)
        case .max: result.latency.percentile(100)
        case .mean: result.latency.summary.meanMicroseconds
        case .errorRate: result.errorRate
        case .errors: Double(result.failed)
        case .wrongDEKs: Double(result.correctness.wrongDEKs)
        case .unexpected: Double(result.correctness.unexpectedOutcomes)
        case .achievedRate: result.achievedRate
        case .achievedRatio: offeredRate > 0 ? result.achievedRate / offeredRate : 0
        case .kaoRate: result.kaoRate
        }
    }

    package func holds(in result: LoadResult, offeredRate: Double) -> Bool {
        comparison.holds(value(in: result, offeredRate: offeredRate), bound)
    }

    package var description: String { text }
}
