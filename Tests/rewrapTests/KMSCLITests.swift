import AsyncHTTPClient
import RewrapTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RewrapAWSWire
import RewrapClient
import RewrapCrypto
import RewrapKMS
import RewrapWire
import Synchronization
import Testing

/// The KMS flow through the built `rewrap` binary: `kms-sim` as a child process, keys in the
/// registry pointing at it through an `opentdf.io/aws` provider, and `request --db` rewrapping
/// with them; then the simulator stopped (SIGTERM: graceful, counters printed, exit 0) and the
/// same request failing per KAO, within a bound, with the documented exit status.
@Suite(.serialized) struct KMSCLITests {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewrap")
    /// Test credentials for the child processes; the simulator does not check them unless
    /// `--verify-sigv4`, but the client refuses to run without them.
    static let environment = ["AWS_ACCESS_KEY_ID": "AKIDCLITEST", "AWS_SECRET_ACCESS_KEY": "cli-test-secret"]

    @Test func remoteKeysRewrapThroughTheSimulatorAndFailCleanlyWithoutIt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "rewrap is built beside the tests")
        let box = try ChildSandbox(environment: Self.environment)

        // KAS keys as PEM files: the simulator holds the private halves, the registry the public.
        for (alg, kid) in [("rsa:2048", "kms-rsa"), ("ec:secp256r1", "kms-ec")] {
            let generated = try box.run(["keys", "generate", "--alg", alg, "--kid", kid, "--out", "kas"])
            #expect(generated.status == 0, "\(generated.stderr)")
        }
        let simulator = try box.start(["kms-sim", "--port", "0", "--profile", "zero",
                                       "--import", "kas/kms-rsa-private.pem", "--key-id", "aws-rsa",
                                       "--import", "kas/kms-ec-private.pem", "--key-id", "aws-ec"])
        defer { simulator.kill() }
        let port = try #require(simulator.waitForPort(), "kms-sim printed its port: \(simulator.stdout.text) \(simulator.stderr.text)")
        #expect(simulator.stdout.text.contains("imported kas/kms-rsa-private.pem as aws-rsa (rsa:2048)"))

        let config = #"{"endpoint":"http://127.0.0.1:\#(port)","region":"us-east-1"}"#
        let added = try box.run(["providers", "add", "--name", "aws", "--manager", "opentdf.io/aws", "--config", config])
        #expect(added.status == 0, "\(added.stderr)")
        for (kid, keyID) in [("kms-rsa", "aws-rsa"), ("kms-ec", "aws-ec")] {
            let imported = try box.run(["keys", "import", "--kid", kid, "--mode", "remote", "--provider", "aws",
                                        "--remote-key-id", keyID, "--public", "kas/\(kid)-public.pem"])
            #expect(imported.status == 0, "\(imported.stderr)")
        }

        // The request is built here, so the test knows the DEKs (the CLI never prints them).
        let clientKey = try PrivateKey.generate(.ecP256)
        let writer = TDFWriter()
        let policy = TDFWriter.policyBase64()
        var kaos: [KeyAccess] = []
        var deks: [SecureBytes] = []
        for kid in ["kms-rsa", "kms-ec"] {
            let kasKey = try PublicKey(pem: String(contentsOfFile: box.path("kas/\(kid)-public.pem"), encoding: .utf8))
            let dek = try TDFWriter.makeDEK()
            deks.append(dek)
            kaos.append(try writer.keyAccess(dek: dek, policyBase64: policy, kas: TDFWriter.KASPublicKey(kid: kid, key: kasKey)))
        }
        let body = String(decoding: RewrapRequestBuilder.json(RewrapRequestBuilder.request(
            clientPublicKeyPEM: try clientKey.publicKey.pem(), policies: [(id: "policy", body: policy, kaos: kaos)])), as: UTF8.self)

        let served = try box.run(["request", "--db", "keys.sqlite"], stdin: body)
        #expect(served.status == 0, "\(served.stderr)")
        let response = try ProtoJSON.decode(RewrapResponse.self, from: Array(served.stdout.utf8))
        for (index, dek) in deks.enumerated() {
            let result = response.result(policyID: "policy", keyAccessObjectID: "kao-\(index)")
            #expect(result?.status == "permit", "kao-\(index): \(String(describing: result?.error))")
            let opened = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: clientKey)
            #expect(opened.copyBytes() == dek.copyBytes(), "kao-\(index): the rewrapped DEK is the one wrapped")
        }

        // SIGTERM: a graceful stop, the counters on stdout, exit 0.
        simulator.signal(SIGTERM)
        let status = simulator.waitForExit(within: .seconds(15))
        #expect(status == 0, "kms-sim exit status after SIGTERM: \(String(describing: status)); \(simulator.stderr.text)")
        let counters = try #require(simulator.counters(), "counters printed: \(simulator.stdout.text)")
        #expect(counters.requests["Decrypt"] == 1)
        #expect(counters.requests["DeriveSharedSecret"] == 1)

        // A provider whose manager this build lacks is warned about; its keys are not involved.
        #expect(try box.run(["providers", "add", "--name", "vault", "--manager", "example.com/vault"]).status == 0)

        // The KMS is gone: each KAO fails `key service unavailable`, which is not a request
        // failure (exit 0, as `request --help` says), and the command gives up in bounded time.
        let start = ContinuousClock.now
        let unserved = try box.run(["request", "--db", "keys.sqlite"], stdin: body, timeout: .seconds(60))
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(15), "request took \(elapsed) with the KMS down")
        #expect(unserved.status == 0, "\(unserved.stderr)")
        #expect(unserved.stderr.contains("warning: provider vault (example.com/vault)"), "\(unserved.stderr)")
        let failed = try ProtoJSON.decode(RewrapResponse.self, from: Array(unserved.stdout.utf8))
        for index in deks.indices {
            let result = failed.result(policyID: "policy", keyAccessObjectID: "kao-\(index)")
            #expect(result?.status == "fail", "kao-\(index)")
            // The Go KAS's wire form of an internal KAO error.
            #expect(result?.error == "internal: internal error\nrpc error: code = Internal desc = key service unavailable",
                    "kao-\(index): \(String(describing: result?.error))")
        }
        #expect(!unserved.stdout.contains(Self.environment["AWS_SECRET_ACCESS_KEY"]!))
        #expect(!unserved.stderr.contains(Self.environment["AWS_SECRET_ACCESS_KEY"]!))

        // An unusable provider config stops the command before any request: exit 78, named.
        let bad = #"{"endpoint":"http://127.0.0.1:\#(port)/not-root"}"#
        #expect(try box.run(["providers", "add", "--name", "broken", "--manager", "opentdf.io/aws", "--config", bad]).status == 0)
        let refused = try box.run(["request", "--db", "keys.sqlite"], stdin: body)
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("provider broken (opentdf.io/aws) cannot be used"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
    }

    /// SIGTERM while a request is in flight: the request is answered, new connections are not
    /// accepted, and the process exits 0 with its counters.
    @Test func sigtermLetsTheRequestInFlightFinish() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "rewrap is built beside the tests")
        let box = try ChildSandbox(environment: Self.environment)
        let simulator = try box.start(["kms-sim", "--port", "0", "--profile", "zero", "--p50", "1500", "--p99", "1500"])
        defer { simulator.kill() }
        let port = try #require(simulator.waitForPort(), "kms-sim printed its port: \(simulator.stderr.text)")
        let transport = HTTPKMSTransport(endpoint: URL(string: "http://127.0.0.1:\(port)")!, maxConnections: 2)
        var policy = KMSRetryPolicy()
        policy.maxAttempts = 1
        policy.perAttemptTimeout = .seconds(10)
        policy.deadline = .seconds(10)
        let client = KMSClient(transport: transport, host: "127.0.0.1:\(port)", region: "us-east-1",
                               credentials: .init(accessKeyID: "AKIDCLITEST", secretAccessKey: "cli-test-secret"), policy: policy)
        let inFlight = Task { try await client.createKey(spec: .symmetricDefault, usage: .encryptDecrypt) }
        // The signal comes while the request is in the simulator's 1.5 s service time: once its
        // arrival is counted (a fixed 500 ms wait was not always enough in a busy parallel suite:
        // the request had not arrived, and the drain rightly reset its idle connection).
        let arrivalDeadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < arrivalDeadline {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/admin/counters"),
                                                                   timeout: .seconds(2)),
               let body = try? await response.body.collect(upTo: 1 << 20),
               let view = try? JSONDecoder().decode(RunningChild.CountersView.self, from: Data(body.readableBytesView)),
               view.requests["CreateKey"] == 1 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        simulator.signal(SIGTERM)
        let answered = await inFlight.result
        #expect((try? answered.get())?.KeySpec == .symmetricDefault, "the request in flight was answered: \(answered)")
        let status = simulator.waitForExit(within: .seconds(15))
        #expect(status == 0, "exit status \(String(describing: status)); \(simulator.stderr.text)")
        #expect(simulator.counters()?.requests["CreateKey"] == 1)
        // A short attempt: the HTTP client keeps trying to connect until the attempt times out.
        var quick = policy
        quick.perAttemptTimeout = .seconds(1)
        let after = KMSClient(transport: transport, host: "127.0.0.1:\(port)", region: "us-east-1",
                              credentials: .init(accessKeyID: "AKIDCLITEST", secretAccessKey: "cli-test-secret"), policy: quick)
        await #expect(throws: KMSError.self, "nothing listens after the shutdown") {
            _ = try await after.createKey(spec: .symmetricDefault, usage: .encryptDecrypt)
        }
        try await transport.shutdown()
    }
}

/// A temporary directory to run `rewrap` in, with its registry and a root key in the
/// environment of every child.
final class ChildSandbox {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-kms-cli-\(UUID().uuidString)")
    let environment: [String: String]

    init(environment extra: [String: String]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["REWRAP_DB"] = directory.appendingPathComponent("keys.sqlite").path
        environment["REWRAP_ROOT_KEY"] = String(repeating: "4d", count: 32)
        for (name, value) in extra { environment[name] = value }
        self.environment = environment
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func start(_ arguments: [String]) throws -> RunningChild {
        try RunningChild(executable: KMSCLITests.executable, arguments: arguments, directory: directory, environment: environment)
    }

    /// Runs a command to completion (killed after `timeout`), both pipes read as it runs.
    func run(_ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(120)) throws -> ChildProcess.Run {
        try ChildProcess.run(KMSCLITests.executable, arguments, stdin: stdin, environment: environment, in: directory, timeout: timeout)
    }
}

/// What the tests read from a running `kms-sim`.
extension RunningChild {
    /// The port from kms-sim's "listening on http://host:port" line.
    func waitForPort(within limit: Duration = .seconds(30)) -> Int? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let text = stdout.text
            if let range = text.range(of: #"listening on https?://127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
               let port = Int(text[range].split(separator: ":").last ?? "") {
                return port
            }
            if !isRunning { return nil }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return nil
    }

    /// The counters JSON kms-sim prints after "kms-sim counters:" when it stops.
    func counters() -> CountersView? {
        let text = stdout.waitForEOF()
        guard let marker = text.range(of: "kms-sim counters:\n") else { return nil }
        return try? JSONDecoder().decode(CountersView.self, from: Data(text[marker.upperBound...].utf8))
    }

    struct CountersView: Decodable {
        var requests: [String: Int]
        var throttled: Int
    }
}
