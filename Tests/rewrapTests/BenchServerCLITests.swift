import Foundation
import RewrapBenchKit
import RewrapTestSupport
import Testing

/// `rewrap-bench server` as the README runs it: the built executable starts `rewrap keys
/// generate`, `rewrap dev-idp` and `rewrap serve` with authentication on, drives it, and prints
/// the table; a short run (the figures of a debug build mean nothing, the path through does).
@Suite struct BenchServerCLITests {
    static let bench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewrap-bench")

    @Test func serverPathRunsThroughTheBinaries() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "rewrap-bench is built beside the tests")
        try #require(FileManager.default.isExecutableFile(atPath: KMSCLITests.executable.path), "rewrap is built beside the tests")
        let results = FileManager.default.temporaryDirectory.appendingPathComponent("bench-server-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: results) }
        let run = try await ChildProcess.runOffPool(Self.bench, ["server", "--quick", "--algorithms", "ec:secp256r1", "--batches", "1",
                                                    "--duration", "0.3", "--warm-up", "0.1", "--uncached-requests", "20",
                                                    "--results-dir", results.path],
                                       timeout: .seconds(300))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("| ec:secp256r1→ec:secp256r1 batch=1 token=cached | 8 |") || run.stdout.contains("batch=1 token=cached"),
                "\(run.stdout)")
        #expect(run.stdout.contains("batch=1 token=uncached"))
        #expect(run.stdout.contains("| 0 | 4/4 |"), "no failed request, every KAO opened: \(run.stdout)")
        let files = try FileManager.default.contentsOfDirectory(atPath: results.path)
        #expect(files.contains("server-latest.md"))
        #expect(files.contains { $0.hasSuffix("-server-quick.json") })
        // Mallocs of the server process are counted when the counter library is built beside
        // it (`swift build` builds every product), and --baseline gates them: a baseline that
        // claims far fewer fails the run with exit 1 and names the case.
        let counter = Self.bench.deletingLastPathComponent().appendingPathComponent("libRewrapAllocationCounter.so")
        if FileManager.default.fileExists(atPath: counter.path) {
            #expect(!run.stdout.contains("| – / "), "server mallocs counted: \(run.stdout)")
            let json = try #require(files.first { $0.hasSuffix("-server-quick.json") })
            var report = try ServerReport.decode(Data(contentsOf: results.appendingPathComponent(json)))
            for index in report.cases.indices { report.cases[index].serverMallocsPerRequest = .init([1]) }
            let baseline = results.appendingPathComponent("baseline-server.json")
            try report.encoded().write(to: baseline)
            let gated = try await ChildProcess.runOffPool(Self.bench, ["server", "--quick", "--algorithms", "ec:secp256r1", "--batches", "1",
                                                          "--tokens", "cached", "--duration", "0.2", "--warm-up", "0.1",
                                                          "--no-write", "--baseline", baseline.path], timeout: .seconds(300))
            #expect(gated.status == 1, "\(gated.stderr)")
            #expect(gated.stderr.contains("server mallocs regressed") && gated.stderr.contains("batch=1 token=cached"), "\(gated.stderr)")
        } else {
            print("BenchServerCLITests: libRewrapAllocationCounter.so is not built beside the tests; the malloc gate is not exercised")
        }
        // Its help teaches the path.
        let help = try await ChildProcess.runOffPool(Self.bench, ["help", "server"], timeout: .seconds(30))
        #expect(help.stdout.contains("--require-dpop") && help.stdout.contains("Examples:"))
    }
}
