import Foundation
import RewrapBenchKit
import RewrapTestSupport
import Testing

/// `rewrap-bench load` as the README runs it, against `rewrap serve` with real authentication
/// from `rewrap dev-idp` (all three built binaries): keys from the PublicKey RPC, DPoP-bound
/// tokens, every answer checked, bad KAOs refused as they must be, thresholds and exit codes.
/// Short runs: the figures of a debug build mean nothing; the path through does.
@Suite struct BenchLoadCLITests {
    static let bench = BenchServerCLITests.bench

    @Test func loadAgainstServeWithAuthentication() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "rewrap-bench is built beside the tests")
        try #require(FileManager.default.isExecutableFile(atPath: KMSCLITests.executable.path), "rewrap is built beside the tests")
        let box = try ChildSandbox(environment: [:])
        let idp = try box.start(["dev-idp", "--port", "0", "--audience", "http://localhost:8080"])
        defer { idp.kill() }
        let idpPort = try #require(idp.waitForPort(), "dev-idp printed its port: \(idp.stdout.text) \(idp.stderr.text)")
        try ServeCLITests.generateKeys(box)
        let server = try box.start(["serve", "--keyring", "kas/keyring.yaml", "--port", "0", "--issuer", "http://127.0.0.1:\(idpPort)",
                                    "--audience", "http://localhost:8080", "--require-dpop", "--log-level", "warning"])
        defer { server.kill() }
        let port = try #require(server.waitForPort(), "serve printed its port: \(server.stdout.text) \(server.stderr.text)")
        let common = ["load", "--url", "http://127.0.0.1:\(port)", "--token-url", "http://127.0.0.1:\(idpPort)/token",
                      "--clients", "2", "--progress", "0"]

        // Both KAS key algorithms, two policies per request, a quarter of the KAOs bad, every answer checked.
        let report = box.path("load.json")
        let run = try await ChildProcess.runOffPool(Self.bench, common + ["--algorithms", "rsa:2048,ec:secp256r1", "--batch", "4", "--policies", "2", "--bad-fraction", "0.25",
                                                             "--rate", "20", "--duration", "1", "--threshold", "error_rate<=0",
                                                             "--threshold", "wrong_deks==0", "--threshold", "p99<5s", "--out", report],
                                       timeout: .seconds(180))
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("due 20  sent 20  ok 20  failed 0"), "\(run.stdout)")
        #expect(run.stdout.contains("80 KAOs, 60 opened to their DEK, 20 refused as expected, 0 WRONG DEKs, 0 unexpected"), "\(run.stdout)")
        #expect(run.stdout.contains("threshold   error_rate<=0: 0 held"), "\(run.stdout)")
        #expect(run.stderr.contains("KAS keys: r1 (rsa:2048), e1 (ec:secp256r1)"), "\(run.stderr)")
        let json = try #require(try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        #expect(json["succeeded"] as? Int == 20)
        #expect((json["settings"] as? [String: Any])?["authentication"] as? String == "dpop")
        // No token or secret in anything it printed.
        #expect(!run.stdout.contains("eyJ") && !run.stderr.contains("eyJ"))

        // HTTP/2 with prior knowledge (h2c), as the Java SDK speaks it.
        let h2c = try await ChildProcess.runOffPool(Self.bench, common + ["--http2", "--rate", "20", "--duration", "0.5", "--threshold", "error_rate<=0"],
                                       timeout: .seconds(120))
        #expect(h2c.status == 0, "\(h2c.stdout)\n\(h2c.stderr)")
        #expect(h2c.stdout.contains("answers     10 over HTTP/2.0") && h2c.stdout.contains("over h2c"), "\(h2c.stdout)")

        // A threshold that cannot hold: exit 1, named.
        let broken = try await ChildProcess.runOffPool(Self.bench, common + ["--rate", "20", "--duration", "0.5", "--threshold", "p50<1us"],
                                          timeout: .seconds(120))
        #expect(broken.status == 1, "\(broken.stdout)\n\(broken.stderr)")
        #expect(broken.stderr.contains("thresholds broken: p50<1us (was "), "\(broken.stderr)")

        // Without credentials the KAS refuses every request: counted by kind, not a crash.
        let refused = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", "http://127.0.0.1:\(port)", "--no-auth", "--rate", "20",
                                                        "--duration", "0.5", "--progress", "0", "--threshold", "error_rate<0.5"],
                                           timeout: .seconds(120))
        #expect(refused.status == 1, "\(refused.stdout)\n\(refused.stderr)")
        #expect(refused.stdout.contains("× HTTP 401 unauthenticated"), "\(refused.stdout)")

        // Bad usage: exit 64 with the reason; the help teaches by example.
        let usage = try await ChildProcess.runOffPool(Self.bench, ["load", "--no-auth"], timeout: .seconds(30))
        #expect(usage.status == 64 && usage.stderr.contains("--url"), "\(usage.stderr)")
        let help = try await ChildProcess.runOffPool(Self.bench, ["help", "load"], timeout: .seconds(30))
        #expect(help.stdout.contains("Examples:") && help.stdout.contains("--threshold"))
    }

    /// https: `rewrap serve --tls-cert/--tls-key` with a throw-away certificate, trusted with
    /// --ca-file (PublicKey over AsyncHTTPClient and the load's own NIO connections alike); an
    /// untrusted certificate fails before the run, exit 2.
    @Test func loadOverTLS() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "rewrap-bench is built beside the tests")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { print("skipped: /usr/bin/openssl is missing"); return }
        let tls = try TLSFixture.make()
        let box = try ChildSandbox(environment: [:])
        try ServeCLITests.generateKeys(box)
        let server = try box.start(["serve", "--keyring", "kas/keyring.yaml", "--port", "0", "--insecure-no-auth",
                                    "--tls-cert", tls.certificate, "--tls-key", tls.key, "--log-level", "warning"])
        defer { server.kill() }
        let port = try #require(server.waitForPort(), "serve printed its port: \(server.stdout.text) \(server.stderr.text)")
        for host in ["localhost", "127.0.0.1"] {
            let run = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", "https://\(host):\(port)", "--no-auth", "--ca-file", tls.certificate,
                                                        "--clients", "1", "--rate", "20", "--duration", "0.5", "--progress", "0",
                                                        "--threshold", "error_rate<=0"], timeout: .seconds(120))
            #expect(run.status == 0, "\(host): \(run.stdout)\n\(run.stderr)")
            #expect(run.stdout.contains("ok 10  failed 0") && run.stdout.contains("10 opened to their DEK"), "\(run.stdout)")
            #expect(run.stdout.contains("answers     10 over HTTP/1.1"), "\(run.stdout)")
        }
        // h2 by ALPN.
        let h2 = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", "https://localhost:\(port)", "--no-auth", "--ca-file", tls.certificate,
                                                   "--http2", "--clients", "1", "--rate", "20", "--duration", "0.5", "--progress", "0",
                                                   "--threshold", "error_rate<=0"], timeout: .seconds(120))
        #expect(h2.status == 0, "\(h2.stdout)\n\(h2.stderr)")
        #expect(h2.stdout.contains("answers     10 over HTTP/2.0") && h2.stdout.contains("10 opened to their DEK"), "\(h2.stdout)")
        let untrusted = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", "https://localhost:\(port)", "--no-auth", "--rate", "20",
                                                          "--duration", "0.5", "--progress", "0"], timeout: .seconds(120))
        #expect(untrusted.status == 2, "\(untrusted.stdout)\n\(untrusted.stderr)")
    }

    /// --replay: the KAOs of .tdf files `rewrap make-tdf` wrote to the KAS's keys, each answer's
    /// DEK checked against its file's root signature.
    @Test func loadReplaysTDFFiles() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.bench.path), "rewrap-bench is built beside the tests")
        let box = try ChildSandbox(environment: [:])
        try ServeCLITests.generateKeys(box)
        let made = try box.run(["make-tdf", "--kas-public", "kas/e1-public.pem", "--kid", "e1", "--count", "6", "--out", "tdfs"])
        #expect(made.status == 0, "\(made.stderr)")
        let server = try box.start(["serve", "--keyring", "kas/keyring.yaml", "--port", "0", "--insecure-no-auth", "--log-level", "warning"])
        defer { server.kill() }
        let port = try #require(server.waitForPort(), "serve printed its port: \(server.stdout.text) \(server.stderr.text)")
        let run = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", "http://127.0.0.1:\(port)", "--no-auth", "--replay", box.path("tdfs"),
                                                    "--batch", "2", "--clients", "1", "--rate", "20", "--duration", "0.5", "--progress", "0",
                                                    "--threshold", "error_rate<=0"], timeout: .seconds(120))
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("replaying 6 .tdf file(s), 6 KAO(s)"), "\(run.stderr)")
        #expect(run.stdout.contains("20 KAOs, 20 opened to their DEK"), "\(run.stdout)")
        let bad = try await ChildProcess.runOffPool(Self.bench, ["load", "--url", "http://127.0.0.1:\(port)", "--no-auth", "--replay", box.path("none")],
                                       timeout: .seconds(60))
        #expect(bad.status == 2 && bad.stderr.contains("--replay"), "\(bad.stderr)")
    }
}

