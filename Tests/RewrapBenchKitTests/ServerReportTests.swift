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
}
