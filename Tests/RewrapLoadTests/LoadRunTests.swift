import Foundation
import RewrapClient
import RewrapCrypto
import RewrapTestSupport
import Testing
@testable import RewrapLoad

/// `LoadRun` against `FakeKAS` doubles: that the generator measures right (rate, coordinated
/// omission) and catches a KAS that answers wrong.
@Suite struct LoadRunTests {
    static func plan(_ kas: FakeKAS, rate: Double, duration: Double, clientKey: KeyAlgorithm = .ec(.p256),
                     batch: Int = 1) throws -> LoadPlan {
        let kasKey = TDFWriter.KASPublicKey(kid: "k1", key: try PrivateKey.generate(.ec(.p256)).publicKey)
        let workload = try Workload.uniform(kas: kasKey, clientKey: try PrivateKey.generate(clientKey), batch: batch)
        let client = try SimulatedClient(workload: workload, dpopKey: try PrivateKey.generate(.ec(.p256)), authentication: .none, targets: 1)
        var plan = LoadPlan(targets: [try #require(LoadTarget(url: kas.url))], schedule: ArrivalSchedule(rate: rate, duration: duration),
                            clients: [client])
        plan.threads = 1
        plan.batch = batch
        return plan
    }

    /// Below saturation the generator sends at the rate it was asked for.
    @Test func achievedRateMatchesTheOfferedRate() async throws {
        let kas = try await FakeKAS(.emptyAnswers(stallAt: -1, stall: .zero))
        // Modest, so the parallel test suite's timing-sensitive tests keep their CPU.
        var plan = try Self.plan(kas, rate: 200, duration: 2)
        plan.maxInFlight = 4
        plan.checkEvery = 0
        let result = try await LoadRun.run(plan)
        try await kas.stop()
        #expect(result.scheduled == 400 && result.sent == 400 && result.succeeded == 400, "\(result.errors)")
        #expect(result.achievedRate / 200 >= 0.99, "achieved \(result.achievedRate)/s")
        #expect(kas.requests.load(ordering: .relaxed) == 400)
    }

    /// One 200 ms stall on the only connection: every request due during it waits, and its
    /// latency — from its intended send time — shows the wait. A closed loop would have sent
    /// nothing during the stall and recorded a single slow request.
    @Test func aStallShowsInTheLatencyOfEveryRequestItHeldUp() async throws {
        let kas = try await FakeKAS(.emptyAnswers(stallAt: 50, stall: .milliseconds(200)))
        var plan = try Self.plan(kas, rate: 100, duration: 2)
        plan.maxInFlight = 1
        plan.checkEvery = 0
        let result = try await LoadRun.run(plan)
        try await kas.stop()
        #expect(result.succeeded == 200, "\(result.errors)")
        // ~20 requests were due during the stall; the first six (3 %) waited over 140 ms.
        #expect(result.latency.percentile(100) >= 195_000, "max \(result.latency.percentile(100)) µs")
        #expect(result.latency.percentile(97) >= 60_000, "p97 \(result.latency.percentile(97)) µs: the held-up requests count")
        // The rest were quicker (no absolute bound: a loaded test machine delays every request).
        #expect(result.latency.percentile(50) < result.latency.percentile(97), "the stall is in the tail, not everywhere")
    }

    /// A KAS that permits every KAO with a DEK other than the one wrapped: every checked answer
    /// counts its KAOs as wrong DEKs, and sampling checks one answer in N.
    @Test func wrongDEKsAreCaught() async throws {
        let kas = try await FakeKAS(.wrongDEKs)
        let plan = try Self.plan(kas, rate: 25, duration: 1, clientKey: .rsa2048, batch: 2)
        let result = try await LoadRun.run(plan)
        #expect(result.succeeded == 25)
        #expect(result.checkedResponses == 25)
        #expect(result.correctness.kaos == 50 && result.correctness.wrongDEKs == 50 && result.correctness.rewrapped == 0)
        var sampled = try Self.plan(kas, rate: 50, duration: 1, clientKey: .rsa2048)
        sampled.checkEvery = 5
        let some = try await LoadRun.run(sampled)
        try await kas.stop()
        #expect(some.checkedResponses == 10 && some.correctness.wrongDEKs == 10)
    }

    /// Nothing listening: the run does not start, and says where it could not connect.
    @Test func anUnreachableTargetFailsBeforeTheRun() async throws {
        let kas = try await FakeKAS(.emptyAnswers(stallAt: -1, stall: .zero))
        let plan = try Self.plan(kas, rate: 10, duration: 1)
        try await kas.stop()
        await #expect(throws: LoadError.self) { try await LoadRun.run(plan) }
    }
}

/// `rewrap-bench load` as a user runs it, against a double that answers wrong DEKs: exit 2 and
/// the count on stdout.
@Suite struct LoadBinaryTests {
    static let bench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewrap-bench")

    @Test func wrongDEKsFailTheRunWithExitTwo() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "rewrap-bench is built beside the tests")
        let kas = try await FakeKAS(.wrongDEKs)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("load-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pem = folder.appendingPathComponent("kas.pem")
        try PrivateKey.generate(.ec(.p256)).publicKey.pem().write(to: pem, atomically: true, encoding: .utf8)
        let run = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", kas.url, "--no-auth", "--kas-public", "k1=\(pem.path)",
                                                    "--client-key", "rsa:2048", "--clients", "1", "--rate", "20", "--duration", "1",
                                                    "--threshold", "p99<10s", "--progress", "0"], timeout: .seconds(120))
        try await kas.stop()
        #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("20 WRONG DEKs"), "\(run.stdout)")
        #expect(run.stderr.contains("error: 20 wrong DEK(s)"), "\(run.stderr)")
    }

    /// `--find-max` through the binary against a double with no limit below --max-rate: the
    /// search doubles up to it, confirms it, and says the KAS may go higher.
    @Test func findMaxStopsAtTheMaximumRate() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "rewrap-bench is built beside the tests")
        let kas = try await FakeKAS(.emptyAnswers(stallAt: -1, stall: .zero))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("load-max-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pem = folder.appendingPathComponent("kas.pem")
        try PrivateKey.generate(.ec(.p256)).publicKey.pem().write(to: pem, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("search.json")
        let run = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", kas.url, "--no-auth", "--kas-public", "k1=\(pem.path)", "--clients", "1",
                                                    "--check-every", "0", "--find-max", "--rate", "25", "--max-rate", "100",
                                                    "--duration", "0.5", "--slo-p99", "2s", "--out", out.path], timeout: .seconds(120))
        try await kas.stop()
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("**Maximum sustainable rate: 100 requests/s** (100 KAO/s), the --max-rate bound"), "\(run.stdout)")
        #expect(run.stderr.contains("step 1 (step-up) 25 req/s") && run.stderr.contains("(confirm) 100 req/s"), "\(run.stderr)")
        let search = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        #expect((search["outcome"] as? [String: Any])?["knee"] as? Double == 100)
    }

    /// Two generator processes, each one segment of the same schedule with its own interval log,
    /// then `rewrap-bench merge`: the merged histogram holds every request of the schedule once.
    @Test func segmentLogsMergeIntoTheWholeRun() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "rewrap-bench is built beside the tests")
        let kas = try await FakeKAS(.emptyAnswers(stallAt: -1, stall: .zero))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("load-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pem = folder.appendingPathComponent("kas.pem")
        try PrivateKey.generate(.ec(.p256)).publicKey.pem().write(to: pem, atomically: true, encoding: .utf8)
        var logs: [String] = []
        for segment in ["1/2", "2/2"] {
            let log = folder.appendingPathComponent("segment-\(segment.prefix(1)).hlog").path
            logs.append(log)
            let run = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", kas.url, "--no-auth", "--kas-public", "k1=\(pem.path)", "--clients", "1",
                                                        "--check-every", "0", "--rate", "60", "--duration", "1.5", "--segment", segment,
                                                        "--histogram-log", log, "--log-interval", "0.5", "--progress", "0"],
                                           timeout: .seconds(120))
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            #expect(run.stdout.contains("due 45  sent 45  ok 45"), "segment \(segment): half of the 90 arrivals: \(run.stdout)")
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.contains("#[Histogram log format version 1.3]") && text.contains(",HISTFAAAA"), "\(text)")
        }
        try await kas.stop()
        #expect(kas.requests.load(ordering: .relaxed) == 90)
        let merged = try await ChildProcess.runOffPool(Self.bench, ["merge"] + logs + ["--threshold", "p99<10s"], timeout: .seconds(60))
        #expect(merged.status == 0, "\(merged.stdout) \(merged.stderr)")
        #expect(merged.stdout.contains("2 log(s), 90 requests"), "\(merged.stdout)")
        let strict = try await ChildProcess.runOffPool(Self.bench, ["merge"] + logs + ["--threshold", "p50<1us"], timeout: .seconds(60))
        #expect(strict.status == 1 && strict.stderr.contains("thresholds broken: p50<1us"), "\(strict.stderr)")
        let missing = try await ChildProcess.runOffPool(Self.bench, ["merge", folder.appendingPathComponent("none.hlog").path], timeout: .seconds(60))
        #expect(missing.status == 2, "\(missing.stderr)")
    }
}

