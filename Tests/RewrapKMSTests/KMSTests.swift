import Foundation
import RewrapAWSWire
import RewrapCrypto
@testable import RewrapKMS
import RewrapKMSSimulator
import RewrapTestSupport
import RewrapWire
import Testing

/// The KMS client against the simulator (its AWS stand-in) in process: the AWS JSON 1.1 calls,
/// faults and retries, adaptive rate and timeouts.
@Suite struct KMSWireTests {
    static let credentials = SigV4.Credentials(accessKeyID: "AKIDTEST", secretAccessKey: "test-secret")

    static func client(_ simulator: SimulatedKMS, policy: KMSRetryPolicy = KMSRetryPolicy(), credentials: SigV4.Credentials = credentials) -> KMSClient {
        KMSClient(transport: InProcessKMSTransport(simulator: simulator), host: "127.0.0.1:4599", region: "us-east-1",
                  credentials: credentials, policy: policy)
    }

    static func quiet(signed: Bool = true) -> SimulatedKMS {
        SimulatedKMS(profile: .named("zero")!, credentials: signed ? credentials : nil)
    }

    @Test func rsaDecryptOfExternallyMadeCiphertext() async throws {
        let kms = Self.quiet()
        let client = Self.client(kms)
        let metadata = try await client.createKey(spec: .rsa2048, usage: .encryptDecrypt)
        #expect(metadata.Arn == "arn:aws:kms:us-east-1:111122223333:key/\(metadata.KeyId)")
        #expect(metadata.EncryptionAlgorithms == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
        let publicKeyResponse = try await client.getPublicKey(keyID: metadata.KeyId)
        #expect(publicKeyResponse.KeySpec == .rsa2048)
        let der = try #require(Base64.decode(publicKeyResponse.PublicKey, options: .protoJSON))
        let publicKey = try withBytes(der) { (d) throws(CryptoError) in try PublicKey(spkiDER: d) }
        let dek = try CryptoPrimitives.randomBytes(count: 32)
        let sha1 = try withBytes(dek) { (p) throws(CryptoError) in try CryptoWorker().rsaOAEPEncrypt(p, to: publicKey) }
        #expect(try await client.decrypt(keyID: metadata.KeyId, ciphertext: sha1).copyBytes() == dek)
        #expect(try await client.decrypt(keyID: metadata.Arn, ciphertext: sha1).copyBytes() == dek, "the ARN works as KeyId")
        // SHA-1 ciphertext under RSAES_OAEP_SHA_256 does not open.
        await #expect(throws: KMSError.self) { _ = try await client.decrypt(keyID: metadata.KeyId, ciphertext: sha1, algorithm: "RSAES_OAEP_SHA_256") }
        // GetPublicKey is cached.
        _ = try await client.getPublicKey(keyID: metadata.KeyId)
        #expect(kms.counters.requests["GetPublicKey"] == 1)
    }

    @Test(arguments: [KMSWire.KeySpec.eccNistP256, .eccNistP384, .eccNistP521])
    func deriveSharedSecretIsRawECDH(spec: KMSWire.KeySpec) async throws {
        let kms = Self.quiet()
        let client = Self.client(kms)
        let metadata = try await client.createKey(spec: spec, usage: .keyAgreement)
        #expect(metadata.KeyAgreementAlgorithms == ["ECDH"])
        let der = try #require(Base64.decode(try await client.getPublicKey(keyID: metadata.KeyId).PublicKey, options: .protoJSON))
        let kmsPublic = try withBytes(der) { (d) throws(CryptoError) in try PublicKey(spkiDER: d) }
        guard case .ec(let curve) = kmsPublic.algorithm else { Issue.record("not EC"); return }
        let peer = try PrivateKey.generate(.ec(curve))
        let secret = try await client.deriveSharedSecret(keyID: metadata.KeyId, peerSPKI: try peer.publicKey.spkiDER())
        var expected = [UInt8](repeating: 0, count: curve.coordinateByteCount)
        _ = expected.withUnsafeMutableBytes { try? CryptoWorker().ecdh(peer, peer: kmsPublic, into: $0) }
        #expect(secret.copyBytes() == expected)
    }

    @Test func awsErrorsAreFaithful() async throws {
        let kms = Self.quiet()
        let client = Self.client(kms)
        let rsa = try await client.createKey(spec: .rsa2048, usage: .encryptDecrypt)
        let ec = try await client.createKey(spec: .eccNistP256, usage: .keyAgreement)
        let p384Peer = try PrivateKey.generate(.ecP384).publicKey.spkiDER()
        func code(_ body: () async throws -> Void) async -> String? {
            do {
                try await body()
                return nil
            } catch {
                if case .rejected(let code, _)? = error as? KMSError { return code }
                return "\(error)"
            }
        }
        #expect(await code { _ = try await client.decrypt(keyID: "nope", ciphertext: [1]) } == "NotFoundException")
        #expect(await code { _ = try await client.decrypt(keyID: rsa.KeyId, ciphertext: [UInt8](repeating: 7, count: 256)) } == "InvalidCiphertextException")
        #expect(await code { _ = try await client.decrypt(keyID: rsa.KeyId, ciphertext: [1], algorithm: "SYMMETRIC_DEFAULT") } == "InvalidKeyUsageException")
        #expect(await code { _ = try await client.deriveSharedSecret(keyID: rsa.KeyId, peerSPKI: p384Peer) } == "InvalidKeyUsageException")
        #expect(await code { _ = try await client.deriveSharedSecret(keyID: ec.KeyId, peerSPKI: p384Peer) } == "ValidationException")
        #expect(await code { _ = try await client.decrypt(keyID: ec.KeyId, ciphertext: [1]) } == "InvalidKeyUsageException")
        #expect(await code { _ = try await client.createKey(spec: .eccNistP256, usage: .encryptDecrypt) } == "ValidationException")
        #expect(await code { let _: KMSWire.KeyMetadataResponse = try await client.call(.describeKey, ["Nope": 1]) } == "SerializationException")
        // Unknown operations are a 400, not a retried 500. A signing simulator refuses the
        // unsigned call before looking at the operation (a missing signature is a 400; only an
        // unknown access key is a 403).
        let unknown = await kms.handle(method: "POST", path: "/", headers: [("X-Amz-Target", "TrentService.Frobnicate")], body: [], newConnection: false)
        #expect(unknown.status == 400)
        #expect(KMSWire.errorCode(body: unknown.body, header: nil).code == "IncompleteSignatureException")
        let unsigned = Self.quiet(signed: false)
        let reply = await unsigned.handle(method: "POST", path: "/", headers: [("X-Amz-Target", "TrentService.Frobnicate")], body: Array("{}".utf8), newConnection: false)
        #expect(reply.status == 400)
        #expect(KMSWire.errorCode(body: reply.body, header: nil).code == "UnknownOperationException")
    }

    /// Symmetric keys (what PROVIDER_ROOT_KEY wraps private keys with): Encrypt, then Decrypt.
    @Test func symmetricEncryptDecrypt() async throws {
        let kms = Self.quiet()
        let client = Self.client(kms)
        let key = try await client.createKey(spec: .symmetricDefault, usage: .encryptDecrypt)
        #expect(key.EncryptionAlgorithms == ["SYMMETRIC_DEFAULT"])
        let pem = Array("-----BEGIN PRIVATE KEY-----\nexample\n-----END PRIVATE KEY-----\n".utf8)
        let blob = try await client.encrypt(keyID: key.KeyId, plaintext: pem)
        #expect(blob != pem)
        let response: KMSWire.DecryptResponse = try await client.call(
            .decrypt, KMSWire.DecryptRequest(KeyId: key.KeyId, CiphertextBlob: Base64.encode(blob), EncryptionAlgorithm: nil))
        #expect(Base64.decode(response.Plaintext, options: .protoJSON) == pem)
        // Another key cannot open it; a tampered blob does not open.
        let other = try await client.createKey(spec: .symmetricDefault, usage: .encryptDecrypt)
        await #expect(throws: KMSError.self) {
            let _: KMSWire.DecryptResponse = try await client.call(
                .decrypt, KMSWire.DecryptRequest(KeyId: other.KeyId, CiphertextBlob: Base64.encode(blob), EncryptionAlgorithm: nil))
        }
        var tampered = blob
        tampered[tampered.count - 1] ^= 1
        await #expect(throws: KMSError.self) {
            let _: KMSWire.DecryptResponse = try await client.call(
                .decrypt, KMSWire.DecryptRequest(KeyId: key.KeyId, CiphertextBlob: Base64.encode(tampered), EncryptionAlgorithm: nil))
        }
    }

    @Test func listKeysPaginatesAndDescribeKeyAnswers() async throws {
        let kms = Self.quiet(signed: false)
        for _ in 0..<5 { kms.importKey(try PrivateKey.generate(.ecP256)) }
        let client = Self.client(kms)
        var seen: [String] = []
        var marker: String?
        repeat {
            let page: KMSWire.ListKeysResponse = try await client.call(.listKeys, KMSWire.ListKeysRequest(Limit: 2, Marker: marker))
            seen += page.Keys.map(\.KeyId)
            marker = page.NextMarker
            #expect(page.Truncated == (marker != nil))
        } while marker != nil
        #expect(seen.count == 5)
        #expect(Set(seen).count == 5)
        #expect(try await client.describeKey(keyID: seen[0]).KeyUsage == .keyAgreement)
    }

    @Test func signaturesAreEnforcedWhenConfigured() async throws {
        let kms = Self.quiet(signed: true)
        let wrongSecret = Self.client(kms, credentials: SigV4.Credentials(accessKeyID: "AKIDTEST", secretAccessKey: "wrong"))
        await #expect(throws: KMSError.rejected(code: "InvalidSignatureException",
                                                message: "The request signature we calculated does not match the signature you provided.")) {
            _ = try await wrongSecret.createKey(spec: .eccNistP256, usage: .keyAgreement)
        }
        let wrongID = Self.client(kms, credentials: SigV4.Credentials(accessKeyID: "SOMEONE", secretAccessKey: "test-secret"))
        await #expect(throws: KMSError.rejected(code: "UnrecognizedClientException",
                                                message: "The request signature we calculated does not match the signature you provided.")) {
            _ = try await wrongID.createKey(spec: .eccNistP256, usage: .keyAgreement)
        }
    }
}

@Suite struct KMSFaultTests {
    static func fast() -> KMSRetryPolicy {
        var policy = KMSRetryPolicy()
        policy.baseBackoff = .milliseconds(1)
        policy.maxBackoff = .milliseconds(5)
        policy.perAttemptTimeout = .milliseconds(200)
        policy.deadline = .seconds(30)  // a loaded test machine must not turn retries into deadline failures
        return policy
    }

    static func kms(_ faults: SimulatorProfile.Faults, quotas: SimulatorProfile.Quotas = .unlimited) -> SimulatedKMS {
        SimulatedKMS(profile: SimulatorProfile(latency: .zero, quotas: quotas, faults: faults, newConnectionMilliseconds: 0))
    }

    static func eccKey(_ kms: SimulatedKMS) throws -> (String, [UInt8]) {
        let key = try PrivateKey.generate(.ecP256)
        return (kms.importKey(key), try PrivateKey.generate(.ecP256).publicKey.spkiDER())
    }

    @Test(arguments: [
        ("500", SimulatorProfile.Faults(internalError: 1)),
        ("503", SimulatorProfile.Faults(serviceUnavailable: 1)),
        ("key unavailable", SimulatorProfile.Faults(keyUnavailable: 1)),
        ("reset", SimulatorProfile.Faults(connectionReset: 1)),
        ("hang", SimulatorProfile.Faults(hang: 1)),
    ])
    func transientFaultsAreRetriedThenReported(name: String, faults: SimulatorProfile.Faults) async throws {
        let kms = Self.kms(faults)
        let (keyID, peer) = try Self.eccKey(kms)
        let client = KMSClient(transport: InProcessKMSTransport(simulator: kms), host: "kms", region: "us-east-1",
                               credentials: .init(accessKeyID: "a", secretAccessKey: "b"), policy: Self.fast())
        await #expect(throws: KMSError.self, "\(name)") { _ = try await client.deriveSharedSecret(keyID: keyID, peerSPKI: peer) }
        #expect(client.statistics.attempts == 3, "\(name): three attempts")
        #expect(client.statistics.retries == 2)
        #expect(kms.counters.faultsInjected.values.reduce(0, +) == 3)
    }

    @Test func throttlingIsRetriedPacedAndCounted() async throws {
        var quotas = SimulatorProfile.Quotas.unlimited
        quotas.eccPerSecond = 4
        let kms = Self.kms(.none, quotas: quotas)
        let (keyID, peer) = try Self.eccKey(kms)
        var policy = Self.fast()
        policy.maxAttempts = 40
        policy.deadline = .seconds(30)
        let client = KMSClient(transport: InProcessKMSTransport(simulator: kms), host: "kms", region: "us-east-1",
                               credentials: .init(accessKeyID: "a", secretAccessKey: "b"), policy: policy)
        // 12 at once against a bucket of 4: some are throttled, then paced down to the quota.
        let failures = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    do { _ = try await client.deriveSharedSecret(keyID: keyID, peerSPKI: peer) } catch { failures.increment() }
                }
            }
        }
        #expect(failures.value == 0)
        #expect(client.statistics.throttled >= 1)
        #expect(client.statistics.retries == client.statistics.throttled, "every throttle was retried")
        #expect(kms.counters.throttled == client.statistics.throttled)
        #expect(client.sendRate.isFinite, "the client learned a rate")
        #expect(client.sendRate < 120, "below the burst that was throttled")
    }

    @Test func nonRetryableErrorsAreNotRetried() async throws {
        let kms = Self.kms(.none)
        let (keyID, _) = try Self.eccKey(kms)
        let client = KMSClient(transport: InProcessKMSTransport(simulator: kms), host: "kms", region: "us-east-1",
                               credentials: .init(accessKeyID: "a", secretAccessKey: "b"), policy: Self.fast())
        await #expect(throws: KMSError.self) { _ = try await client.deriveSharedSecret(keyID: keyID, peerSPKI: [0x30, 0x00]) }
        #expect(client.statistics.attempts == 1)
    }

    /// An outage spends the retry budget, then calls fail fast without adding load.
    @Test func outageFailsFastOnceTheBudgetIsSpent() async throws {
        var faults = SimulatorProfile.Faults.none
        faults.outageStartSeconds = 0
        faults.outageDurationSeconds = 3600
        let kms = Self.kms(faults)
        let (keyID, peer) = try Self.eccKey(kms)
        var policy = Self.fast()
        policy.budget = 20  // four retries' worth
        let client = KMSClient(transport: InProcessKMSTransport(simulator: kms), host: "kms", region: "us-east-1",
                               credentials: .init(accessKeyID: "a", secretAccessKey: "b"), policy: policy)
        for _ in 0..<10 {
            await #expect(throws: KMSError.self) { _ = try await client.deriveSharedSecret(keyID: keyID, peerSPKI: peer) }
        }
        // 10 first attempts + only the 4 retries the budget allowed.
        #expect(client.statistics.attempts == 14)
        #expect(kms.counters.faultsInjected["outage"] == 14)
    }
}

@Suite struct AdaptiveRateLimiterTests {
    @Test func unlimitedUntilThrottledThenBackedOff() async throws {
        let limiter = AdaptiveRateLimiter()
        #expect(limiter.currentRate == .infinity)
        var generation = 0
        for _ in 0..<50 { generation = try await limiter.acquire() }
        limiter.recordThrottle(generation: generation)
        let first = limiter.currentRate
        #expect(first.isFinite && first > 0)
        generation = try await limiter.acquire()
        limiter.recordThrottle(generation: generation)
        #expect(limiter.currentRate < first)
        let low = limiter.currentRate
        for _ in 0..<100 { limiter.recordSuccess() }
        #expect(limiter.currentRate > low)
    }

    @Test func aBurstOfThrottlesCountsOnce() async throws {
        let limiter = AdaptiveRateLimiter()
        var generations: [Int] = []
        for _ in 0..<20 { generations.append(try await limiter.acquire()) }
        for generation in generations { limiter.recordThrottle(generation: generation) }
        let once = limiter.currentRate
        #expect(once.isFinite)
        limiter.recordThrottle(generation: generations[0])
        #expect(limiter.currentRate == once, "a throttle from before the decrease is ignored")
    }

    /// Against a quota, the client converges below the point where the KMS throttles.
    @Test func convergesUnderAQuota() async throws {
        var quotas = SimulatorProfile.Quotas.unlimited
        quotas.eccPerSecond = 400
        var latency = SimulatorProfile.Latency.zero
        latency.p50Milliseconds = 10
        latency.p99Milliseconds = 11
        latency.tailProbability = 0
        latency.stallProbability = 0
        let kms = SimulatedKMS(profile: SimulatorProfile(latency: latency, quotas: quotas, faults: .none, newConnectionMilliseconds: 0))
        let keyID = kms.importKey(try PrivateKey.generate(.ecP256))
        let peer = try PrivateKey.generate(.ecP256).publicKey.spkiDER()
        var policy = KMSRetryPolicy()  // default backoff: 25 ms base, full jitter
        policy.budget = 1_000_000
        // What is tested is the rate converging under the quota, not deadlines: on a machine
        // the rest of the suite loads, 80 of 1500 calls once ran past the 5 s default deadline.
        policy.deadline = .seconds(120)
        policy.minimumAttemptTimeout = .seconds(2)
        let client = KMSClient(transport: InProcessKMSTransport(simulator: kms), host: "kms", region: "us-east-1",
                               credentials: .init(accessKeyID: "a", secretAccessKey: "b"), policy: policy, maxInFlight: 64)
        let failures = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<1500 {
                group.addTask {
                    do { _ = try await client.deriveSharedSecret(keyID: keyID, peerSPKI: peer) } catch { failures.increment() }
                }
            }
        }
        #expect(failures.value == 0)
        #expect(client.sendRate.isFinite, "the client learned a rate")
        #expect(client.statistics.throttled < 300, "throttling stayed a fraction of the calls")
    }
}

@Suite struct AdaptiveTimeoutTests {
    @Test func windowKeepsTheRecentP99() {
        let window = LatencyWindow(capacity: 100)
        #expect(window.p99(minimumSamples: 1) == nil)
        for index in 1...100 { window.record(.milliseconds(index)) }
        #expect(window.p99(minimumSamples: 200) == nil, "not enough samples yet")
        #expect(window.p99(minimumSamples: 100) == .milliseconds(100))
        // Old samples roll out: a faster service lowers the p99.
        for _ in 0..<100 { window.record(.milliseconds(2)) }
        #expect(window.p99(minimumSamples: 100) == .milliseconds(2))
    }

    /// A stalled call is abandoned after a few p99s, between the floor and the policy's ceiling.
    @Test func attemptTimeoutIsClampedMultipleOfP99() {
        let policy = KMSRetryPolicy()
        #expect(KMSClient.attemptTimeout(p99: nil, policy: policy) == .seconds(2))
        #expect(KMSClient.attemptTimeout(p99: .milliseconds(1), policy: policy) == .milliseconds(250))
        #expect(KMSClient.attemptTimeout(p99: .milliseconds(100), policy: policy) == .milliseconds(400))
        #expect(KMSClient.attemptTimeout(p99: .seconds(1), policy: policy) == .seconds(2))
    }
}
