import RewrapBenchKit
import Testing
@testable import RewrapLoad

/// `Threshold` (Threshold.swift): the k6-style conditions a run is gated on.
@Suite struct ThresholdTests {
    @Test func conditionsParseWithUnits() throws {
        let p99 = try Threshold(parsing: "p99<25ms")
        #expect(p99.metric == .p99 && p99.comparison == .less && p99.bound == 25_000)
        #expect(try Threshold(parsing: "p99.9 <= 1s").bound == 1_000_000)
        #expect(try Threshold(parsing: "max<500us").bound == 500)
        let rate = try Threshold(parsing: "error_rate<0.001")
        #expect(rate.metric == .errorRate && rate.bound == 0.001)
        #expect(try Threshold(parsing: "achieved_ratio>=0.99").comparison == .greaterOrEqual)
        #expect(try Threshold(parsing: "wrong_deks==0").comparison == .equal)
    }

    @Test(arguments: ["p99", "p99<", "p99<25", "p98<25ms", "error_rate<abc", "error_rate<-1", "latency<1ms", "p99<25ms<3"])
    func badConditionsAreRefusedWithTheSyntax(text: String) {
        #expect(throws: LoadError.self) { try Threshold(parsing: text) }
    }

    @Test func conditionsAreJudgedOnTheRunsFigures() throws {
        var result = LoadResult()
        result.scheduled = 1000
        result.succeeded = 990
        result.failed = 10
        result.seconds = 10
        for _ in 0..<990 { result.latency.record(nanoseconds: 2_000_000) }
        for _ in 0..<10 { result.latency.record(nanoseconds: 300_000_000) }
        #expect(try Threshold(parsing: "p50<3ms").holds(in: result, offeredRate: 100))
        #expect(try !Threshold(parsing: "p99.9<100ms").holds(in: result, offeredRate: 100))
        #expect(try Threshold(parsing: "error_rate<=0.01").holds(in: result, offeredRate: 100))
        #expect(try !Threshold(parsing: "error_rate<0.01").holds(in: result, offeredRate: 100))
        #expect(try Threshold(parsing: "achieved_rate>=99").holds(in: result, offeredRate: 100))
        #expect(try !Threshold(parsing: "achieved_ratio>0.995").holds(in: result, offeredRate: 100))
        // Requests due but never finished count as errors too.
        result.scheduled = 1100
        #expect(abs(result.errorRate - 110.0 / 1100) < 1e-12)
    }
}
