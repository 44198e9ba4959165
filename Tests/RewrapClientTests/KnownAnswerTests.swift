import Foundation
import RewrapClient
import RewrapCrypto
import RewrapTestSupport
import RewrapWire
import Testing

/// The writer and the client-side unwrap against fixed keys, DEKs and nonces (vectors from
/// pyca/cryptography): every byte layout the client produces or opens.
@Suite struct KnownAnswerTests {
    let vectors = Fixtures.vectors

    static func kas(_ algorithm: KeyAlgorithm) -> TDFWriter.KASPublicKey {
        TDFWriter.KASPublicKey(kid: algorithm.description, key: Fixtures.publicKey(Fixtures.kasKeyName(algorithm)))
    }

    @Test func bindingMatchesIndependentHMAC() throws {
        for vector in vectors.rsa + vectors.ec.map({ .init(alg: $0.alg, key: $0.key, dek: $0.dek, wrappedKey: $0.wrappedKey, binding: $0.binding) }) {
            let binding = try TDFWriter().policyBinding(dek: SecureBytes(copying: hex(vector.dek)), policyBase64: vectors.policy)
            #expect(binding.hash == vector.binding)
            #expect(binding.algorithm == "HS256")
        }
    }

    @Test func ecWrappedKeysAreByteExact() async throws {
        for vector in vectors.ec {
            let algorithm = try #require(KeyAlgorithm(vector.alg))
            let fixed = TDFWriter.FixedRandomness(ephemeralKey: Fixtures.privateKey(vector.ephemeralKey), nonce: hex(vector.nonce))
            let kao = try TDFWriter().keyAccess(
                dek: SecureBytes(copying: hex(vector.dek)), policyBase64: vectors.policy, kas: Self.kas(algorithm), fixed: fixed)
            #expect(Base64.encode(kao.wrappedKey) == vector.wrappedKey, "\(vector.alg) wrappedKey")
            #expect(kao.ephemeralPublicKey == vector.ephemeralPublicKey, "\(vector.alg) ephemeral PEM")
            #expect(kao.policyBinding?.hash == vector.binding)
            #expect(kao.keyType == "ec-wrapped")
        }
    }

    @Test func clientOpensIndependentSessionVectors() throws {
        for vector in vectors.session {
            let dek = try TDFWriter().unwrapResult(
                Base64.decode(vector.kasWrappedKey, options: .protoJSON)!,
                sessionPublicKeyPEM: Fixtures.pem(vector.sessionKey, "public"),
                clientPrivateKey: Fixtures.privateKey(vector.clientKey))
            #expect(dek.copyBytes() == hex(vector.dek), "\(vector.alg)")
        }
    }
}
