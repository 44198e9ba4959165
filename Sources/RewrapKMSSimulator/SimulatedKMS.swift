import Foundation
import RewrapAWSWire
import RewrapCrypto
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
    private let verifier: SigV4?
    private let hsm: HSMQueue?
    private let started = Date()
    private let state: Mutex<State>

    private struct Key {
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

    private struct Bucket {
        var tokens: Double
        var rate: Double
        var last: Double
        mutating func take(now: Double) -> Bool {
            guard rate.isFinite else { return true }
            tokens = Swift.min(rate, tokens + (now - last) * rate)
            last = now
            guard tokens >= 1 else { return false }
            tokens -= 1
            return true
        }
    }

    private struct State {
        var keys: [String: Key] = [:]
        var order: [String] = []
        var buckets: [String: Bucket] = [:]
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
        self.hsm = profile.hsm.map { HSMQueue(units: $0.units, queueDepth: $0.queueDepth) }
        let now = 0.0
        let q = profile.quotas
        var buckets: [String: Bucket] = [:]
        for (name, rate) in [("rsa", q.rsaPerSecond), ("ecc", q.eccPerSecond), ("symmetric", q.symmetricPerSecond),
                             ("getPublicKey", q.getPublicKeyPerSecond), ("describeKey", q.describeKeyPerSecond)] {
            buckets[name] = Bucket(tokens: rate, rate: rate, last: now)
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

    private func insert(_ key: Key) {
        state.withLock { state in
            if state.keys[key.id] == nil { state.order.append(key.id) }
            state.keys[key.id] = key
        }
    }

    // MARK: Requests

    /// Handles one request as received: `target` is the `X-Amz-Target` header.
    public func handle(method: String, path: String, headers: [(String, String)], body: [UInt8], newConnection: Bool) async -> Reply {
        let target = headers.first { $0.0.lowercased() == "x-amz-target" }?.1 ?? ""
        let operation = target.hasPrefix(KMSWire.targetPrefix) ? String(target.dropFirst(KMSWire.targetPrefix.count)) : target
        state.withLock { $0.counters.requests[operation, default: 0] += 1 }
        guard method == "POST", path == "/" else {
            return error(404, "UnknownOperationException", "Only POST / is served.")
        }
        if let verifier {
            do {
                try verifier.verify(SigV4.Request(method: method, path: path, headers: headers, body: body), now: Date())
            } catch {
                let status = error == .invalidClientTokenID ? 403 : 400
                return self.error(status, error.awsErrorCode, "The request signature we calculated does not match the signature you provided.")
            }
        }
        if target.hasPrefix(SimulatorAdmin.targetPrefix) {
            return admin(String(target.dropFirst(SimulatorAdmin.targetPrefix.count)), body: body)
        }
        guard let op = KMSWire.Operation(rawValue: operation), target.hasPrefix(KMSWire.targetPrefix) else {
            return error(400, "UnknownOperationException", "Unknown operation \(target).")
        }
        // Admission: the outage window, then the quota, then transient faults.
        if let outage = profile.faults.outageStartSeconds {
            let elapsed = Date().timeIntervalSince(started)
            if elapsed >= outage && elapsed < outage + profile.faults.outageDurationSeconds {
                count(fault: "outage")
                return error(503, "ServiceUnavailable", "Service is unavailable.")
            }
        }
        let bucketName = quotaClass(op, body: body)
        let admitted = state.withLock { state -> Bool in
            let now = Date().timeIntervalSince(started)
            guard var bucket = state.buckets[bucketName] else { return true }
            let ok = bucket.take(now: now)
            state.buckets[bucketName] = bucket
            if !ok { state.counters.throttled += 1 }
            return ok
        }
        guard admitted else {
            return error(400, "ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.")
        }
        if let fault = drawFault() {
            count(fault: fault)
            switch fault {
            case "reset": return Reply(status: 0, headers: [], body: [], disposition: .resetConnection)
            case "hang": return Reply(status: 0, headers: [], body: [], disposition: .hang)
            case "ServiceUnavailable": return error(503, fault, "Service is unavailable.")
            default: return error(500, fault, "Internal failure.")
            }
        }
        // The HSM (when modelled): wait for a unit, hold it for the op's service time.
        if let hsm, let settings = profile.hsm, let hold = hsmMilliseconds(op, body: body, settings: settings) {
            guard await hsm.acquire() else {
                state.withLock { $0.counters.throttled += 1 }
                return error(400, "ThrottlingException", "HSM busy: too many requests are waiting. Reduce the frequency of your calls.")
            }
            await wait(hold)
            hsm.release()
        }
        let reply = execute(op, body: body)
        await wait(serviceMilliseconds(op, body: body) + (newConnection ? profile.newConnectionMilliseconds : 0))
        return reply
    }

    private func execute(_ op: KMSWire.Operation, body: [UInt8]) -> Reply {
        switch op {
        case .createKey: return createKey(body)
        case .describeKey: return describeKey(body)
        case .listKeys: return listKeys(body)
        case .getPublicKey: return getPublicKey(body)
        case .decrypt: return decrypt(body)
        case .encrypt: return encrypt(body)
        case .deriveSharedSecret: return deriveSharedSecret(body)
        }
    }

    // MARK: Admin operations (no quota, latency or faults)

    private func admin(_ name: String, body: [UInt8]) -> Reply {
        switch SimulatorAdmin.Operation(rawValue: name) {
        case .importKey?:
            guard let request = KMSWire.decode(SimulatorAdmin.ImportKeyRequest.self, body) else { return serializationError() }
            guard let key = try? PrivateKey(pem: request.PrivateKeyPEM) else {
                return error(400, "ValidationException", "PrivateKeyPEM is not a PKCS#8 (or PKCS#1 RSA) private key.")
            }
            let id = importKey(key, keyID: request.KeyId ?? UUID().uuidString.lowercased())
            return ok(KMSWire.KeyIDRequest(KeyId: id))
        case .registerDecrypt?:
            guard let request = KMSWire.decode(SimulatorAdmin.RegisterDecryptRequest.self, body),
                  let ciphertext = Base64.decode(request.CiphertextBlob, options: .protoJSON),
                  let plaintext = Base64.decode(request.Plaintext, options: .protoJSON)
            else { return serializationError() }
            guard lookup(request.KeyId) != nil else { return notFound(request.KeyId) }
            registerDecrypt(keyID: request.KeyId, ciphertext: ciphertext, plaintext: SecureBytes(copying: plaintext))
            return ok(KMSWire.KeyIDRequest(KeyId: request.KeyId))
        case .registerSharedSecret?:
            guard let request = KMSWire.decode(SimulatorAdmin.RegisterSharedSecretRequest.self, body),
                  let spki = Base64.decode(request.PublicKey, options: .protoJSON),
                  let secret = Base64.decode(request.SharedSecret, options: .protoJSON)
            else { return serializationError() }
            guard lookup(request.KeyId) != nil else { return notFound(request.KeyId) }
            registerSharedSecret(keyID: request.KeyId, peerSPKI: spki, secret: SecureBytes(copying: secret))
            return ok(KMSWire.KeyIDRequest(KeyId: request.KeyId))
        case nil:
            return error(400, "UnknownOperationException", "Unknown admin operation \(name).")
        }
    }

    // MARK: Operations

    private func createKey(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.CreateKeyRequest.self, body) else { return serializationError() }
        let spec = request.KeySpec ?? .symmetricDefault
        let usage = request.KeyUsage ?? .encryptDecrypt
        switch (spec, usage) {
        case (.rsa2048, .encryptDecrypt), (.rsa3072, .encryptDecrypt), (.rsa4096, .encryptDecrypt),
             (.eccNistP256, .keyAgreement), (.eccNistP384, .keyAgreement), (.eccNistP521, .keyAgreement),
             (.symmetricDefault, .encryptDecrypt):
            break
        default:
            return error(400, "ValidationException", "KeyUsage \(usage.rawValue) is not compatible with KeySpec \(spec.rawValue).")
        }
        var key = Key(id: UUID().uuidString.lowercased(), spec: spec, usage: usage, created: Date(), origin: "AWS_KMS")
        if let algorithm = spec.algorithm {
            guard let generated = try? PrivateKey.generate(algorithm) else { return error(500, "KMSInternalException", "Key generation failed.") }
            key.privateKey = generated
        } else {
            let material = SecureBytes(count: 32)
            guard (try? CryptoPrimitives.randomBytes(material.slice(0..<32))) != nil else { return error(500, "KMSInternalException", "No randomness.") }
            key.symmetricKey = material
        }
        insert(key)
        return ok(KMSWire.KeyMetadataResponse(KeyMetadata: metadata(key)))
    }

    private func describeKey(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.KeyIDRequest.self, body) else { return serializationError() }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        return ok(KMSWire.KeyMetadataResponse(KeyMetadata: metadata(key)))
    }

    private func listKeys(_ body: [UInt8]) -> Reply {
        let request = KMSWire.decode(KMSWire.ListKeysRequest.self, body) ?? KMSWire.ListKeysRequest(Limit: nil, Marker: nil)
        let limit = Swift.max(1, Swift.min(request.Limit ?? 100, 1000))
        let ids = state.withLock { $0.order }
        let start = request.Marker.flatMap { marker in ids.firstIndex(of: marker) } ?? 0
        let page = Array(ids[start..<Swift.min(ids.count, start + limit)])
        let truncated = start + limit < ids.count
        return ok(KMSWire.ListKeysResponse(
            Keys: page.map { .init(KeyId: $0, KeyArn: KMSWire.arn(region: region, account: account, keyID: $0)) },
            Truncated: truncated, NextMarker: truncated ? ids[start + limit] : nil))
    }

    private func getPublicKey(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.KeyIDRequest.self, body) else { return serializationError() }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        guard let privateKey = key.privateKey, let der = try? privateKey.publicKey.spkiDER() else {
            return error(400, "UnsupportedOperationException", "GetPublicKey is not valid for a symmetric key.")
        }
        let m = metadata(key)
        return ok(KMSWire.GetPublicKeyResponse(
            KeyId: m.Arn, PublicKey: Base64.encode(der), KeySpec: key.spec, KeyUsage: key.usage,
            EncryptionAlgorithms: m.EncryptionAlgorithms, KeyAgreementAlgorithms: m.KeyAgreementAlgorithms))
    }

    private func decrypt(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.DecryptRequest.self, body) else { return serializationError() }
        guard let ciphertext = Base64.decode(request.CiphertextBlob, options: .protoJSON),
              (1...6144).contains(ciphertext.count)
        else { return error(400, "ValidationException", "CiphertextBlob must be 1 to 6144 bytes of base64.") }
        let algorithm = request.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT"
        guard let keyID = request.KeyId else {
            return error(400, "ValidationException", "KeyId is required.")  // every key here is addressed by id
        }
        guard let key = lookup(keyID) else { return notFound(keyID) }
        guard key.usage == .encryptDecrypt else {
            return error(400, "InvalidKeyUsageException", "\(arn(key.id)) key usage is \(key.usage.rawValue) which is not valid for Decrypt.")
        }
        let plaintext: SecureBytes
        switch (key.spec.algorithm, algorithm) {
        case (.rsa?, "RSAES_OAEP_SHA_1"), (.rsa?, "RSAES_OAEP_SHA_256"):
            if benchmarkMode {
                guard let answer = key.decryptAnswers[ciphertext] else { return invalidCiphertext() }
                plaintext = answer
            } else {
                guard let privateKey = key.privateKey,
                      let opened = try? privateKey.decryptOAEP(ciphertext, hash: algorithm == "RSAES_OAEP_SHA_1" ? .sha1 : .sha256)
                else { return invalidCiphertext() }
                plaintext = opened
            }
        case (nil, "SYMMETRIC_DEFAULT"):
            guard let opened = openSymmetric(ciphertext, key: key) else { return invalidCiphertext() }
            plaintext = opened
        default:
            return error(400, "InvalidKeyUsageException", "The encryption algorithm \(algorithm) is not valid for \(key.spec.rawValue).")
        }
        return ok(KMSWire.DecryptResponse(KeyId: arn(key.id), Plaintext: plaintext.withUnsafeBytes { Base64.encode($0) },
                                          EncryptionAlgorithm: algorithm))
    }

    /// Encrypt: SYMMETRIC_DEFAULT into the simulator's own blob (what PROVIDER_ROOT_KEY wrapping
    /// uses), or RSA-OAEP under an RSA key's public half. Plaintext at most 4096 bytes.
    private func encrypt(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.EncryptRequest.self, body) else { return serializationError() }
        guard let plaintext = Base64.decode(request.Plaintext, options: .protoJSON), (1...4096).contains(plaintext.count) else {
            return error(400, "ValidationException", "Plaintext must be 1 to 4096 bytes of base64.")
        }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        guard key.usage == .encryptDecrypt else {
            return error(400, "InvalidKeyUsageException", "\(arn(key.id)) key usage is \(key.usage.rawValue) which is not valid for Encrypt.")
        }
        let algorithm = request.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT"
        let ciphertext: [UInt8]?
        switch (key.spec.algorithm, algorithm) {
        case (nil, "SYMMETRIC_DEFAULT"):
            ciphertext = encryptSymmetric(keyID: key.id, plaintext: plaintext)
        case (.rsa?, "RSAES_OAEP_SHA_1"), (.rsa?, "RSAES_OAEP_SHA_256"):
            ciphertext = try? key.privateKey?.encryptOAEP(plaintext, hash: algorithm == "RSAES_OAEP_SHA_1" ? .sha1 : .sha256)
        default:
            return error(400, "InvalidKeyUsageException", "The encryption algorithm \(algorithm) is not valid for \(key.spec.rawValue).")
        }
        guard let ciphertext else { return error(400, "ValidationException", "Plaintext is too long for this key.") }
        return ok(KMSWire.EncryptResponse(KeyId: arn(key.id), CiphertextBlob: Base64.encode(ciphertext), EncryptionAlgorithm: algorithm))
    }

    private func deriveSharedSecret(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.DeriveSharedSecretRequest.self, body) else { return serializationError() }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        guard request.KeyAgreementAlgorithm == "ECDH" else {
            return error(400, "ValidationException", "KeyAgreementAlgorithm must be ECDH.")
        }
        guard key.usage == .keyAgreement, case .ec(let curve)? = key.spec.algorithm else {
            return error(400, "InvalidKeyUsageException", "\(arn(key.id)) key usage is \(key.usage.rawValue) which is not valid for DeriveSharedSecret.")
        }
        guard let spki = Base64.decode(request.PublicKey, options: .protoJSON), (1...8192).contains(spki.count) else {
            return error(400, "ValidationException", "PublicKey must be 1 to 8192 bytes of base64 DER SubjectPublicKeyInfo.")
        }
        let secret: SecureBytes
        if benchmarkMode {
            guard let answer = key.agreementAnswers[spki] else {
                return error(400, "ValidationException", "PublicKey is not a registered peer (benchmark mode).")
            }
            secret = answer
        } else {
            guard let peer = try? withBytes(spki, { (d) throws(CryptoError) in try PublicKey(spkiDER: d) }), peer.algorithm == .ec(curve),
                  let privateKey = key.privateKey
            else { return error(400, "ValidationException", "PublicKey is not a valid \(key.spec.rawValue) SubjectPublicKeyInfo.") }
            let shared = SecureBytes(count: curve.coordinateByteCount)
            guard (try? CryptoWorker().ecdh(privateKey, peer: peer, into: shared.slice(0..<shared.count))) != nil else {
                return error(400, "ValidationException", "PublicKey is not a valid point.")
            }
            secret = shared
        }
        return ok(KMSWire.DeriveSharedSecretResponse(KeyId: arn(key.id), SharedSecret: secret.withUnsafeBytes { Base64.encode($0) },
                                                     KeyAgreementAlgorithm: "ECDH", KeyOrigin: key.origin))
    }

    // MARK: Symmetric keys (the blob format is the simulator's own, as KMS's is opaque)

    /// `version(1) ‖ key id (36) ‖ nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)`.
    public func encryptSymmetric(keyID: String, plaintext: [UInt8]) -> [UInt8]? {
        guard let key = lookup(keyID), let material = key.symmetricKey else { return nil }
        let header = [UInt8(1)] + Array(key.id.utf8)
        var sealed = [UInt8](repeating: 0, count: plaintext.count + CryptoWorker.gcmOverhead)
        guard let nonce = try? CryptoPrimitives.randomBytes(count: 12) else { return nil }
        let worker = CryptoWorker()
        let ok = material.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in
                plaintext.withUnsafeBytes { p in
                    sealed.withUnsafeMutableBytes { o in (try? worker.aesGCMSeal(key: k, nonce: n, plaintext: p, into: o)) != nil }
                }
            }
        }
        return ok ? header + sealed : nil
    }

    private func openSymmetric(_ blob: [UInt8], key: Key) -> SecureBytes? {
        let headerCount = 1 + key.id.utf8.count
        guard let material = key.symmetricKey, blob.count > headerCount + CryptoWorker.gcmOverhead, blob[0] == 1,
              Array(blob[1..<headerCount]) == Array(key.id.utf8)
        else { return nil }
        let sealed = Array(blob[headerCount...])
        let out = SecureBytes(count: sealed.count - CryptoWorker.gcmOverhead)
        let worker = CryptoWorker()
        let ok = material.withUnsafeBytes { k in
            sealed.withUnsafeBytes { s in (try? worker.aesGCMOpen(key: k, sealed: s, into: out.slice(0..<out.count))) != nil }
        }
        return ok ? out : nil
    }

    // MARK: Helpers

    private func lookup(_ keyID: String) -> Key? {
        let id = keyID.hasPrefix("arn:") ? String(keyID.split(separator: "/").last ?? "") : keyID
        return state.withLock { $0.keys[id] }
    }

    private func arn(_ id: String) -> String { KMSWire.arn(region: region, account: account, keyID: id) }

    private func metadata(_ key: Key) -> KMSWire.KeyMetadata {
        var encryption: [String]?
        var agreement: [String]?
        switch key.spec.algorithm {
        case .rsa?: encryption = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        case .ec?: agreement = ["ECDH"]
        case nil: encryption = ["SYMMETRIC_DEFAULT"]
        }
        return KMSWire.KeyMetadata(KeyId: key.id, Arn: arn(key.id), KeySpec: key.spec, KeyUsage: key.usage, KeyState: "Enabled",
                                   Enabled: true, CreationDate: key.created.timeIntervalSince1970, Origin: key.origin,
                                   EncryptionAlgorithms: encryption, KeyAgreementAlgorithms: agreement)
    }

    private func quotaClass(_ op: KMSWire.Operation, body: [UInt8]) -> String {
        switch op {
        case .getPublicKey: return "getPublicKey"
        case .describeKey, .listKeys, .createKey: return "describeKey"
        case .deriveSharedSecret: return "ecc"
        case .decrypt, .encrypt:
            let keyID = KMSWire.decode(KMSWire.KeyIDRequest.self, body)?.KeyId ?? ""
            switch lookup(keyID)?.spec.algorithm {
            case .rsa?: return "rsa"
            case .ec?: return "ecc"
            case nil: return "symmetric"
            }
        }
    }

    /// Service time for one call: lognormal body, rare tail and stall, key-size multiplier.
    private func serviceMilliseconds(_ op: KMSWire.Operation, body: [UInt8]) -> Double {
        let latency = profile.latency
        guard latency.p50Milliseconds > 0 else { return 0 }
        var multiplier = op == .getPublicKey || op == .describeKey || op == .listKeys ? 0.5 : 1
        if profile.keySizeMultipliers, op == .decrypt,
           let keyID = KMSWire.decode(KMSWire.DecryptRequest.self, body)?.KeyId, case .rsa(let bits)? = lookup(keyID)?.spec.algorithm {
            multiplier *= bits >= 4096 ? 7 : bits >= 3072 ? 3 : 1
        }
        let milliseconds = state.withLock { state -> Double in
            var value = latency.p50Milliseconds * exp(latency.sigma * state.random.nextGaussian()) * multiplier
            let draw = state.random.nextUnit()
            if draw < latency.stallProbability {
                value += state.random.next(in: latency.stallMilliseconds)
            } else if draw < latency.stallProbability + latency.tailProbability {
                value += state.random.next(in: latency.tailMilliseconds)
            }
            let bucket = [1.0, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].first { value <= $0 }.map { "≤\(Int($0))" } ?? ">5000"
            state.counters.latencyHistogram[bucket, default: 0] += 1
            return value
        }
        return milliseconds
    }

    /// Unit occupancy for crypto operations; nil for operations that do not reach the HSM.
    private func hsmMilliseconds(_ op: KMSWire.Operation, body: [UInt8], settings: SimulatorProfile.HSM) -> Double? {
        guard op == .decrypt || op == .encrypt || op == .deriveSharedSecret else { return nil }
        let keyID = KMSWire.decode(KMSWire.KeyIDRequest.self, body)?.KeyId ?? ""
        switch lookup(keyID)?.spec.algorithm {
        case .rsa(let bits)?:
            return bits >= 4096 ? settings.rsa4096Milliseconds : bits >= 3072 ? settings.rsa3072Milliseconds : settings.rsa2048Milliseconds
        case .ec?: return settings.ecMilliseconds
        case nil: return settings.symmetricMilliseconds
        }
    }

    private func drawFault() -> String? {
        let f = profile.faults
        let table: [(String, Double)] = [("KMSInternalException", f.internalError), ("ServiceUnavailable", f.serviceUnavailable),
                                         ("KeyUnavailableException", f.keyUnavailable), ("DependencyTimeoutException", f.dependencyTimeout),
                                         ("reset", f.connectionReset), ("hang", f.hang)]
        let total = table.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return nil }
        var draw = state.withLock { $0.random.nextUnit() }
        for (name, probability) in table {
            if draw < probability { return name }
            draw -= probability
        }
        return nil
    }

    private func count(fault: String) {
        state.withLock { $0.counters.faultsInjected[fault, default: 0] += 1 }
    }

    private func wait(_ milliseconds: Double) async {
        guard milliseconds > 0 else { return }
        try? await Task.sleep(nanoseconds: UInt64(milliseconds * 1_000_000))
    }

    private func ok<T: Encodable>(_ value: T) -> Reply {
        Reply(status: 200, headers: [("Content-Type", KMSWire.contentType), ("x-amzn-RequestId", UUID().uuidString.lowercased())],
              body: KMSWire.encode(value))
    }

    private func error(_ status: Int, _ code: String, _ message: String) -> Reply {
        state.withLock { $0.counters.errors[code, default: 0] += 1 }
        return Reply(status: status, headers: [("Content-Type", KMSWire.contentType), ("x-amzn-RequestId", UUID().uuidString.lowercased())],
                     body: KMSWire.encode(KMSWire.ErrorBody(code, message)))
    }

    private func notFound(_ keyID: String) -> Reply { error(400, "NotFoundException", "Key '\(keyID)' does not exist") }
    private func invalidCiphertext() -> Reply { error(400, "InvalidCiphertextException", "The ciphertext is invalid for this key.") }
    private func serializationError() -> Reply { error(400, "SerializationException", "The request body is not valid JSON for this operation.") }
}

/// c units and a bounded FIFO queue in front of them.
final class HSMQueue: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let queueDepth: Int
    private let state: Mutex<State>

    init(units: Int, queueDepth: Int) {
        self.queueDepth = max(0, queueDepth)
        state = Mutex(State(free: max(1, units)))
    }

    /// false when the queue is full (the op is refused at once).
    func acquire() async -> Bool {
        enum Admission { case now, wait, refuse }
        let admission = state.withLock { state -> Admission in
            if state.free > 0 {
                state.free -= 1
                return .now
            }
            return state.waiters.count < queueDepth ? .wait : .refuse
        }
        switch admission {
        case .now: return true
        case .refuse: return false
        case .wait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.free > 0 {
                        state.free -= 1
                        return true
                    }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            return true
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.free += 1
            return nil
        }
        next?.resume()
    }
}

/// A small seeded generator, so fault and latency draws are reproducible run to run.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func next(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + nextUnit() * (range.upperBound - range.lowerBound)
    }

    /// Standard normal (Box–Muller).
    mutating func nextGaussian() -> Double {
        let u1 = Swift.max(nextUnit(), 1e-12)
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
