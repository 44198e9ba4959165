import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// Kid-free `wrapped` KAOs against the candidates the key source offers (spec §5 step 8b).
    /// Which keys a keyring offers is the keyring's rule, tested in RewrapKeyRingTests.
    @Suite struct LegacyKeyTests: EngineErrorSuite {
        @Test func kidFreeWrappedWithoutLegacyKeys() async throws {
            let keys = TestKeySource([
                KASKey(kid: "r3", privateKey: Fixtures.privateKey("kas-rsa3072")),
                KASKey(kid: "e1", privateKey: Fixtures.privateKey("kas-secp256r1")),
            ])
            #expect(keys.legacyKeys().isEmpty)
            let (kao, _) = try makeKAO(.rsa2048, includeKid: false)
            #expect(kao.kid.isEmpty)
            let result = try await Self.single(kao, engine: engine(keys))
            #expect(result.error == Self.invalidArgument("no legacy key IDs found"))
        }

        /// Every candidate is tried, in the order given, and only the candidates: a kid-free KAO
        /// for a key the source does not offer fails `bad request`, and EC has no fallback
        /// (spec §9.10).
        @Test func kidFreeWrappedKAOsTryOnlyTheSourcesCandidates() async throws {
            let first = Fixtures.privateKey("kas-rsa2048")
            let second = try PrivateKey.generate(.rsa2048)
            let offered = try PrivateKey.generate(.rsa2048)
            let candidates = [KASKey(kid: "a", privateKey: first), KASKey(kid: "b", privateKey: second)]
            let keys = TestKeySource(candidates + [
                KASKey(kid: "current", privateKey: offered),
                KASKey(kid: "e", privateKey: Fixtures.privateKey("kas-secp256r1")),
            ], legacy: candidates)
            let (toA, dekA) = try Self.kao(to: Self.kasKey(first, kid: "a"), includeKid: false)
            let (toB, dekB) = try Self.kao(to: Self.kasKey(second, kid: "b"), includeKid: false)
            let (toCurrent, _) = try Self.kao(to: Self.kasKey(offered, kid: "current"), includeKid: false)
            let (withKid, dekWithKid) = try Self.kao(to: Self.kasKey(offered, kid: "current"))
            let (ecNoKid, _) = try makeKAO(.ecP256, includeKid: false)
            let response = try await engine(keys).rewrap(Self.request([
                ("a", toA), ("b", toB), ("current", toCurrent), ("kid", withKid), ("ec", ecNoKid),
            ]))
            #expect(Self.opens(response, kao: "a", to: dekA))
            #expect(Self.opens(response, kao: "b", to: dekB), "the second candidate is tried after the first fails")
            #expect(response.result(policyID: "policy", keyAccessObjectID: "current")?.error == Self.badRequest)
            #expect(Self.opens(response, kao: "kid", to: dekWithKid), "with its kid the same key opens")
            #expect(response.result(policyID: "policy", keyAccessObjectID: "ec")?.error == Self.badRequest)
        }
    }
}
