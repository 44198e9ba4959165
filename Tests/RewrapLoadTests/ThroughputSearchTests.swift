import Testing
@testable import RewrapLoad

/// `ThroughputSearch` (ThroughputSearch.swift) against synthetic KASes whose limit is known.
@Suite struct ThroughputSearchTests {
    static let criteria = ThroughputSearch.Criteria(p99: 25_000, errorRate: 0.001)

    /// A KAS that keeps p99 at 5 ms up to `limit` req/s and falls over above it.
    static func kas(limit: Double) -> (Double, String) -> ThroughputSearch.Step {
        { rate, _ in
            rate <= limit
                ? .init(offeredRate: rate, achievedRate: rate, p50Microseconds: 2_000, p99Microseconds: 5_000, errorRate: 0, incorrectKAOs: 0)
                : .init(offeredRate: rate, achievedRate: limit, p50Microseconds: 400_000, p99Microseconds: 900_000, errorRate: 0,
                        incorrectKAOs: 0)
        }
    }

    @Test func findsTheKneeWithinThePrecision() async throws {
        let search = ThroughputSearch(criteria: Self.criteria, startRate: 50, maxRate: 100_000)
        let outcome = try await search.run(Self.kas(limit: 730))
        #expect(outcome.knee <= 730 && outcome.knee >= 730 / 1.05, "\(outcome.knee)")
        #expect(outcome.kneeStep?.passed == true && outcome.kneeStep?.phase == "confirm")
        #expect(!outcome.reachedMaxRate)
        // Doubling 50 → 800 (fails), then bisection; a few dozen steps at most.
        #expect(outcome.steps.prefix(5).map(\.offeredRate) == [50, 100, 200, 400, 800])
        #expect(outcome.steps.count < 12, "\(outcome.steps.count) steps")
        #expect(outcome.steps.last?.phase == "confirm")
    }

    @Test func stopsAtTheMaximumRate() async throws {
        let outcome = try await ThroughputSearch(criteria: Self.criteria, startRate: 100, maxRate: 1_000).run(Self.kas(limit: 5_000))
        #expect(outcome.knee == 1_000 && outcome.reachedMaxRate)
    }

    @Test func aFirstStepThatFailsFindsNothing() async throws {
        let outcome = try await ThroughputSearch(criteria: Self.criteria, startRate: 100, maxRate: 1_000).run(Self.kas(limit: 50))
        #expect(outcome.knee == 0 && outcome.kneeStep == nil && outcome.steps.count == 1)
    }

    /// The first confirmation hits a noise burst: the knee is confirmed below it, not reported
    /// from the unconfirmed step.
    @Test func aFailedConfirmationLowersTheKnee() async throws {
        var confirmations = 0
        let kas = Self.kas(limit: 730)
        let outcome = try await ThroughputSearch(criteria: Self.criteria, startRate: 50, maxRate: 100_000).run { rate, phase in
            if phase == "confirm" {
                confirmations += 1
                if confirmations == 1 {
                    return .init(offeredRate: rate, achievedRate: rate, p50Microseconds: 2_000, p99Microseconds: 60_000, errorRate: 0,
                                 incorrectKAOs: 0)
                }
            }
            return kas(rate, phase)
        }
        let first = try #require(outcome.steps.first { $0.phase == "confirm" })
        #expect(!first.passed)
        #expect(outcome.knee < first.offeredRate && outcome.knee > 0, "\(outcome.knee) below \(first.offeredRate)")
        #expect(confirmations == 2 && outcome.kneeStep?.passed == true)
    }

    @Test func wrongKAOsAndErrorsFailAStep() {
        let wrong = ThroughputSearch.Step(offeredRate: 100, achievedRate: 100, p50Microseconds: 1, p99Microseconds: 1, errorRate: 0,
                                          incorrectKAOs: 1)
        #expect(wrong.failure(Self.criteria)?.contains("wrong or unexpected") == true)
        let errors = ThroughputSearch.Step(offeredRate: 100, achievedRate: 100, p50Microseconds: 1, p99Microseconds: 1, errorRate: 0.01,
                                           incorrectKAOs: 0)
        #expect(errors.failure(Self.criteria)?.contains("error rate") == true)
        let behind = ThroughputSearch.Step(offeredRate: 100, achievedRate: 90, p50Microseconds: 1, p99Microseconds: 1, errorRate: 0,
                                           incorrectKAOs: 0)
        #expect(behind.failure(Self.criteria)?.contains("achieved") == true)
    }
}
