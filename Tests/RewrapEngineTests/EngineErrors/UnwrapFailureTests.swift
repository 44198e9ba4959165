import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// Unwrap failures: secret-dependent, so all exactly "bad request".
    @Suite struct UnwrapFailureTests: EngineErrorSuite {
        @Test func unknownKid() async throws {
            for algorithm in [KeyAlgorithm.rsa2048, .ecP256] {
                var (kao, _) = try makeKAO(algorithm)
                kao.kid = "no-such-kid"
                #expect(try await Self.single(kao).error == Self.badRequest, "\(algorithm)")
            }
        }

        @Test func wrongKey() async throws {
            // RSA-2048 ciphertext sent to the RSA-3072 key, to an EC key; EC KAO to the other curve's kid.
            for (made, kid) in [(KeyAlgorithm.rsa2048, "rsa:3072"), (.rsa2048, "ec:secp256r1"), (.ecP256, "rsa:2048"), (.ecP384, "ec:secp521r1")] {
                var (kao, _) = try makeKAO(made)
                kao.kid = kid
                #expect(try await Self.single(kao).error == Self.badRequest, "\(made) → \(kid)")
            }
            // Same algorithm, different key.
            let other = try PrivateKey.generate(.rsa2048)
            let keys = TestKeySource([KASKey(kid: "rsa:2048", privateKey: other)])
            let (kao, _) = try makeKAO(.rsa2048)
            #expect(try await Self.single(kao, engine: engine(keys)).error == Self.badRequest)
        }

        @Test(arguments: KeyAlgorithm.kasAlgorithms)
        func corruptedCiphertext(_ algorithm: KeyAlgorithm) async throws {
            for position in [0, 13, -1] {
                var (kao, _) = try makeKAO(algorithm)
                let index = position < 0 ? kao.wrappedKey.count - 1 : position
                kao.wrappedKey[index] ^= 0x40
                #expect(try await Self.single(kao).error == Self.badRequest, "\(algorithm) byte \(index)")
            }
        }

        @Test(arguments: KeyAlgorithm.kasAlgorithms)
        func wrappedKeyTruncatedByOneByte(_ algorithm: KeyAlgorithm) async throws {
            var (kao, _) = try makeKAO(algorithm)
            kao.wrappedKey.removeLast()
            #expect(try await Self.single(kao).error == Self.badRequest, "\(algorithm)")
            kao.wrappedKey += [0, 0]  // one byte too long
            #expect(try await Self.single(kao).error == Self.badRequest, "\(algorithm)")
        }

        @Test func wrappedKeyOverTheSizeLimit() async throws {
            var (kao, _) = try makeKAO(.rsa2048)
            kao.wrappedKey = [UInt8](repeating: 0xA5, count: RewrapConfiguration().limits.maxWrappedKeyBytes + 1)
            let error = try #require(try await Self.single(kao).error)
            #expect(error == Self.invalidArgument("wrapped key exceeds the size limit"))
            #expect(!error.contains("bad request"))

            let (rsa, _) = try makeKAO(.rsa2048)
            let small = engine { $0.limits.maxWrappedKeyBytes = 255 }
            #expect(try await Self.single(rsa, engine: small).error == Self.invalidArgument("wrapped key exceeds the size limit"))
            let exact = engine { $0.limits.maxWrappedKeyBytes = 256 }
            #expect(try await Self.single(rsa, engine: exact).status == "permit")
        }
    }
}
