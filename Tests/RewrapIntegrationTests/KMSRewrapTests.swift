import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapKMS
import RewrapKMSSimulator
import RewrapRegistry
import RewrapRegistryTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

/// The engine with REMOTE registry keys in the simulated KMS, through the real client.
@Suite struct KMSRewrapTests {
    static let client = Fixtures.privateKey("client-secp256r1")

    /// Fast backoff, but attempts long enough for a loaded test machine.
    static func patient() -> KMSRetryPolicy {
        var policy = KMSRetryPolicy()
        policy.baseBackoff = .milliseconds(1)
        policy.maxBackoff = .milliseconds(5)
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

