import Foundation
import RewrapAWSWire
import RewrapClient
import RewrapCrypto
import RewrapEngine
@testable import RewrapKMS
import RewrapKMSSimulator
import RewrapRegistry
import RewrapWire
import Testing

/// AWS's published SigV4 test-suite vectors (credentials AKIDEXAMPLE, 2015-08-30, us-east-1,
/// service "service").
@Suite struct SigV4Tests {
    static let signer = SigV4(credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                              region: "us-east-1", service: "service")
    static let baseHeaders = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]

    @Test(arguments: [
        ("get-vanilla", "GET", [(String, String)](), "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("get-vanilla-query-order-key-case", "GET", [("Param2", "value2"), ("Param1", "value1")],
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("post-vanilla", "POST", [], "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ])
    func awsTestSuite(name: String, method: String, query: [(String, String)], signature: String) {
        let request = SigV4.Request(method: method, path: "/", query: query, headers: Self.baseHeaders, body: [])
        #expect(Self.signer.authorization(for: request) ==
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(signature)",
                "\(name)")
    }

    @Test func verifyAcceptsItsOwnSignaturesAndRejectsTampering() throws {
        let signer = SigV4(credentials: .init(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1", service: "kms")
        let now = Date()
        let body = Array(#"{"KeyId":"k"}"#.utf8)
        let headers = signer.signedHeaders(method: "POST", path: "/", headers: [("Host", "localhost"), ("X-Amz-Target", "TrentService.Decrypt")],
                                           body: body, date: now)
        try signer.verify(SigV4.Request(method: "POST", headers: headers, body: body), now: now)
        #expect(throws: SigV4.VerificationError.signatureDoesNotMatch) {
            try signer.verify(SigV4.Request(method: "POST", headers: headers, body: body + [0x20]), now: now)
        }
        #expect(throws: SigV4.VerificationError.requestExpired) {
            try signer.verify(SigV4.Request(method: "POST", headers: headers, body: body), now: now.addingTimeInterval(16 * 60))
        }
        let other = SigV4(credentials: .init(accessKeyID: "OTHER", secretAccessKey: "secret"), region: "us-east-1", service: "kms")
        #expect(throws: SigV4.VerificationError.invalidClientTokenID) {
            try other.verify(SigV4.Request(method: "POST", headers: headers, body: body), now: now)
        }
        #expect(throws: SigV4.VerificationError.incompleteSignature) {
            try signer.verify(SigV4.Request(method: "POST", headers: [("Host", "localhost")], body: body), now: now)
        }
    }
}

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
        // Unknown operations are a 400, not a retried 500.
        let unknown = await kms.handle(method: "POST", path: "/", headers: [("X-Amz-Target", "TrentService.Frobnicate")], body: [], newConnection: false)
        #expect(unknown.status == 400 || unknown.status == 403)
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
        await #expect(throws: KMSError.self) { _ = try await wrongID.createKey(spec: .eccNistP256, usage: .keyAgreement) }
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

/// The engine with REMOTE registry keys in the simulated KMS, through the real client.
@Suite struct KMSRewrapTests {
    static let client = Fixtures.privateKey("client-secp256r1")

    /// Fast backoff, but attempts long enough for a loaded test machine.
    static func patient() -> KMSRetryPolicy {
        var policy = KMSFaultTests.fast()
        policy.perAttemptTimeout = .seconds(5)
        policy.deadline = .seconds(30)
        return policy
    }

    func setUp(_ profile: SimulatorProfile, policy: KMSRetryPolicy = KMSRewrapTests.patient()) throws
        -> (TemporaryRegistry, RegistryKeySource, [(kid: String, key: PublicKey)], SimulatedKMS) {
        let kms = SimulatedKMS(profile: profile)
        let registry = try TemporaryRegistry()
        try registry.store.createProvider(ProviderConfig(name: "aws", manager: KMSKeyManager.managerName,
                                                         configJSON: #"{"endpoint":"http://127.0.0.1:1","region":"us-east-1"}"#))
        let provider = try #require(try registry.store.providers().first)
        var keys: [(kid: String, key: PublicKey)] = []
        for (kid, algorithm) in [("kms-rsa", KeyAlgorithm.rsa2048), ("kms-ec", .ecP256)] {
            let key = try PrivateKey.generate(algorithm)
            let keyID = kms.importKey(key)
            try registry.store.create(KeyRecord(kid: kid, algorithm: algorithm, mode: .remote, publicKeyPEM: try key.publicKey.pem(),
                                                privateKeyContext: PrivateKeyContext(keyID: keyID), providerConfig: provider))
            keys.append((kid, key.publicKey))
        }
        let kmsClient = KMSClient(transport: InProcessKMSTransport(simulator: kms), host: "127.0.0.1:1", region: "us-east-1",
                                  credentials: .init(accessKeyID: "a", secretAccessKey: "b"), policy: policy)
        let source = registry.source(factories: [KMSKeyManager.managerName: { _ throws(KeyManagerError) in KMSKeyManager(client: kmsClient) }])
        return (registry, source, keys, kms)
    }

    @Test func remoteKeysRewrapThroughTheKMS() async throws {
        let (registry, source, keys, kms) = try setUp(.named("zero")!)
        defer { withExtendedLifetime(registry) {} }  // its directory holds the database
        let writer = TDFWriter()
        var kaos: [KeyAccess] = []
        var deks: [[UInt8]] = []
        for index in 0..<20 {
            let (kid, key) = keys[index % 2]
            let dek = try TDFWriter.makeDEK()
            kaos.append(try writer.keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: .init(kid: kid, key: key)))
            deks.append(dek.copyBytes())
        }
        let response = try await engine(source).rewrap(makeRequest(client: try Self.client.publicKey.pem(), kaos: kaos))
        for index in kaos.indices {
            let dek = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: Self.client)
            #expect(dek.copyBytes() == deks[index])
        }
        #expect(kms.counters.requests["Decrypt"] == 10)
        #expect(kms.counters.requests["DeriveSharedSecret"] == 10)
    }

    /// PROVIDER_ROOT_KEY: the private key is wrapped by a KMS symmetric key; KMS unwraps it once,
    /// then it is parsed, cached and used locally for every KAO.
    @Test func providerRootKeysAreUnwrappedOnceByTheKMS() async throws {
        let kms = SimulatedKMS(profile: .named("zero")!)
        let registry = try TemporaryRegistry()
        let kmsClient = KMSClient(transport: InProcessKMSTransport(simulator: kms), host: "kms", region: "us-east-1",
                                  credentials: .init(accessKeyID: "a", secretAccessKey: "b"), policy: Self.patient())
        let kek = try await kmsClient.createKey(spec: .symmetricDefault, usage: .encryptDecrypt)
        let kasKey = try PrivateKey.generate(.ecP384)
        let blob = try await kmsClient.encrypt(keyID: kek.KeyId, plaintext: try kasKey.pkcs8PEM().copyBytes())
        let provider = try registry.store.createProvider(ProviderConfig(name: "aws", manager: KMSKeyManager.managerName))
        try registry.store.create(KeyRecord(kid: "prk", algorithm: .ecP384, mode: .providerRootKey, publicKeyPEM: try kasKey.publicKey.pem(),
                                            privateKeyContext: PrivateKeyContext(keyID: kek.KeyId, wrappedKey: Base64.encode(blob)),
                                            providerConfig: provider))
        let source = registry.source(factories: [KMSKeyManager.managerName: { _ throws(KeyManagerError) in KMSKeyManager(client: kmsClient) }])
        let writer = TDFWriter()
        for _ in 0..<3 {
            let dek = try TDFWriter.makeDEK()
            let kaos = try (0..<4).map { _ in
                try writer.keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: .init(kid: "prk", key: kasKey.publicKey))
            }
            let response = try await engine(source).rewrap(makeRequest(client: try Self.client.publicKey.pem(), kaos: kaos))
            for index in kaos.indices {
                let opened = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: Self.client)
                #expect(opened.copyBytes() == dek.copyBytes())
            }
        }
        #expect(kms.counters.requests["Decrypt"] == 1, "unwrapped once, then cached")
        withExtendedLifetime(registry) {}
    }

    /// Under the `stress` fault profile, thousands of KAOs: every result is either the right
    /// DEK or an internal error, never a wrong DEK.
    @Test func stressProfileNeverYieldsAWrongDEK() async throws {
        var profile = SimulatorProfile.named("stress")!
        profile.latency = .zero
        profile.quotas = .unlimited
        profile.newConnectionMilliseconds = 0
        var policy = Self.patient()
        policy.perAttemptTimeout = .milliseconds(500)  // hangs become timeouts
        policy.budget = 1_000_000
        let (registry, source, keys, kms) = try setUp(profile, policy: policy)
        defer { withExtendedLifetime(registry) {} }  // its directory holds the database
        let writer = TDFWriter()
        var permitted = 0, failed = 0, wrong = 0
        for round in 0..<10 {
            var kaos: [KeyAccess] = []
            var deks: [[UInt8]] = []
            for index in 0..<200 {
                let (kid, key) = keys[(index + round) % 2 == 0 ? 1 : (index % 5 == 0 ? 0 : 1)]
                let dek = try TDFWriter.makeDEK()
                kaos.append(try writer.keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: .init(kid: kid, key: key)))
                deks.append(dek.copyBytes())
            }
            let response = try await engine(source).rewrap(makeRequest(client: try Self.client.publicKey.pem(), kaos: kaos))
            for index in kaos.indices {
                let result = try #require(response.result(policyID: "policy", keyAccessObjectID: "kao-\(index)"))
                if result.status == "permit" {
                    let dek = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: Self.client)
                    if dek.copyBytes() == deks[index] { permitted += 1 } else { wrong += 1 }
                } else {
                    #expect(result.error == "internal: internal error\nrpc error: code = Internal desc = key service unavailable")
                    failed += 1
                }
            }
        }
        #expect(wrong == 0)
        #expect(permitted + failed == 2000)
        #expect(permitted > 1900, "retries hide nearly all transient faults")
        #expect(kms.counters.faultsInjected.values.reduce(0, +) > 0, "faults were injected")
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

@Suite struct HSMModelTests {
    /// Units, a bounded queue, and "HSM busy" when it is full.
    @Test func unitsQueueAndRefusal() async throws {
        var profile = SimulatorProfile.named("zero")!
        var hsm = SimulatorProfile.HSM(units: 2, queueDepth: 2)
        hsm.ecMilliseconds = 200
        profile.hsm = hsm
        let kms = SimulatedKMS(profile: profile)
        let keyID = kms.importKey(try PrivateKey.generate(.ecP256))
        let peer = try PrivateKey.generate(.ecP256).publicKey.spkiDER()
        let body = KMSWire.encode(KMSWire.DeriveSharedSecretRequest(KeyId: keyID, PublicKey: Base64.encode(peer)))
        let headers = [("X-Amz-Target", KMSWire.Operation.deriveSharedSecret.target)]
        // Six at once: two served, two queued, two refused as HSM busy.
        let statuses = await withTaskGroup(of: (Int, String).self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let reply = await kms.handle(method: "POST", path: "/", headers: headers, body: body, newConnection: false)
                    return (reply.status, KMSWire.errorCode(body: reply.body, header: nil).code)
                }
            }
            var all: [(Int, String)] = []
            for await status in group { all.append(status) }
            return all
        }
        #expect(statuses.filter { $0.0 == 200 }.count == 4)
        #expect(statuses.filter { $0.1 == "ThrottlingException" }.count == 2)
        #expect(kms.counters.throttled == 2)
    }
}
