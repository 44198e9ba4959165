import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapRegistry
import RewrapTestSupport
import RewrapWire
import Testing

/// OpenTDF's own registry fixtures (spec §8.2): private keys wrapped by the development root
/// key exactly as the platform stores them. Needs `../shared/vectors` beside the repository (or
/// `REWRAP_SHARED_VECTORS`); without it the fixture test is skipped with the reason printed.
@Suite struct InteropTests {
    typealias Registry = OpenTDFRegistryFixtures

    @Test(.enabled(if: Registry.available, Comment(rawValue: Registry.skipReason)))
    func registryFixtureKeysUnwrapAndRewrap() async throws {
        let file = try Registry.load()
        let rootKey = try RootKey(hex: file.root_key_hex)
        #expect(file.keys.count == 3)
        var ring: [KASKey] = []
        var publicKeys: [String: PublicKey] = [:]
        for key in file.keys {
            let context = try JSONDecoder().decode(Registry.PrivateContext.self, from: #require(Data(base64Encoded: key.private_key_ctx)))
            let pem = try rootKey.unwrap(wrappedKeyBase64: context.wrapped)
            #expect(pem.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            let privateKey = try PrivateKey(pem: pem)
            #expect(privateKey.algorithm.description == file.algorithm_enum[String(key.key_algorithm)], "\(key.key_id)")
            // The registry's public key is base64 of a CERTIFICATE PEM; it must match the private key.
            let publicContext = try JSONDecoder().decode(Registry.PublicContext.self, from: #require(Data(base64Encoded: key.public_key_ctx)))
            let certificatePEM = try #require(Data(base64Encoded: publicContext.pem)).map { $0 }
            let certificateKey = try PublicKey(pem: String(decoding: certificatePEM, as: UTF8.self))
            #expect(try certificateKey.spkiDER() == privateKey.publicKey.spkiDER(), "\(key.key_id) certificate matches")
            ring.append(KASKey(kid: key.key_id, privateKey: privateKey))
            publicKeys[key.key_id] = certificateKey
        }
        // Writers encrypt to the certificate; the engine unwraps with the root-unwrapped key.
        let engine = engine(TestKeySource(ring))
        let client = try PrivateKey.generate(.ecP256)
        let writer = TDFWriter()
        let policy = TDFWriter.policyBase64()
        var deks: [[UInt8]] = []
        var kaos: [KeyAccess] = []
        for key in file.keys {
            let dek = try TDFWriter.makeDEK()
            deks.append(dek.copyBytes())
            kaos.append(try writer.keyAccess(dek: dek, policyBase64: policy,
                                             kas: .init(kid: key.key_id, key: publicKeys[key.key_id]!)))
        }
        let response = try await engine.rewrap(makeRequest(client: client.publicKey.pem(), policy: policy, kaos: kaos))
        for index in kaos.indices {
            let dek = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: client)
            #expect(dek.copyBytes() == deks[index], "\(file.keys[index].key_id)")
        }
    }

    @Test func wrongRootKeyDoesNotOpen() throws {
        let rootKey = try RootKey(hex: String(repeating: "ab", count: 32))
        let wrapped = try rootKey.wrap(SecureBytes(copying: Array("-----BEGIN PRIVATE KEY-----".utf8)))
        #expect(try rootKey.unwrap(wrappedKeyBase64: wrapped).copyBytes() == Array("-----BEGIN PRIVATE KEY-----".utf8))
        let other = try RootKey(hex: String(repeating: "cd", count: 32))
        #expect(throws: RootKeyError.unwrapFailed) { try other.unwrap(wrappedKeyBase64: wrapped) }
        #expect(throws: RootKeyError.invalidRootKey) { try RootKey(hex: "abcd") }
        #expect(throws: RootKeyError.invalidRootKey) { try RootKey(hex: String(repeating: "zz", count: 32)) }
    }
}
