import ArgumentParser
import Foundation
import Logging
import RewrapAWSWire
import RewrapCrypto
import RewrapEngine
import RewrapKMS
import RewrapKMSSimulator
import ServiceLifecycle

struct KMSSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kms-sim",
        abstract: "Run a simulated AWS KMS on loopback (AWS JSON 1.1, optional SigV4) with latency, quota and fault models.",
        discussion: """
        Operations: CreateKey, DescribeKey, ListKeys, GetPublicKey, Decrypt (RSAES_OAEP_SHA_1/_SHA_256, \
        SYMMETRIC_DEFAULT), DeriveSharedSecret; admin targets RewrapKMSSimulator.ImportKey (load an existing \
        PKCS#8 key), RegisterDecrypt and RegisterSharedSecret (benchmark-mode answers). GET /admin/counters \
        returns the counters. SIGTERM or SIGINT (Ctrl-C) shuts down gracefully: no new connections, requests \
        in flight are answered, then the counters are printed and the exit status is 0.

        Profiles: realistic (p50 10 ms, p99 50 ms, heavy tail, AWS's current quotas, SLA-level faults), \
        stress (0.5% 500s, 0.2% 503s, resets, hangs), outage (30 s of 503s from 5 s after start), zero (no \
        latency, no quota, no faults).

        Examples:
          rewrap kms-sim --port 4599
          rewrap kms-sim --profile stress --p50 20 --p99 80 --rsa-quota 500
          AWS_ACCESS_KEY_ID=AKID AWS_SECRET_ACCESS_KEY=secret rewrap kms-sim
          --verify-sigv4
          # then use key id kas-1
          rewrap kms-sim --import kas-private.pem --key-id kas-1
          # an HSM behind the service
          rewrap kms-sim --hsm-units 8 --hsm-queue 64
        """)

    @Option(help: "Address to bind (loopback by default).") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed at start).") var port = 4599
    @Option(help: "realistic | stress | outage | zero") var profile = "realistic"
    @Option(help: "JSON file with a full SimulatorProfile (overrides --profile).") var profileFile: String?
    @Option(help: "Median service latency, ms.") var p50: Double?
    @Option(help: "99th percentile service latency, ms.") var p99: Double?
    @Option(help: "RSA operations per second (token bucket).") var rsaQuota: Double?
    @Option(help: "ECC operations per second (token bucket).") var eccQuota: Double?
    @Option(help: "Extra ms for the first request on a new connection.") var newConnection: Double?
    @Option(help: "Model an HSM with this many parallel units (off by default).") var hsmUnits: Int?
    @Option(help: "HSM queue depth; a full queue answers HSM busy (ThrottlingException).") var hsmQueue = 256
    @Flag(help: "Require SigV4 signatures made with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.") var verifySigv4 = false
    @Flag(help: "No private-key math: answer Decrypt/DeriveSharedSecret only from registered results.") var benchmarkMode = false
    @Option(help: "Seed for the latency and fault draws.") var seed: UInt64 = 0x5EED
    @Option(help: "Region in ARNs and SigV4 scopes.") var region = "us-east-1"
    @Option(name: .customLong("import"), help: "PEM private key to load at start (repeatable).") var imports: [String] = []
    @Option(help: "Key ids for --import, in order (default: random UUIDs).") var keyID: [String] = []

    func run() async throws {
        var settings: SimulatorProfile
        if let profileFile {
            let data = try Data(contentsOf: URL(fileURLWithPath: profileFile))
            settings = try JSONDecoder().decode(SimulatorProfile.self, from: data)
        } else {
            guard let named = SimulatorProfile.named(profile) else {
                throw ValidationError("unknown --profile '\(profile)'; use realistic, stress, outage or zero")
            }
            settings = named
        }
        if let p50 { settings.latency.p50Milliseconds = p50 }
        if let p99 { settings.latency.p99Milliseconds = p99 }
        if let rsaQuota { settings.quotas.rsaPerSecond = rsaQuota }
        if let eccQuota { settings.quotas.eccPerSecond = eccQuota }
        if let newConnection { settings.newConnectionMilliseconds = newConnection }
        if let hsmUnits {
            guard hsmUnits > 0, hsmQueue >= 0 else { throw ValidationError("--hsm-units must be > 0 and --hsm-queue ≥ 0") }
            settings.hsm = SimulatorProfile.HSM(units: hsmUnits, queueDepth: hsmQueue)
        }
        guard settings.latency.p99Milliseconds >= settings.latency.p50Milliseconds else {
            throw ValidationError("--p99 must be at least --p50")
        }
        var credentials: SigV4.Credentials?
        if verifySigv4 {
            guard let fromEnvironment = SigV4.Credentials.fromEnvironment() else {
                throw ValidationError("--verify-sigv4 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            credentials = fromEnvironment
        }
        let simulator = SimulatedKMS(profile: settings, region: region, credentials: credentials, benchmarkMode: benchmarkMode, seed: seed)
        for (index, path) in imports.enumerated() {
            let key: PrivateKey
            do {
                key = try PrivateKey(pem: readTextFile(path, option: "--import"))
            } catch {
                throw ValidationError("--import \(path): \(error)")
            }
            let id = simulator.importKey(key, keyID: index < keyID.count ? keyID[index] : UUID().uuidString.lowercased())
            print("imported \(path) as \(id) (\(key.algorithm))")
        }
        let server = try await KMSSimulatorServer.start(simulator: simulator, host: host, port: port)
        print("kms-sim listening on http://\(host):\(server.port) (profile \(profileFile ?? profile), p50 \(settings.latency.p50Milliseconds) ms, p99 \(settings.latency.p99Milliseconds) ms, RSA \(settings.quotas.rsaPerSecond)/s, ECC \(settings.quotas.eccPerSecond)/s\(verifySigv4 ? ", SigV4 enforced" : "")\(benchmarkMode ? ", benchmark mode" : ""))")
        fflush(nil)
        // SIGTERM and SIGINT start a graceful shutdown: stop accepting, answer what is in flight.
        // A shutdown that takes longer than the bound is turned into a cancellation (every
        // connection closed), so the process always exits.
        var logger = Logger(label: "rewrap.kms-sim", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        var configuration = ServiceGroupConfiguration(
            services: [KMSSimulatorService(server: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        var failure: (any Error)?
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            failure = error
        }
        // The counters are printed however serving ended: they are what a run is for.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print("kms-sim counters:")
        print(String(decoding: try encoder.encode(simulator.counters), as: UTF8.self))
        if let failure {
            FileHandle.standardError.write(Data("rewrap: kms-sim: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The simulator's server as a service: it serves until the service group's graceful shutdown
/// (SIGTERM/SIGINT), then drains; cancelled, it closes every connection at once.
struct KMSSimulatorService: Service, CustomStringConvertible {
    let server: KMSSimulatorServer
    var description: String { "kms-sim on port \(server.port)" }

    func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await server.waitUntilFinished()
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
            }
        } onCancel: {
            server.cancel()
        }
        // Serving ended without being asked to (the listening socket failed): an error, so the
        // process does not exit 0 as if shut down.
        guard server.isShuttingDown else { throw KMSSimulatorStopped() }
    }
}

struct KMSSimulatorStopped: Error, CustomStringConvertible {
    var description: String { "the simulator stopped serving without a shutdown request" }
}
