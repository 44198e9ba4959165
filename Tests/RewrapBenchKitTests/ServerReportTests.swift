import Foundation
import RewrapBenchKit
import Testing

/// The server path's report: the two targets of issue #10 judged from the right cases, a
/// JSON round trip, and a table that flags what was not met.
@Suite struct ServerReportTests {
    static func figures(kaoPerSecond: Double, cpu: Double) -> ServerReport.Figures {
        .init(kaoPerSecond: .init([kaoPerSecond]), requestsPerSecond: .init([kaoPerSecond]), cpuMicrosecondsPerRequest: .init([cpu]),
              cpuMicrosecondsPerKAO: .init([cpu]),
              latency: .init(count: 1, p50Microseconds: 1, p90Microseconds: 1, p99Microseconds: 1, p999Microseconds: 1,
                             maxMicroseconds: 1, meanMicroseconds: 1, cdf: []))
    }

    static func item(batch: Int, token: String, throughput: Double, cpu: Double) -> ServerReport.Case {
        var correctness = BenchReport.Correctness()
        correctness.kaos = batch
        correctness.rewrapped = batch
        return .init(algorithm: "ec:secp256r1", client: "ec:secp256r1", batch: batch, token: token, streams: 4,
                     server: figures(kaoPerSecond: 100, cpu: 500), inProcess: figures(kaoPerSecond: 110, cpu: 300),
                     clientCPUMicrosecondsPerRequest: .init([50]), verifyMicrosecondsPerRequest: 160,
                     throughputRatio: .init([throughput]), cpuRatio: .init([cpu]), healthz: nil, errors: 0, firstError: nil,
                     correctness: correctness)
    }

    @Test func targetsComeFromTheirCases() throws {
        var report = ServerReport(caseSet: "server", date: "2026-12-02T14:00:00Z", gitCommit: "abc", machine: .init(cpu: "x", cores: 2, memoryGiB: 1, os: "y"),
                                  openSSL: "3", swiftCompiler: "6", buildConfiguration: "release",
                                  settings: .init(durationSeconds: 2, warmUpSeconds: 0.5, repetitions: 3, encoding: "proto+gzip",
                                                  authentication: "dpop", tokenAlgorithm: "RS256", serverLogLevel: "warning"),
                                  cases: [Self.item(batch: 64, token: "cached", throughput: 0.9, cpu: 2),
                                          Self.item(batch: 1, token: "cached", throughput: 0.2, cpu: 1.2),
                                          Self.item(batch: 1, token: "uncached", throughput: 0.2, cpu: 1.4)])
        report.targets = ServerReport.evaluate(report)
        #expect(report.targets.map(\.met) == [true, true, false])
        #expect(report.targets[0].name.hasPrefix("server ÷ in-process KAO/s") && report.targets[0].goal == 0.85)
        #expect(report.targets[2].atMost && report.targets[2].goal == 1.3)
        let decoded = try ServerReport.decode(try report.encoded())
        #expect(decoded == report)
        let table = report.markdown()
        #expect(table.contains("| **no** |"))
        #expect(table.contains("ec:secp256r1→ec:secp256r1 batch=64 token=cached"))
    }

    static func report(_ cases: [ServerReport.Case]) -> ServerReport {
        ServerReport(caseSet: "server-quick", date: "2026-12-02T14:00:00Z", gitCommit: "abc", machine: .init(cpu: "x", cores: 2, memoryGiB: 1, os: "y"),
                     openSSL: "3", swiftCompiler: "6", buildConfiguration: "release",
                     settings: .init(durationSeconds: 2, warmUpSeconds: 0.5, repetitions: 3, encoding: "proto+gzip",
                                     authentication: "dpop", tokenAlgorithm: "RS256", serverLogLevel: "warning"),
                     cases: cases)
    }

    static func counted(_ batch: Int, _ token: String, mallocs: Double?) -> ServerReport.Case {
        var item = item(batch: batch, token: token, throughput: 0.5, cpu: 1.5)
        item.serverMallocsPerRequest = mallocs.map { .init([$0]) }
        return item
    }

    /// The CI gate on server mallocs: 3 % or 3 allocations per request, whichever is larger;
    /// a baseline case no longer counted fails too; cases the baseline lacks are not judged.
    @Test func allocationGateAllowsNoiseAndFlagsGrowth() throws {
        let baseline = Self.report([Self.counted(1, "cached", mallocs: 400), Self.counted(64, "cached", mallocs: 1500),
                                    Self.counted(1, "uncached", mallocs: nil)])
        let within = Self.report([Self.counted(1, "cached", mallocs: 412), Self.counted(64, "cached", mallocs: 1545),
                                  Self.counted(1, "uncached", mallocs: 900)])
        #expect(within.allocationRegressions(against: baseline).isEmpty)
        let grown = Self.report([Self.counted(1, "cached", mallocs: 413), Self.counted(64, "cached", mallocs: 1400)])
        let regressions = grown.allocationRegressions(against: baseline)
        #expect(regressions.count == 1)
        #expect(regressions.first?.contains("batch=1 token=cached: server mallocs/request 413.0 > 412.0") == true, "\(regressions)")
        let small = Self.report([Self.counted(1, "cached", mallocs: 12.9)])
        #expect(small.allocationRegressions(against: Self.report([Self.counted(1, "cached", mallocs: 10)])).isEmpty)
        let uncounted = Self.report([Self.counted(1, "cached", mallocs: nil)])
        #expect(uncounted.allocationRegressions(against: baseline).first?.contains("not counted") == true)
        // The new fields survive the file, and the table shows them.
        #expect(try ServerReport.decode(try grown.encoded()) == grown)
        #expect(grown.markdown().contains("| 413.0 / – |"))
    }
}
