import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapKeyRing
import RewrapRegistry
import RewrapWire
import Testing

/// OpenTDF's own registry fixtures (spec §8.2): private keys wrapped by the development root
/// key exactly as the platform stores them. Needs `../shared/vectors` beside the repository.
@Suite struct InteropTests {
    struct FixtureFile: Decodable {
        struct Key: Decodable {
            var key_id: String
            var key_algorithm: Int
            var private_key_ctx: String
            var public_key_ctx: String
        }
        var root_key_hex: String
        var algorithm_enum: [String: String]
        var keys: [Key]
    }

    struct PrivateContext: Decodable {
        var wrapped: String
        init(from decoder: any Decoder) throws {
            // The fixtures use both spellings, as protojson accepts both.
            struct Keys: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
            let c = try decoder.container(keyedBy: Keys.self)
            wrapped = try c.decodeIfPresent(String.self, forKey: Keys(stringValue: "wrappedKey"))
                ?? c.decode(String.self, forKey: Keys(stringValue: "wrapped_key"))
        }
    }

    struct PublicContext: Decodable { var pem: String }

    static let path = Fixtures.sharedVectors.appendingPathComponent("opentdf-registry-fixtures.json")
    static let available = FileManager.default.fileExists(atPath: path.path)

    @Test(.enabled(if: available, "skipped: ../shared/vectors/opentdf-registry-fixtures.json is not beside the repository"))
    func registryFixtureKeysUnwrapAndRewrap() async throws {
        let file = try JSONDecoder().decode(FixtureFile.self, from: Data(contentsOf: Self.path))
        let rootKey = try RootKey(hex: file.root_key_hex)
        #expect(file.keys.count == 3)
        var ring: [KASKey] = []
        var publicKeys: [String: PublicKey] = [:]
        for key in file.keys {
            let context = try JSONDecoder().decode(PrivateContext.self, from: #require(Data(base64Encoded: key.private_key_ctx)))
            let pem = try rootKey.unwrap(wrappedKeyBase64: context.wrapped)
            #expect(pem.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            let privateKey = try PrivateKey(pem: pem)
            #expect(privateKey.algorithm.description == file.algorithm_enum[String(key.key_algorithm)], "\(key.key_id)")
            // The registry's public key is base64 of a CERTIFICATE PEM; it must match the private key.
            let publicContext = try JSONDecoder().decode(PublicContext.self, from: #require(Data(base64Encoded: key.public_key_ctx)))
            let certificatePEM = try #require(Data(base64Encoded: publicContext.pem)).map { $0 }
            let certificateKey = try PublicKey(pem: String(decoding: certificatePEM, as: UTF8.self))
            #expect(try certificateKey.spkiDER() == privateKey.publicKey.spkiDER(), "\(key.key_id) certificate matches")
            ring.append(KASKey(kid: key.key_id, privateKey: privateKey))
            publicKeys[key.key_id] = certificateKey
        }
        // Writers encrypt to the certificate; the engine unwraps with the root-unwrapped key.
        let engine = engine(try KeyRing(keys: ring))
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
