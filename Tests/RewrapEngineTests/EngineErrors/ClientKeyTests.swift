import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// The client public key (top-level errors) and EC client sessions.
    @Suite struct ClientKeyTests: EngineErrorSuite {
        @Test func clientKeyProblemsAreTopLevel() async throws {
            let (kao, _) = try makeKAO(.rsa2048)
            let cases: [(String, String, RewrapRequestError)] = [
                ("empty", "", .clientPublicKeyFailure),
                ("garbage", "definitely not a key", .clientPublicKeyFailure),
                ("bad PEM body", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", .clientPublicKeyParseFailure),
                ("certificate", Self.certificatePEM, .clientPublicKeyParseFailure),
                ("private key", Fixtures.pem("client-rsa2048"), .clientPublicKeyParseFailure),
                ("off-curve P-256", Self.pemWrap(try Self.offCurveP256SPKI()), .clientPublicKeyParseFailure),
                ("P-384 point under P-256", Self.pemWrap(try Self.p384PointUnderP256Header()), .clientPublicKeyParseFailure),
                ("RSA-512", Self.rsa512PublicPEM, .clientPublicKeyUnsupportedType),
                ("Ed25519", Self.ed25519PublicPEM, .clientPublicKeyUnsupportedType),
            ]
            for (label, pem, expected) in cases {
                let error = await Self.rewrapError { _ = try await engine().rewrap(makeRequest(client: pem, kaos: [kao])) }
                #expect(error == expected, "\(label)")
                #expect(error?.code == .invalidArgument, "\(label)")
            }
            // secp256k1: OpenSSL parses the SPKI, then the engine refuses the curve, so "unsupported
            // type". (Go's x509.ParsePKIXPublicKey already fails on the curve, so the Go KAS says
            // "parse failure": both are the same top-level invalid_argument; this pins the
            // engine's answer so that a change to it is deliberate.)
            let k1 = await Self.rewrapError { _ = try await engine().rewrap(makeRequest(client: Self.secp256k1PublicPEM, kaos: [kao])) }
            #expect(k1 == .clientPublicKeyUnsupportedType)
            #expect(k1?.code == .invalidArgument)
        }

        @Test func clientKeyOverThePEMLimitIsResourceExhausted() async throws {
            let (kao, _) = try makeKAO(.rsa2048)
            let e = engine { $0.limits.maxPEMBytes = 200 }
            let error = await Self.rewrapError { _ = try await e.rewrap(makeRequest(client: Self.rsaClientPEM, kaos: [kao])) }
            #expect(error?.code == .resourceExhausted)
        }

        @Test(arguments: [KeyAlgorithm.ecP256, .ecP384, .ecP521])
        func ecClientSessionOpens(_ clientAlgorithm: KeyAlgorithm) async throws {
            let clientName = Fixtures.clientKeyName(clientAlgorithm)
            let (rsa, rsaDEK) = try makeKAO(.rsa2048)
            let (ec, ecDEK) = try makeKAO(.ecP384)
            let response = try await engine().rewrap(makeRequest(client: Fixtures.pem(clientName, "public"), kaos: [rsa, ec]))
            #expect(response.sessionPublicKey.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
            let session = try PublicKey(pem: response.sessionPublicKey, allowCertificate: false)
            #expect(session.algorithm == clientAlgorithm)
            let client = Fixtures.privateKey(clientName)
            #expect(Self.opens(response, kao: "kao-0", to: rsaDEK, with: client))
            #expect(Self.opens(response, kao: "kao-1", to: ecDEK, with: client))
            #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-0")?.kasWrappedKey?.count == 60)
        }

        @Test func ecClientWithECDisabledFailsEveryKAO() async throws {
            let (k0, _) = try makeKAO(.rsa2048)
            let (k1, _) = try makeKAO(.rsa4096)
            let e = engine { $0.ecWrappedEnabled = false }
            let response = try await e.rewrap(makeRequest(client: Fixtures.pem("client-secp256r1", "public"), kaos: [k0, k1]))
            #expect(response.sessionPublicKey.isEmpty)
            for id in ["kao-0", "kao-1"] {
                #expect(response.result(policyID: "policy", keyAccessObjectID: id)?.error == Self.invalidRequest)
            }

            // Same on the path that asks the authorizer first.
            let secret = TDFWriter.policyBase64(attributes: [Self.attributeFQN])
            let (s0, _) = try makeKAO(.rsa2048, policy: secret)
            let permitting = engine(authorizer: PermitAll()) { $0.ecWrappedEnabled = false }
            let second = try await permitting.rewrap(makeRequest(client: Fixtures.pem("client-secp384r1", "public"), policy: secret, kaos: [s0]))
            #expect(second.result(policyID: "policy", keyAccessObjectID: "kao-0")?.error == Self.invalidRequest)
            #expect(second.sessionPublicKey.isEmpty)
        }

        /// Go fails *all* KAOs with `invalid request` when the session key cannot be used
        /// (`failAllKAOsWithAuditOutcome` overwrites every result's error, spec §4.4 scope "all
        /// KAOs"), including KAOs that had already failed or been denied.
        @Test func ecClientWithECDisabledOverridesEarlierPerKAOErrors() async throws {
            let (good, _) = try makeKAO(.rsa2048)
            var (corrupt, _) = try makeKAO(.rsa2048)
            corrupt.wrappedKey[3] ^= 1
            let (ecKAO, _) = try makeKAO(.ecP256)
            let e = engine { $0.ecWrappedEnabled = false }
            let response = try await e.rewrap(Self.request(client: Fixtures.pem("client-secp256r1", "public"),
                                                           [("good", good), ("corrupt", corrupt), ("ec", ecKAO), ("nil", nil)]))
            for id in ["good", "corrupt", "ec", "nil"] {
                #expect(response.result(policyID: "policy", keyAccessObjectID: id)?.error == Self.invalidRequest, "\(id)")
            }
        }
    }
}
