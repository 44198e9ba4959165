import Foundation
import RewrapAsync
import RewrapAWSWire
import RewrapCrypto
import RewrapSeededRandom
import RewrapWire
import Synchronization

/// The simulated AWS KMS: the protocol logic behind `rewrap kms-sim`, independent of the HTTP
/// server, so tests can drive it in process with real request bytes.
///
/// It speaks AWS JSON 1.1 (kms.md §1): CreateKey, DescribeKey, ListKeys, GetPublicKey, Decrypt
/// (RSAES_OAEP_SHA_1/_SHA_256 on externally made ciphertext; SYMMETRIC_DEFAULT on its own
/// ciphertext), Encrypt (symmetric keys), DeriveSharedSecret (raw x-coordinate), with AWS's
/// error shapes and codes. Latency is injected as waiting, never spinning; quotas are token
/// buckets per key class; faults are drawn per request (kms.md §5). In benchmark mode the
/// simulator does no private-key math: Decrypt and DeriveSharedSecret answer only from results
/// registered ahead of the run.
public final class SimulatedKMS: Sendable {
    public struct Reply: Sendable {
        public enum Disposition: Sendable { case respond, resetConnection, hang }
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var disposition: Disposition = .respond
    }

    public struct Counters: Sendable, Codable, Equatable {
        public var requests: [String: Int] = [:]
        public var throttled = 0
        public var faultsInjected: [String: Int] = [:]
        public var errors: [String: Int] = [:]
        /// Service time injected, by bucket upper bound in ms (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, +inf).
        public var latencyHistogram: [String: Int] = [:]
    }

    public let profile: SimulatorProfile
    public let region: String
    public let account: String
    public let benchmarkMode: Bool
    let verifier: SigV4?
    /// The HSM's units and its bounded queue, when modelled.
    let hsm: AsyncSemaphore?
    let started = Date()
    let state: Mutex<State>

    struct Key {
        var id: String
        var spec: KMSWire.KeySpec
        var usage: KMSWire.KeyUsage
        var created: Date
        var privateKey: PrivateKey?
        var symmetricKey: SecureBytes?
        var origin: String
        var decryptAnswers: [[UInt8]: SecureBytes] = [:]
        var agreementAnswers: [[UInt8]: SecureBytes] = [:]
    }

    struct State {
        var keys: [String: Key] = [:]
        var order: [String] = []
        var buckets: [String: QuotaBucket] = [:]
        var counters = Counters()
        var random: SplitMix64
    }

    /// `credentials`: when set, every request must carry a valid SigV4 signature for them.
    public init(profile: SimulatorProfile = SimulatorProfile(), region: String = "us-east-1", account: String = "111122223333",
                credentials: SigV4.Credentials? = nil, benchmarkMode: Bool = false, seed: UInt64 = 0x5EED) {
        self.profile = profile
        self.region = region
        self.account = account
        self.benchmarkMode = benchmarkMode
        self.verifier = credentials.map { SigV4(credentials: $0, region: region, service: "kms") }
        self.hsm = profile.hsm.map { AsyncSemaphore(permits: $0.units, maxWaiters: $0.queueDepth) }
        let now = 0.0
        let q = profile.quotas
        var buckets: [String: QuotaBucket] = [:]
        for (name, rate) in [("rsa", q.rsaPerSecond), ("ecc", q.eccPerSecond), ("symmetric", q.symmetricPerSecond),
                             ("getPublicKey", q.getPublicKeyPerSecond), ("describeKey", q.describeKeyPerSecond)] {
            buckets[name] = QuotaBucket(tokens: rate, rate: rate, last: now)
        }
        state = Mutex(State(buckets: buckets, random: SplitMix64(seed: seed)))
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// Tokens in a quota class's bucket now ("rsa", "ecc", "symmetric", …): the burst a client may
    /// still take before throttling starts; infinite when the class has no quota.
    public func quotaTokens(_ quotaClass: String) -> Double {
        state.withLock { state in
            guard let bucket = state.buckets[quotaClass], bucket.rate.isFinite else { return .infinity }
            return Swift.min(bucket.rate, bucket.tokens + (Date().timeIntervalSince(started) - bucket.last) * bucket.rate)
        }
    }

    // MARK: Admin (the equivalent of ImportKeyMaterial: load an existing private key)

    /// Registers an existing private key; returns its key id. RSA keys get ENCRYPT_DECRYPT, EC
    /// keys KEY_AGREEMENT.
    @discardableResult
    public func importKey(_ privateKey: PrivateKey, keyID: String = UUID().uuidString.lowercased()) -> String {
        let spec = KMSWire.KeySpec(privateKey.algorithm)!
        let usage: KMSWire.KeyUsage = privateKey.algorithm.isRSA ? .encryptDecrypt : .keyAgreement
        insert(Key(id: keyID, spec: spec, usage: usage, created: Date(), privateKey: privateKey, origin: "EXTERNAL"))
        return keyID
    }

    /// Benchmark mode: the plaintext Decrypt returns for `ciphertext` under `keyID`.
    public func registerDecrypt(keyID: String, ciphertext: [UInt8], plaintext: SecureBytes) {
        state.withLock { $0.keys[keyID]?.decryptAnswers[ciphertext] = plaintext }
    }

    /// Benchmark mode: the secret DeriveSharedSecret returns for the peer `spki` under `keyID`.
    public func registerSharedSecret(keyID: String, peerSPKI: [UInt8], secret: SecureBytes) {
        state.withLock { $0.keys[keyID]?.agreementAnswers[peerSPKI] = secret }
    }

    func insert(_ key: Key) {
        state.withLock { state in
            if state.keys[key.id] == nil { state.order.append(key.id) }
            state.keys[key.id] = key
        }
    }
}
