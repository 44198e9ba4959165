import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// `ec-wrapped` KAOs whose ephemeral public key is missing, malformed, of another type or curve.
    @Suite struct EphemeralKeyTests: EngineErrorSuite {
        static func ecKAO(ephemeral: String, _ algorithm: KeyAlgorithm = .ecP256) throws -> KeyAccess {
            var (kao, _) = try makeKAO(algorithm)
            kao.ephemeralPublicKey = ephemeral
            return kao
        }

        @Test func emptyEphemeralKey() async throws {
            let result = try await Self.single(try Self.ecKAO(ephemeral: ""))
            #expect(result.error == Self.invalidArgument("invalid ephemeral public key"))
        }

        @Test(arguments: [
            "-----BEGIN PUBLIC KEY-----\n%%%% not base64 %%%%\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n",  // no footer
            "-----BEGIN EC PUBLIC KEY-----\nAAAA\n-----END EC PUBLIC KEY-----\n",
        ])
        func ephemeralKeyNotPEMDecodable(_ text: String) async throws {
            let result = try await Self.single(try Self.ecKAO(ephemeral: text))
            #expect(result.error == Self.invalidArgument("invalid ephemeral public key PEM"))
        }

        @Test func ephemeralKeyThatIsNotAKeyAtAll() async throws {
            for text in ["hello, world", Self.pemWrap([0x30, 0x03, 0x02, 0x01, 0x00])] {
                let result = try await Self.single(try Self.ecKAO(ephemeral: text))
                #expect(result.error == Self.invalidArgument("invalid ephemeral public key"), "\(text)")
            }
        }

        @Test func ephemeralKeyIsRSA() async throws {
            for pem in [Fixtures.pem("kas-rsa2048", "public"), Self.rsa512PublicPEM, Self.ed25519PublicPEM] {
                let result = try await Self.single(try Self.ecKAO(ephemeral: pem))
                #expect(result.error == Self.invalidArgument("ephemeral key is not EC"))
            }
        }

        @Test func ephemeralKeyOnSecp256k1() async throws {
            let result = try await Self.single(try Self.ecKAO(ephemeral: Self.secp256k1PublicPEM))
            #expect(result.error == Self.invalidArgument("unsupported EC key size"))
        }

        @Test func ephemeralPointOffTheCurve() async throws {
            let der = try Self.offCurveP256SPKI()
            let parsed = der.withUnsafeBytes { try? PublicKey(spkiDER: $0) }
            #expect(parsed == nil, "OpenSSL must reject the off-curve point")
            let result = try await Self.single(try Self.ecKAO(ephemeral: Self.pemWrap(der)))
            #expect(result.error == Self.invalidArgument("invalid EC public key"))
        }

        @Test func ephemeralSPKIWithAPointOfAnotherCurve() async throws {
            let result = try await Self.single(try Self.ecKAO(ephemeral: Self.pemWrap(try Self.p384PointUnderP256Header())))
            #expect(result.error == Self.invalidArgument("invalid ephemeral public key"))
        }

        /// A valid P-384 ephemeral key sent with a P-256 kid cannot have produced the KAO.
        @Test func p384EphemeralForAP256Kid() async throws {
            var (kao, _) = try makeKAO(.ecP384)
            kao.kid = KeyAlgorithm.ecP256.description
            #expect(try await Self.single(kao).error == Self.badRequest)
        }

        @Test func ephemeralKeyOverTheSizeLimit() async throws {
            // The limit is shared with the client key: set it to the client PEM's size and send a
            // valid ephemeral PEM padded past it.
            let limit = Self.rsaClientPEM.utf8.count
            let pem = Fixtures.pem("kas-secp256r1-ephemeral", "public") + String(repeating: "\n", count: limit)
            let e = engine { $0.limits.maxPEMBytes = limit }
            let result = try await Self.single(try Self.ecKAO(ephemeral: pem), client: Self.rsaClientPEM, engine: e)
            #expect(result.error == Self.invalidArgument("ephemeral public key exceeds the size limit"))
            let (fits, dek) = try makeKAO(.ecP256)
            let response = try await e.rewrap(makeRequest(client: Self.rsaClientPEM, kaos: [fits]))
            #expect(Self.opens(response, kao: "kao-0", to: dek))
        }
    }
}
