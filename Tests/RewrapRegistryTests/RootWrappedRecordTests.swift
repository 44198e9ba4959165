import Foundation
import RewrapCrypto
import RewrapRegistry
import Testing

/// `KeyRecord.rootWrapped`: the one way a CONFIG_ROOT_KEY record is built from a private key.
@Suite struct RootWrappedRecordTests {
    @Test(arguments: [KeyAlgorithm.rsa2048, .ecP384])
    func recordOpensToItsKey(_ algorithm: KeyAlgorithm) throws {
        let rootKey = try RootKey(hex: String(repeating: "a7", count: 32))
        let key = try PrivateKey.generate(algorithm)
        let record = try KeyRecord.rootWrapped(kid: "k1", privateKey: key, rootKey: rootKey, legacy: algorithm == .rsa2048)
        #expect(record.kid == "k1")
        #expect(record.algorithm == algorithm)
        #expect(record.mode == .configRootKey)
        #expect(record.legacy == (algorithm == .rsa2048))
        #expect(record.providerConfig == nil)
        #expect(record.publicKeyPEM == (try key.publicKey.pem()))
        let context = try #require(record.privateKeyContext)
        #expect(context.keyID == "root")
        try record.validate()
        let opened = try PrivateKey(pem: rootKey.unwrap(wrappedKeyBase64: context.wrappedKey))
        #expect(try opened.publicKey.spkiDER() == key.publicKey.spkiDER())
        // Another root key cannot open it.
        let other = try RootKey(hex: String(repeating: "b8", count: 32))
        #expect(throws: RootKeyError.unwrapFailed) { try other.unwrap(wrappedKeyBase64: context.wrappedKey) }
    }
}
