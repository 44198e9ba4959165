import Foundation
import RewrapAWSWire
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapLoad
import RewrapKMS
import RewrapKMSSimulator
import RewrapProviders
import RewrapRegistry
import RewrapRegistrySQLite

/// The `kms` path: the KAS key lives in the simulated KMS (REMOTE mode), started by the harness
/// on loopback and reached over HTTP through the production client (SigV4, keep-alive pool,
/// retries, adaptive rate), built from a provider config by `ProviderKeyManagers` exactly as
/// `rewrap request --db` and the server build it. The simulator runs in benchmark mode: every
/// answer is registered ahead of the run, so it spends no CPU on private-key math during it.
final class KMSPath: Sendable {
    let profileName: String
    let profile: SimulatorProfile
    let simulator: SimulatedKMS
    let server: KMSSimulatorServer
    let providers: ProviderKeyManagers
    /// The provider's KMS client: its statistics are the run's throttles and retries.
    let client: KMSClient
    let source: RegistryKeySource
    private let directory: URL

    static let credentials = SigV4.Credentials(accessKeyID: "AKIDBENCH", secretAccessKey: "bench-secret")
    static let providerName = "kms-sim"

    init(profileName: String, kid: String, key: PrivateKey, workloads: [Workload], maxInFlight: Int) async throws {
        guard let profile = SimulatorProfile.named(profileName) else { throw BenchError("unknown KMS profile \(profileName)") }
        self.profileName = profileName
        self.profile = profile
        simulator = SimulatedKMS(profile: profile, credentials: Self.credentials, benchmarkMode: true)
        let keyID = simulator.importKey(key)
        // Register every answer the run will ask for, computed here with the private key.
        let worker = CryptoWorker()
        for workload in workloads {
            for request in workload.requests {
                for entry in request.requests.flatMap(\.keyAccessObjects) {
                    guard let kao = entry.keyAccessObject else { continue }
                    switch key.algorithm {
                    case .rsa:
                        let plaintext = try key.decryptOAEP(kao.wrappedKey, hash: .sha1)
                        simulator.registerDecrypt(keyID: keyID, ciphertext: kao.wrappedKey, plaintext: plaintext)
                    case .ec(let curve):
                        let peer = try PublicKey(pem: kao.ephemeralPublicKey)
                        let secret = SecureBytes(count: curve.coordinateByteCount)
                        try worker.ecdh(key, peer: peer, into: secret.slice(0..<secret.count))
                        simulator.registerSharedSecret(keyID: keyID, peerSPKI: try peer.spkiDER(), secret: secret)
                    }
                }
            }
        }
        server = try await KMSSimulatorServer.start(simulator: simulator)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-bench-kms-\(UUID().uuidString)")
        do {
            let store = try SQLiteKeyStore(path: directory.appendingPathComponent("keys.sqlite").path)
            // The bench's credentials go in the config, not the environment, so the run does not
            // depend on (or pick up) the caller's AWS variables.
            let config = """
                {"endpoint":"http://127.0.0.1:\(server.port)","region":"us-east-1","maxInFlight":\(maxInFlight),\
                "accessKeyID":"\(Self.credentials.accessKeyID)","secretAccessKey":"\(Self.credentials.secretAccessKey)"}
                """
            let provider = try store.createProvider(ProviderConfig(name: Self.providerName, manager: KMSKeyManager.managerName,
                                                                   configJSON: config))
            try store.create(KeyRecord(kid: kid, algorithm: key.algorithm, mode: .remote, publicKeyPEM: try key.publicKey.pem(),
                                       privateKeyContext: PrivateKeyContext(keyID: keyID), providerConfig: provider))
            let built = try ProviderKeyManagers.build(store: store, rootKey: nil, environment: [:])
            guard let client = built.kmsClient(provider: Self.providerName) else {
                await built.shutdown()
                throw BenchError("no KMS client was built for provider \(Self.providerName)")
            }
            providers = built
            self.client = client
            source = RegistryKeySource(store: store, managers: built.managers)
        } catch {
            await server.shutdown()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    func shutdown() async {
        await providers.shutdown()
        await server.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Mean service time of the profile (lognormal mean plus the expected tail), seconds.
    var meanLatencySeconds: Double {
        let l = profile.latency
        let body = l.p50Milliseconds * exp(l.sigma * l.sigma / 2)
        let tail = l.tailProbability * (l.tailMilliseconds.lowerBound + l.tailMilliseconds.upperBound) / 2
        let stall = l.stallProbability * (l.stallMilliseconds.lowerBound + l.stallMilliseconds.upperBound) / 2
        return (body + tail + stall) / 1000
    }

    /// Little's law: at most min(quota + burst ÷ T, C ÷ mean latency) KAO/s over a window of T
    /// seconds that starts with `burst` tokens in the quota's bucket.
    func bound(algorithm: KeyAlgorithm, concurrency: Int, burst: Double = 0, seconds: Double = .infinity) -> Double {
        let quota = algorithm.isRSA ? profile.quotas.rsaPerSecond : profile.quotas.eccPerSecond
        let burstRate = burst.isFinite && seconds.isFinite ? burst / seconds : 0
        return min(quota + burstRate, Double(concurrency) / meanLatencySeconds)
    }

    /// Tokens left in the key's quota bucket (what the next window may take above the quota).
    func quotaTokens(algorithm: KeyAlgorithm) -> Double {
        simulator.quotaTokens(algorithm.isRSA ? "rsa" : "ecc")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
