import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapKeyRing
import RewrapTestSupport
import RewrapWire
import Testing

/// The keyring's legacy candidates (OpenTDF's provider.go rule: legacy-marked RSA-2048 keys, or
/// every RSA-2048 key when none is marked), checked through rewraps of kid-free KAOs.
@Suite struct KeyRingLegacyTests: RewrapExpectations {
    /// Only RSA-2048 keys marked legacy are tried; a legacy flag on another algorithm is ignored
    /// (Go: `k.Algorithm == RSA2048 && k.Legacy`).
    @Test func legacyFlagOnANonRSA2048KeyDoesNotMakeACandidate() async throws {
        let ring = try KeyRing(keys: [
            KASKey(kid: "r4", privateKey: Fixtures.privateKey("kas-rsa4096"), legacy: true),
            KASKey(kid: "r2", privateKey: Fixtures.privateKey("kas-rsa2048")),
        ])
        #expect(ring.legacyKeys().isEmpty)
        let (kao, _) = try Self.kao(to: TDFWriter.KASPublicKey(kid: "r4", key: Fixtures.publicKey("kas-rsa4096")), includeKid: false)
        #expect(try await Self.single(kao, engine: engine(ring)).error == Self.invalidArgument("no legacy key IDs found"))
    }

    @Test func kidFreeKAOOpensWithTheLegacyKey() async throws {
        let current = try PrivateKey.generate(.rsa2048)
        let ring = try KeyRing(keys: [
            KASKey(kid: "current", privateKey: current),
            KASKey(kid: "old", privateKey: Fixtures.privateKey("kas-rsa2048"), legacy: true),
        ])
        #expect(ring.legacyKeys().map(\.kid) == ["old"])
        let (legacyKAO, legacyDEK) = try makeKAO(.rsa2048, includeKid: false)
        let (currentKAO, _) = try Self.kao(to: Self.kasKey(current, kid: "current"), includeKid: false)
        let (kidKAO, kidDEK) = try Self.kao(to: Self.kasKey(current, kid: "current"))
        let response = try await engine(ring).rewrap(Self.request([("legacy", legacyKAO), ("current", currentKAO), ("kid", kidKAO)]))
        #expect(Self.opens(response, kao: "legacy", to: legacyDEK))
        // Once any key is marked legacy, unmarked RSA-2048 keys are not candidates.
        #expect(response.result(policyID: "policy", keyAccessObjectID: "current")?.error == Self.badRequest)
        #expect(Self.opens(response, kao: "kid", to: kidDEK))
    }

    /// When no key is marked legacy, every RSA-2048 key is a candidate, in key order, and only
    /// RSA-2048 keys.
    @Test func withoutLegacyMarksEveryRSA2048KeyIsACandidate() async throws {
        let second = try PrivateKey.generate(.rsa2048)
        let ring = try KeyRing(keys: [
            KASKey(kid: "a", privateKey: Fixtures.privateKey("kas-rsa2048")),
            KASKey(kid: "r3", privateKey: Fixtures.privateKey("kas-rsa3072")),
            KASKey(kid: "b", privateKey: second),
            KASKey(kid: "e", privateKey: Fixtures.privateKey("kas-secp256r1")),
        ])
        #expect(ring.legacyKeys().map(\.kid) == ["a", "b"])
        let (toA, deKA) = try makeKAO(.rsa2048, includeKid: false)
        let (toB, dekB) = try Self.kao(to: Self.kasKey(second, kid: "b"), includeKid: false)
        let (to3072, _) = try makeKAO(.rsa3072, includeKid: false)
        let (ecNoKid, _) = try makeKAO(.ecP256, includeKid: false)
        let response = try await engine(ring).rewrap(Self.request([("a", toA), ("b", toB), ("r3", to3072), ("ec", ecNoKid)]))
        #expect(Self.opens(response, kao: "a", to: deKA))
        #expect(Self.opens(response, kao: "b", to: dekB))
        #expect(response.result(policyID: "policy", keyAccessObjectID: "r3")?.error == Self.badRequest)
        // No legacy fallback for EC (spec §9.10).
        #expect(response.result(policyID: "policy", keyAccessObjectID: "ec")?.error == Self.badRequest)
    }
}
