import Foundation
import RewrapClient
import RewrapCrypto
@testable import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

/// Fixed keys, DEKs and nonces through the engine: the independently made vectors
/// (pyca/cryptography) open, and the EC session layout is byte exact.
@Suite struct KnownAnswerTests {
    let vectors = Fixtures.vectors

    @Test func rsaWrappedKeysOpenInTheEngine() async throws {
        let client = Fixtures.privateKey("client-rsa2048")
        for vector in vectors.rsa {
            let kao = KeyAccess(keyType: "wrapped", kid: vector.alg, wrappedKey: Base64.decode(vector.wrappedKey, options: .protoJSON)!,
                                policyBinding: PolicyBinding(hash: vector.binding))
            let request = makeRequest(client: Fixtures.pem("client-rsa2048", "public"), kaos: [kao])
            let response = try await engine().rewrap(request)
            let dek = try TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: "kao-0", clientPrivateKey: client)
            #expect(dek.copyBytes() == hex(vector.dek), "\(vector.alg)")
        }
    }

    @Test func ecWrappedVectorsOpenInTheEngine() async throws {
        let client = Fixtures.privateKey("client-rsa2048")
        for vector in vectors.ec {
            let kao = KeyAccess(keyType: "ec-wrapped", kid: vector.alg, wrappedKey: Base64.decode(vector.wrappedKey, options: .protoJSON)!,
                                policyBinding: PolicyBinding(hash: vector.binding), ephemeralPublicKey: vector.ephemeralPublicKey)
            let request = makeRequest(client: Fixtures.pem("client-rsa2048", "public"), kaos: [kao])
            let response = try await engine().rewrap(request)
            let dek = try TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: "kao-0", clientPrivateKey: client)
            #expect(dek.copyBytes() == hex(vector.dek), "\(vector.alg)")
        }
    }

    /// Spec §4.2: EC client session, K = HKDF(ECDH(session, client)), nonce ‖ GCM(K, DEK) ‖ tag.
    @Test func ecSessionRewrapIsByteExact() throws {
        for vector in vectors.session {
            let session = Fixtures.privateKey(vector.sessionKey)
            let client = Fixtures.publicKey(vector.clientKey)
            let worker = CryptoWorker()
            let encryptor = try ResponseEncryptor.ecSession(session, client: client, worker: worker)
            let sealed = try withBytes(hex(vector.dek)) { (dek) throws(CryptoError) in
                try encryptor.seal(dek, nonce: hex(vector.nonce), worker: worker)
            }
            #expect(Base64.encode(sealed) == vector.kasWrappedKey, "\(vector.alg)")
            #expect(encryptor.sessionPublicKeyPEM == Fixtures.pem(vector.sessionKey, "public"))
        }
    }
}
