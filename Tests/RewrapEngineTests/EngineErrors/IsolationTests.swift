import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// Failures stay with their KAO in a large mixed request.
    @Suite struct IsolationTests: EngineErrorSuite {
        @Test func mixedRequestIsolatesFailuresPerKAO() async throws {
            let secret = TDFWriter.policyBase64(attributes: ["https://example.com/attr/a/value/allow"])
            var entries: [(String, KeyAccess?)] = []
            var expectedDEK: [String: [UInt8]] = [:]
            var expectedError: [String: String] = [:]
            for round in 0..<3 {
                for algorithm in KeyAlgorithm.kasAlgorithms {
                    let (kao, dek) = try makeKAO(algorithm, policy: secret)
                    let id = "good-\(algorithm)-\(round)"
                    entries.append((id, kao))
                    expectedDEK[id] = dek
                }
                var (corrupt, _) = try makeKAO(.ecP256, policy: secret)
                corrupt.wrappedKey[20] ^= 0x80
                var (unknown, _) = try makeKAO(.rsa3072, policy: secret)
                unknown.kid = "retired"
                var (mismatch, _) = try makeKAO(.rsa4096, policy: secret)
                mismatch.policyBinding = try TDFWriter().policyBinding(dek: try TDFWriter.makeDEK(), policyBase64: secret)
                var (unsupported, _) = try makeKAO(.rsa2048, policy: secret)
                unsupported.keyType = "remote"
                var (badEphemeral, _) = try makeKAO(.ecP521, policy: secret)
                badEphemeral.ephemeralPublicKey = Fixtures.pem("kas-rsa2048", "public")
                for (id, kao, error) in [
                    ("corrupt-\(round)", corrupt, Self.badRequest), ("unknown-\(round)", unknown, Self.badRequest),
                    ("mismatch-\(round)", mismatch, Self.badRequest),
                    ("unsupported-\(round)", unsupported, Self.invalidArgument("unsupported key type")),
                    ("ephemeral-\(round)", badEphemeral, Self.invalidArgument("ephemeral key is not EC")),
                ] {
                    entries.append((id, kao))
                    expectedError[id] = error
                }
                entries.append(("nil-\(round)", nil))
                expectedError["nil-\(round)"] = Self.invalidArgument("key access object is nil")
            }
            for client in ["client-rsa2048", "client-secp256r1"] {
                let e = engine(authorizer: ByAttributeAuthorizer(obligations: [
                    "https://example.com/attr/a/value/allow": [Self.obligationFQN],
                ]))
                let response = try await e.rewrap(Self.request(client: Fixtures.pem(client, "public"), policy: secret, entries))
                let results = try #require(response.responses.first?.results)
                #expect(results.map(\.keyAccessObjectId) == entries.map(\.0), "results in request order")
                let privateKey = Fixtures.privateKey(client)
                for (id, dek) in expectedDEK {
                    #expect(Self.opens(response, kao: id, to: dek, with: privateKey), "\(client) \(id)")
                    #expect(response.result(policyID: "policy", keyAccessObjectID: id)?.requiredObligations == [Self.obligationFQN])
                }
                for (id, error) in expectedError {
                    #expect(response.result(policyID: "policy", keyAccessObjectID: id)?.error == error, "\(client) \(id)")
                    #expect(response.result(policyID: "policy", keyAccessObjectID: id)?.requiredObligations == [])
                }
            }
        }

        /// The same KAO twice is processed twice (no de-duplication, spec §5).
        @Test func duplicateKAOsAreEachRewrapped() async throws {
            let (kao, dek) = try makeKAO(.ecP256)
            let response = try await engine().rewrap(Self.request([("x", kao), ("y", kao)]))
            #expect(Self.opens(response, kao: "x", to: dek))
            #expect(Self.opens(response, kao: "y", to: dek))
        }
    }
}
