import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapRegistry
import RewrapRegistrySQLite
import RewrapRegistryTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

/// The engine against the key registry: root-wrapped keys, rotation, modes, legacy keys, and
/// OpenTDF's own fixtures stored as the platform stores them.
@Suite struct RegistryRewrapTests {
    static let clientKey = Fixtures.privateKey("client-secp256r1")

    func roundTrip(_ source: any KeySource, kid: String, publicKey: PublicKey, includeKid: Bool = true) async throws -> KeyAccessRewrapResult {
        let dek = try TDFWriter.makeDEK()
        let kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy,
                                            kas: .init(kid: kid, key: publicKey), includeKid: includeKid)
        let response = try await engine(source).rewrap(makeRequest(client: try Self.clientKey.publicKey.pem(), kaos: [kao]))
        let result = try #require(response.result(policyID: "policy", keyAccessObjectID: "kao-0"))
        if result.status == "permit" {
            let opened = try TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: "kao-0", clientPrivateKey: Self.clientKey)
            #expect(opened.copyBytes() == dek.copyBytes(), "\(kid)")
        }
        return result
    }

    @Test(arguments: KeyAlgorithm.kasAlgorithms)
    func rootWrappedKeysRewrap(algorithm: KeyAlgorithm) async throws {
        let registry = try TemporaryRegistry()
        let (record, key) = try registry.makeRecord("k", algorithm)
        try registry.store.create(record)
        for source in [registry.source(), registry.source(cache: nil)] {
            let result = try await roundTrip(source, kid: "k", publicKey: key.publicKey)
            #expect(result.status == "permit", "\(result.error ?? "")")
        }
    }

    @Test func rotatedKeysKeepDecrypting() async throws {
        let registry = try TemporaryRegistry()
        let (old, oldKey) = try registry.makeRecord("e1", .ecP256)
        try registry.store.create(old)
        let source = registry.source()
        #expect(try await roundTrip(source, kid: "e1", publicKey: oldKey.publicKey).status == "permit")
        let (new, newKey) = try registry.makeRecord("e2", .ecP256)
        _ = try registry.store.rotate(kid: "e1", to: new)
        #expect(try await roundTrip(source, kid: "e1", publicKey: oldKey.publicKey).status == "permit")
        #expect(try await roundTrip(source, kid: "e2", publicKey: newKey.publicKey).status == "permit")
    }

    @Test func keysThatCannotRewrapSaySo() async throws {
        let registry = try TemporaryRegistry()
        let key = try PrivateKey.generate(.ecP256)
        let pem = try key.publicKey.pem()
        try registry.store.createProvider(ProviderConfig(name: "aws", manager: "opentdf.io/aws"))
        let aws = try #require(try registry.store.providers().first)
        try registry.store.create(KeyRecord(kid: "pk", algorithm: .ecP256, mode: .publicKeyOnly, publicKeyPEM: pem, privateKeyContext: nil))
        try registry.store.create(KeyRecord(kid: "kms", algorithm: .ecP256, mode: .remote, publicKeyPEM: pem,
                                            privateKeyContext: PrivateKeyContext(keyID: "arn:aws:kms:us-east-1:1:key/1"), providerConfig: aws))
        let source = registry.source()
        #expect(try await roundTrip(source, kid: "pk", publicKey: key.publicKey).error
                == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = key is public-key-only and cannot rewrap")
        #expect(try await roundTrip(source, kid: "kms", publicKey: key.publicKey).error
                == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = no key manager registered for opentdf.io/aws")
        #expect(try await roundTrip(source, kid: "absent", publicKey: key.publicKey).error
                == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = bad request")
    }

    @Test func wrongRootKeyIsALookupFailureNotBadRequest() async throws {
        let registry = try TemporaryRegistry()
        let (record, key) = try registry.makeRecord("e1", .ecP256)
        try registry.store.create(record)
        let other = RegistryKeySource(store: registry.store, managers: DelegatingKeyManager(
            default: BasicKeyManager(rootKey: try RootKey(hex: String(repeating: "11", count: 32)))))
        let error = try await roundTrip(other, kid: "e1", publicKey: key.publicKey).error
        #expect(error == "internal: internal error\nrpc error: code = Internal desc = key lookup failed")
        let noRoot = RegistryKeySource(store: registry.store, managers: DelegatingKeyManager(default: BasicKeyManager(rootKey: nil)))
        #expect(try await roundTrip(noRoot, kid: "e1", publicKey: key.publicKey).error == error)
    }

    @Test func kidFreeKAOUsesTheRegistryLegacyKey() async throws {
        let registry = try TemporaryRegistry()
        let (legacy, legacyKey) = try registry.makeRecord("old", .rsa2048, legacy: true)
        try registry.store.create(legacy)
        try registry.add("new", .rsa2048)
        let result = try await roundTrip(registry.source(), kid: "", publicKey: legacyKey.publicKey, includeKid: false)
        #expect(result.status == "permit", "\(result.error ?? "")")
    }

    /// A manager registered for a provider receives that provider's keys.
    @Test func providerKeysRouteToTheirManager() async throws {
        struct ProviderManager: KeyManager {
            let key: PrivateKey
            var name: String { "example.com/hsm" }
            func resolve(_ record: KeyRecord) throws(KeyManagerError) -> KeyResolution {
                .local(KASKey(kid: record.kid, privateKey: key))
            }
        }
        let registry = try TemporaryRegistry()
        let key = try PrivateKey.generate(.ecP384)
        try registry.store.createProvider(ProviderConfig(name: "hsm", manager: "example.com/hsm"))
        let provider = try #require(try registry.store.providers().first)
        try registry.store.create(KeyRecord(kid: "h1", algorithm: .ecP384, mode: .providerRootKey, publicKeyPEM: try key.publicKey.pem(),
                                            privateKeyContext: PrivateKeyContext(keyID: "kek-1", wrappedKey: "c2VhbGVk"),
                                            providerConfig: provider))
        let source = registry.source(factories: ["example.com/hsm": { _ throws(KeyManagerError) in ProviderManager(key: key) }])
        #expect(try await roundTrip(source, kid: "h1", publicKey: key.publicKey).status == "permit")
    }

    /// REMOTE registry keys reach the manager registered for their provider.
    @Test func registryRemoteKeysRouteToTheirManager() async throws {
        struct KMSManager: KeyManager {
            let key: FakeRemoteKey
            var name: String { "opentdf.io/aws" }
            func resolve(_ record: KeyRecord) throws(KeyManagerError) -> KeyResolution { .remote(key) }
        }
        let registry = try TemporaryRegistry()
        let kasKey = Fixtures.privateKey("kas-secp256r1")
        try registry.store.createProvider(ProviderConfig(name: "aws", manager: "opentdf.io/aws"))
        let aws = try #require(try registry.store.providers().first)
        try registry.store.create(KeyRecord(kid: "kms", algorithm: .ecP256, mode: .remote, publicKeyPEM: try kasKey.publicKey.pem(),
                                            privateKeyContext: PrivateKeyContext(keyID: "arn:aws:kms:us-east-1:1:key/1"),
                                            providerConfig: aws))
        let remote = FakeRemoteKey(kid: "kms", key: kasKey)
        let source = registry.source(factories: ["opentdf.io/aws": { _ throws(KeyManagerError) in KMSManager(key: remote) }])
        let dek = try TDFWriter.makeDEK()
        let kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: .init(kid: "kms", key: kasKey.publicKey))
        let response = try await engine(source).rewrap(makeRequest(client: try Self.clientKey.publicKey.pem(), kaos: [kao]))
        let opened = try TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: "kao-0", clientPrivateKey: Self.clientKey)
        #expect(opened.copyBytes() == dek.copyBytes())
        #expect(remote.calls == 1)
    }

    typealias Registry = OpenTDFRegistryFixtures

    /// OpenTDF's registry fixtures imported as CONFIG_ROOT_KEY keys with their certificates as
    /// public keys, resolved through the cached-reference path, each used for a rewrap.
    @Test(.enabled(if: Registry.available, Comment(rawValue: Registry.skipReason)))
    func openTDFFixturesThroughTheRegistry() async throws {
        let file = try Registry.load()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-fixtures-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteKeyStore(path: directory.appendingPathComponent("keys.sqlite").path)
        var publicKeys: [String: PublicKey] = [:]
        for key in file.keys {
            let context = try JSONDecoder().decode(Registry.PrivateContext.self, from: #require(Data(base64Encoded: key.private_key_ctx)))
            let publicContext = try JSONDecoder().decode(Registry.PublicContext.self, from: #require(Data(base64Encoded: key.public_key_ctx)))
            let certificate = String(decoding: try #require(Data(base64Encoded: publicContext.pem)), as: UTF8.self)
            let publicKey = try PublicKey(pem: certificate)
            publicKeys[key.key_id] = publicKey
            try store.create(KeyRecord(kid: key.key_id, algorithm: publicKey.algorithm, mode: .configRootKey, publicKeyPEM: certificate,
                                       privateKeyContext: PrivateKeyContext(keyID: "root", wrappedKey: context.wrapped)))
        }
        let source = RegistryKeySource(store: store, managers: DelegatingKeyManager(
            default: BasicKeyManager(rootKey: try RootKey(hex: file.root_key_hex))))
        for key in file.keys {
            let result = try await roundTrip(source, kid: key.key_id, publicKey: publicKeys[key.key_id]!)
            #expect(result.status == "permit", "\(key.key_id): \(result.error ?? "")")
        }
        #expect(source.cache?.counters.loads == 3)
    }
}
