import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import Testing

/// A `.tdf` written by the client side, its KAOs rewrapped by the engine.
@Suite struct ArchiveRewrapTests {
    static let rsaKey = try! PrivateKey.generate(.rsa2048)
    static let ecKey = try! PrivateKey.generate(.ecP256)

    static var kas: [TDFWriter.KASPublicKey] {
        [
            TDFWriter.KASPublicKey(kid: "r1", key: rsaKey.publicKey, url: "https://kas.example.com/kas"),
            TDFWriter.KASPublicKey(kid: "e1", key: ecKey.publicKey, url: "https://kas.example.com/kas?a=<1>&b=2"),
        ]
    }

    /// Each archive KAO opens, with its KAS private key, to the archive's DEK: RSA directly,
    /// both through the engine and a client session key.
    @Test func archiveKAOsUnwrapToTheDEK() async throws {
        let built = try TDFArchive.write(plaintext: [1, 2, 3], kas: Self.kas)
        let manifest = try TDFArchive.readManifest(built.archive)
        let direct = try Self.rsaKey.decryptOAEP(manifest.keyAccess[0].wrappedKey, hash: .sha1)
        #expect(direct.copyBytes() == built.dek.copyBytes())

        let keys = TestKeySource([KASKey(kid: "r1", privateKey: Self.rsaKey), KASKey(kid: "e1", privateKey: Self.ecKey)])
        let engine = RewrapEngine(keys: keys, authorizer: DenyAttributedPolicies(), configuration: RewrapConfiguration())
        let client = try PrivateKey.generate(.ecP256)
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: try client.publicKey.pem(),
            policies: [(id: "policy", body: manifest.policyBase64, kaos: manifest.keyAccess)])
        let response = try await engine.rewrap(request)
        for index in manifest.keyAccess.indices {
            let dek = try TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: client)
            #expect(dek.copyBytes() == built.dek.copyBytes(), "KAO \(index)")
            #expect(manifest.rootSignatureMatches(dek: dek), "KAO \(index)")
        }
    }
}
