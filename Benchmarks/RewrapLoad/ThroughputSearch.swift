/// The search for the maximum sustainable throughput: the highest offered rate at which a run
/// keeps p99 within the SLO, errors within the budget and the achieved rate with the offered one.
///
/// Steps: double the rate from `startRate` until a step fails (or `maxRate` passes); bisect between
/// the last pass and the first fail until they are within `precision` of each other; then confirm
/// the best pass with a run of its own. A confirmation that fails (a noise burst, or a knee that
/// only held briefly) makes it the new upper bound and the bisection goes on below it, at most
/// `confirmations` times. The result is the confirmed rate — the knee — with every step measured,
/// so the report can draw offered against achieved rate and p50/p99.
package struct ThroughputSearch: Sendable {
    package struct Criteria: Sendable, Equatable, Codable {
        /// µs.
        package var p99: Double
        package var errorRate: Double
        /// Achieved ÷ offered at least this (below, the server or generator fell behind).
        package var achievedRatio: Double

        package init(p99: Double, errorRate: Double, achievedRatio: Double = 0.95) {
            self.p99 = p99
            self.errorRate = errorRate
            self.achievedRatio = achievedRatio
        }
    }

    /// One step as the search judges it.
    package struct Step: Sendable, Equatable, Codable {
        package var offeredRate: Double
        package var achievedRate: Double
        package var p50Microseconds: Double
        package var p99Microseconds: Double
        package var errorRate: Double
        /// Wrong DEKs plus unexpected KAO outcomes in the checked answers: any fails the step.
        package var incorrectKAOs: Int
        package var passed: Bool
        /// "step-up", "bisect" or "confirm".
        package var phase: String

        package init(offeredRate: Double, achievedRate: Double, p50Microseconds: Double, p99Microseconds: Double, errorRate: Double,
                     incorrectKAOs: Int, passed: Bool = false, phase: String = "") {
            self.offeredRate = offeredRate
            self.achievedRate = achievedRate
            self.p50Microseconds = p50Microseconds
            self.p99Microseconds = p99Microseconds
            self.errorRate = errorRate
            self.incorrectKAOs = incorrectKAOs
            self.passed = passed
            self.phase = phase
        }

        /// Why it failed ("p99 31.2 ms > 25 ms", …), nil if it passed.
        package func failure(_ criteria: Criteria) -> String? {
            var reasons: [String] = []
            if incorrectKAOs > 0 { reasons.append("\(incorrectKAOs) wrong or unexpected KAOs") }
            if p99Microseconds > criteria.p99 {
                reasons.append("p99 \(LoadReport.number(p99Microseconds / 1000)) ms > \(LoadReport.number(criteria.p99 / 1000)) ms")
            }
            if errorRate > criteria.errorRate { reasons.append("error rate \(LoadReport.number(errorRate)) > \(LoadReport.number(criteria.errorRate))") }
            if offeredRate > 0, achievedRate / offeredRate < criteria.achievedRatio {
                reasons.append("achieved \(LoadReport.number(achievedRate))/s < \(LoadReport.number(criteria.achievedRatio)) × offered")
            }
            return reasons.isEmpty ? nil : reasons.joined(separator: ", ")
        }
    }

    package struct Outcome: Sendable, Codable {
        /// The confirmed maximum sustainable rate (0 when even `startRate` failed).
        package var knee: Double
        /// The knee step's figures (its confirmation run), nil when none passed.
        package var kneeStep: Step?
        package var steps: [Step]
        /// `maxRate` passed: the knee is at least this, the search did not reach the limit.
        package var reachedMaxRate: Bool
    }

    package var criteria: Criteria
    package var startRate: Double
    package var maxRate: Double
    /// Relative gap between pass and fail at which bisection stops (0.05: within 5 %).
    package var precision = 0.05
    package var confirmations = 3

    package init(criteria: Criteria, startRate: Double, maxRate: Double) {
        self.criteria = criteria
        self.startRate = startRate
        self.maxRate = maxRate
    }

    /// Runs the search; `measure(rate, phase)` runs one step at `rate`.
    package func run(_ measure: (Double, String) async throws -> Step) async throws -> Outcome {
        var steps: [Step] = []
        func step(_ rate: Double, _ phase: String) async throws -> Step {
            var measured = try await measure(rate, phase)
            measured.passed = measured.failure(criteria) == nil
            measured.phase = phase
            steps.append(measured)
            return measured
        }
        var pass: Step?
        var failRate: Double?
        var rate = startRate
        // Step up, doubling.
        while true {
            let measured = try await step(rate, "step-up")
            if !measured.passed {
                failRate = rate
                break
            }
            pass = measured
            if rate >= maxRate { break }
            rate = min(rate * 2, maxRate)
        }
        guard pass != nil else { return Outcome(knee: 0, kneeStep: nil, steps: steps, reachedMaxRate: false) }
        var confirmationsLeft = confirmations
        while true {
            // Bisect between the best pass and the lowest fail.
            while let high = failRate, let low = pass?.offeredRate, (high - low) / low > precision {
                let middle = (low + high) / 2
                let measured = try await step(middle, "bisect")
                if measured.passed { pass = measured } else { failRate = middle }
            }
            guard let best = pass else { break }
            let confirmed = try await step(best.offeredRate, "confirm")
            if confirmed.passed {
                return Outcome(knee: best.offeredRate, kneeStep: confirmed, steps: steps,
                               reachedMaxRate: failRate == nil && best.offeredRate >= maxRate)
            }
            confirmationsLeft -= 1
            failRate = best.offeredRate
            // The next best pass below it, if any; else start again from half of it.
            let lower = steps.filter { $0.passed && $0.offeredRate < best.offeredRate }.max { $0.offeredRate < $1.offeredRate }
            if confirmationsLeft == 0 { break }
            if let lower {
                pass = lower
            } else {
                let half = best.offeredRate / 2
                let measured = try await step(half, "bisect")
                guard measured.passed else { break }
                pass = measured
            }
        }
        return Outcome(knee: 0, kneeStep: nil, steps: steps, reachedMaxRate: false)
    }
}
