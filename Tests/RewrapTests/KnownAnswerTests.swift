import Foundation
import RewrapClient
import RewrapCrypto
@testable import RewrapEngine
import RewrapWire
import Testing

/// Fixed keys, DEKs and nonces for every byte layout (vectors from pyca/cryptography).
@Suite struct KnownAnswerTests {
    let vectors = Fixtures.vectors

    @Test func saltIsSHA256OfTDF() {
        #expect(hexString(CryptoPrimitives.tdfSalt) == "aa17cf44585fe15fd634c27b9512d842b42af1bac6178d92161edb4e2abf8197")
        #expect(hexString(CryptoPrimitives.tdfSalt) == vectors.salt)
    }

    /// Spec §1.2: the golden manifest hash is base64 of the lowercase hex of HMAC
    /// 1949d4f5…6ddd12; our decoder must turn it into those 32 bytes and our encoder back.
    @Test func bindingFormOfTheSpecGolden() throws {
        let manifestHash = "MTk0OWQ0ZjUwYWY5YzE1ZDM1NWVkZjE5YTQ5MGM1N2M3ZmZmZjUzYjk5MTJiZWU4NTFhYzlhNjdmZTZkZGQxMg=="
        #expect(manifestHash.count == 88)
        let decoded = try #require(Base64.decode(manifestHash, options: .strictStandard))
        #expect(decoded.count == 64)
        var buffer = decoded
        let ok = buffer.withUnsafeMutableBytes { Hex.decodeInPlace($0, count: 64) }
        #expect(ok)
        let mac = Array(buffer[0..<32])
        #expect(hexString(mac).hasPrefix("1949d4f5"))
        #expect(hexString(mac).hasSuffix("6ddd12"))
        #expect(Base64.encode(Array(hexString(mac).utf8)) == manifestHash)
    }

    @Test func bindingMatchesIndependentHMAC() throws {
        for vector in vectors.rsa + vectors.ec.map({ .init(alg: $0.alg, key: $0.key, dek: $0.dek, wrappedKey: $0.wrappedKey, binding: $0.binding) }) {
            let binding = try TDFWriter().policyBinding(dek: SecureBytes(copying: hex(vector.dek)), policyBase64: vectors.policy)
            #expect(binding.hash == vector.binding)
            #expect(binding.algorithm == "HS256")
        }
    }

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

    @Test func ecWrappedKeysAreByteExact() async throws {
        for vector in vectors.ec {
            let algorithm = try #require(KeyAlgorithm(vector.alg))
            let fixed = TDFWriter.FixedRandomness(ephemeralKey: Fixtures.privateKey(vector.ephemeralKey), nonce: hex(vector.nonce))
            let kao = try TDFWriter().keyAccess(
                dek: SecureBytes(copying: hex(vector.dek)), policyBase64: vectors.policy, kas: Fixtures.kas(algorithm), fixed: fixed)
            #expect(Base64.encode(kao.wrappedKey) == vector.wrappedKey, "\(vector.alg) wrappedKey")
            #expect(kao.ephemeralPublicKey == vector.ephemeralPublicKey, "\(vector.alg) ephemeral PEM")
            #expect(kao.policyBinding?.hash == vector.binding)
            #expect(kao.keyType == "ec-wrapped")
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
