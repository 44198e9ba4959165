import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapKeyRing
import RewrapWire
import Synchronization
import Testing

/// Spec §4.4, one test per engine row: the exact per-KAO `error` strings (the Go SDK classifies
/// them by substring) and the top-level `RewrapRequestError`s. Expected strings are spelled out
/// here independently of `KAOError`, so a change in the engine's rendering fails these tests.
@Suite struct EngineErrorTests {
    // MARK: Expected wire strings (spec §4.4)

    static func invalidArgument(_ desc: String) -> String {
        "invalid_argument: request error\nrpc error: code = InvalidArgument desc = \(desc)"
    }

    static func permissionDenied(_ desc: String) -> String {
        "permission_denied: request error\nrpc error: code = PermissionDenied desc = \(desc)"
    }

    static func internalError(_ desc: String) -> String {
        "internal: internal error\nrpc error: code = Internal desc = \(desc)"
    }

    static let badRequest = "invalid_argument: request error\nrpc error: code = InvalidArgument desc = bad request"
    static let forbidden = "permission_denied: request error\nrpc error: code = PermissionDenied desc = forbidden"
    static let invalidRequest = invalidArgument("invalid request")

    static let rsaClientPEM = Fixtures.pem("client-rsa2048", "public")
    static let rsaClient = Fixtures.privateKey("client-rsa2048")
    static let attributeFQN = "https://example.com/attr/classification/value/secret"
    static let obligationFQN = "https://example.com/obl/drm/value/watermark"

    // MARK: Odd keys, made once with the openssl CLI (public halves only)

    /// `openssl ecparam -name secp256k1 -genkey | openssl ec -pubout`
    static let secp256k1PublicPEM = """
        -----BEGIN PUBLIC KEY-----
        MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEXE01sSFuBV7lnmligS9sgSomQlGdrZON
        9t/mgXGfxQlHFbVQIP4vS6whFZnZJHZUna1on96wTAqzIcYJamJkCg==
        -----END PUBLIC KEY-----

        """

    /// `openssl genrsa 512 | openssl rsa -pubout`
    static let rsa512PublicPEM = """
        -----BEGIN PUBLIC KEY-----
        MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKXFiYaAOtmZXPiwX1HJ75y6BMQ3AVR8
        K92g8DHC6V8I6hfHgYsb+SDM9z2zogtMfFizr1Dtjr3WsvEuE+lmWV8CAwEAAQ==
        -----END PUBLIC KEY-----

        """

    /// `openssl genpkey -algorithm ed25519 | openssl pkey -pubout`
    static let ed25519PublicPEM = """
        -----BEGIN PUBLIC KEY-----
        MCowBQYDK2VwAyEAT/MpGJiliBlxzICE/g1AMDZZ6U/I0oiQpY0qhJITXco=
        -----END PUBLIC KEY-----

        """

    /// A self-signed P-256 certificate (`openssl req -x509 -new -key p256.pem -subj /CN=test`).
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBdDCCARmgAwIBAgIUKUjmfv3qRaJDA44TZUeP+4Dqlw8wCgYIKoZIzj0EAwIw
        DzENMAsGA1UEAwwEdGVzdDAeFw0yNjExMjkxNTI3MTRaFw0zNjExMjYxNTI3MTRa
        MA8xDTALBgNVBAMMBHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATfqyUT
        N/5t5dA77DCT81eNLjXeaWYiRHOiPDbTOqMMgw9VOTPfvDAdhZyK4nBCji2cMaQL
        xB0Qx2Iz/SfOSmrHo1MwUTAdBgNVHQ4EFgQU0xoDRfKHTXIha34i3CycmC4wM8Iw
        HwYDVR0jBBgwFoAU0xoDRfKHTXIha34i3CycmC4wM8IwDwYDVR0TAQH/BAUwAwEB
        /zAKBggqhkjOPQQDAgNJADBGAiEAu9Gvyec5WkOGyPclJrsp4/CTnYPc4sj3Ec3L
        rzs1zJYCIQDugb4tckjCnYyltDL8YM7jahz9GYXJF1vkKcQzNki8Jg==
        -----END CERTIFICATE-----

        """

    /// PEM text for a DER blob, 64-character lines, as Go writes it.
    static func pemWrap(_ der: [UInt8], label: String = "PUBLIC KEY") -> String {
        var lines: [Substring] = []
        var rest = Substring(Base64.encode(der))
        while !rest.isEmpty {
            lines.append(rest.prefix(64))
            rest = rest.dropFirst(64)
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }

    /// A P-256 SPKI whose point is not on the curve (last byte of Y flipped).
    static func offCurveP256SPKI() throws -> [UInt8] {
        var der = try PrivateKey.generate(.ecP256).publicKey.spkiDER()
        #expect(der.count == 91)
        der[der.count - 1] ^= 0x01
        return der
    }

    /// A well-formed DER SPKI claiming P-256 but carrying a 97-byte P-384 point.
    static func p384PointUnderP256Header() throws -> [UInt8] {
        let point = try PrivateKey.generate(.ecP384).publicKey.ecPoint()
        #expect(point.count == 97)
        return hex("3079" + "301306072a8648ce3d020106082a8648ce3d030107" + "036200") + point
    }

    // MARK: Helpers

    /// One policy, the given (id, KAO) entries, KAOs possibly nil.
    static func request(
        client: String = rsaClientPEM, policy: String = Fixtures.vectors.policy, policyID: String = "policy",
        _ entries: [(String, KeyAccess?)]
    ) -> UnsignedRewrapRequest {
        UnsignedRewrapRequest(
            clientPublicKey: client,
            requests: [.init(keyAccessObjects: entries.map { .init(keyAccessObjectId: $0.0, keyAccessObject: $0.1) },
                             policy: .init(id: policyID, body: policy))])
    }

    /// The result of a one-KAO request.
    static func single(
        _ kao: KeyAccess?, policy: String = Fixtures.vectors.policy, client: String = rsaClientPEM,
        engine rewrapEngine: RewrapEngine = engine()
    ) async throws -> KeyAccessRewrapResult {
        let response = try await rewrapEngine.rewrap(request(client: client, policy: policy, [("kao-0", kao)]))
        return try #require(response.result(policyID: "policy", keyAccessObjectID: "kao-0"))
    }

    /// Whether `kao` of `policy` in `response` opens to exactly `dek` (compared without printing it).
    static func opens(
        _ response: RewrapResponse, policy: String = "policy", kao: String, to dek: [UInt8], with client: PrivateKey = rsaClient
    ) -> Bool {
        guard let opened = try? TDFWriter().unwrap(response, policyID: policy, keyAccessObjectID: kao, clientPrivateKey: client)
        else { return false }
        return opened.copyBytes() == dek
    }

    static func kasKey(_ key: PrivateKey, kid: String) -> TDFWriter.KASPublicKey {
        TDFWriter.KASPublicKey(kid: kid, key: key.publicKey)
    }

    /// A KAO for a fresh DEK wrapped to any public key.
    static func kao(to kas: TDFWriter.KASPublicKey, policy: String = Fixtures.vectors.policy, includeKid: Bool = true)
        throws -> (KeyAccess, [UInt8]) {
        let dek = try TDFWriter.makeDEK()
        let kao = try TDFWriter().keyAccess(dek: dek, policyBase64: policy, kas: kas, includeKid: includeKid)
        return (kao, dek.copyBytes())
    }

    /// The request-level error `body` throws, nil if it succeeds.
    static func rewrapError(_ body: () async throws -> Void) async -> RewrapRequestError? {
        do {
            try await body()
            return nil
        } catch let error as RewrapRequestError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    // MARK: Policy body (all KAOs of that policy fail, other policies unaffected)

    @Test(arguments: [
        ("not base64", "!!!{not base64}!!!"),
        ("URL-safe alphabet", "-_" + Fixtures.vectors.policy.dropFirst(2)),
        ("unpadded", String(Fixtures.vectors.policy.dropLast())),
        ("not JSON", Base64.encode(Array("this is not json".utf8))),
        ("JSON array", Base64.encode(Array("[1,2,3]".utf8))),
        ("invalid uuid", TDFWriter.policyBase64(uuid: "not-a-uuid", attributes: [])),
        ("uuid with a bad digit", TDFWriter.policyBase64(uuid: "6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7g", attributes: [])),
        ("uuid not a string", Base64.encode(Array("{\"uuid\":42,\"body\":{\"dataAttributes\":null,\"dissem\":null}}".utf8))),
    ])
    func undecodablePolicyFailsEveryKAOOfThatPolicyOnly(_ label: String, _ badBody: String) async throws {
        let (bad0, _) = try makeKAO(.rsa2048, policy: badBody)
        let (bad1, _) = try makeKAO(.ecP256, policy: badBody)
        let (good, goodDEK) = try makeKAO(.rsa2048)
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "bad", body: badBody, kaos: [bad0, bad1]), (id: "good", body: Fixtures.vectors.policy, kaos: [good])])
        let response = try await engine().rewrap(request)
        #expect(response.result(policyID: "bad", keyAccessObjectID: "kao-0")?.error == Self.badRequest, "\(label)")
        #expect(response.result(policyID: "bad", keyAccessObjectID: "kao-1")?.error == Self.badRequest, "\(label)")
        #expect(response.result(policyID: "good", keyAccessObjectID: "kao-0")?.status == "permit", "\(label)")
        #expect(Self.opens(response, policy: "good", kao: "kao-0", to: goodDEK), "\(label)")
    }

    /// The forms Go's `uuid.Parse` accepts are accepted.
    @Test(arguments: [
        "6B2C4F5E-9C7A-4D3B-8E1F-2A3B4C5D6E7F",
        "urn:uuid:6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7f",
        "{6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7f}",
        "6b2c4f5e9c7a4d3b8e1f2a3b4c5d6e7f",
    ])
    func goUUIDFormsAreAccepted(_ uuid: String) async throws {
        let policy = TDFWriter.policyBase64(uuid: uuid, attributes: [])
        let (kao, dek) = try makeKAO(.rsa2048, policy: policy)
        let response = try await engine().rewrap(makeRequest(client: Self.rsaClientPEM, policy: policy, kaos: [kao]))
        #expect(Self.opens(response, kao: "kao-0", to: dek), "\(uuid)")
    }

    /// A policy without `uuid` (or with `null`) decodes; Go leaves the zero UUID.
    @Test func policyWithoutUUIDIsAccepted() async throws {
        for json in ["{\"body\":{\"dataAttributes\":null,\"dissem\":null}}", "{\"uuid\":null,\"body\":{}}", "{}"] {
            let policy = Base64.encode(Array(json.utf8))
            let (kao, dek) = try makeKAO(.rsa2048, policy: policy)
            let response = try await engine().rewrap(makeRequest(client: Self.rsaClientPEM, policy: policy, kaos: [kao]))
            #expect(Self.opens(response, kao: "kao-0", to: dek), "\(json)")
        }
    }

    /// Go decodes `uuid` into `uuid.UUID`, whose `UnmarshalText` runs `uuid.ParseBytes`, which
    /// rejects the empty string (invalid length 0): the policy fails `bad request` (spec §5
    /// step 7, §9.13: "`uuid` must be a valid UUID if present").
    @Test func emptyPolicyUUIDIsBadRequest() async throws {
        let policy = TDFWriter.policyBase64(uuid: "", attributes: [])
        let (kao, _) = try makeKAO(.rsa2048, policy: policy)
        let result = try await Self.single(kao, policy: policy)
        #expect(result.error == Self.badRequest)
    }

    /// Go's `encoding/json` matches object keys case-insensitively, so `DataAttributes` /
    /// `ATTRIBUTE` still name the attributes and the PDP is asked. Ignoring them would release
    /// the DEK of an attribute-protected policy without any decision.
    @Test func policyKeysMatchCaseInsensitivelyLikeGo() async throws {
        let json = "{\"UUID\":\"6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7f\",\"Body\":{\"DataAttributes\":[{\"Attribute\":\"\(Self.attributeFQN)\"}],\"dissem\":[]}}"
        let policy = Base64.encode(Array(json.utf8))
        let (kao, _) = try makeKAO(.rsa2048, policy: policy)
        let result = try await Self.single(kao, policy: policy, engine: engine(authorizer: DenyAttributedPolicies()))
        #expect(result.error == Self.forbidden)
        #expect(result.status == "fail")
    }

    /// Go decides "ask the PDP" on `len(policy.Body.DataAttributes) > 0` and sends each entry's
    /// `attribute` (empty when absent). An entry without an `attribute` must therefore still
    /// need a decision, never turn the policy into an attribute-free one that is permitted
    /// without asking.
    @Test func attributeEntriesWithoutAnFQNStillNeedADecision() async throws {
        for entry in ["{\"displayName\":\"x\"}", "{\"attribute\":null}", "{}"] {
            let json = "{\"uuid\":\"6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7f\",\"body\":{\"dataAttributes\":[\(entry)],\"dissem\":[]}}"
            let policy = Base64.encode(Array(json.utf8))
            let (kao, _) = try makeKAO(.rsa2048, policy: policy)
            let result = try await Self.single(kao, policy: policy, engine: engine(authorizer: DenyAttributedPolicies()))
            #expect(result.error == Self.forbidden, "\(entry)")
            #expect(result.status == "fail", "\(entry)")
        }
    }

    /// With a key repeated, Go's `encoding/json` keeps the last value. Whatever the engine's
    /// JSON reader does, it must not see fewer attributes than Go does.
    @Test func duplicatePolicyKeysFollowGoLastWins() async throws {
        let withAttribute = "[{\"attribute\":\"\(Self.attributeFQN)\"}]"
        let orders = [
            ("attributes last", "{\"dataAttributes\":null,\"dataAttributes\":\(withAttribute)}", true),
            ("attributes first", "{\"dataAttributes\":\(withAttribute),\"dataAttributes\":null}", false),
        ]
        for (label, body, needsDecision) in orders {
            let policy = Base64.encode(Array("{\"uuid\":\"6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7f\",\"body\":\(body)}".utf8))
            let (kao, _) = try makeKAO(.rsa2048, policy: policy)
            let result = try await Self.single(kao, policy: policy, engine: engine(authorizer: DenyAttributedPolicies()))
            if needsDecision {
                #expect(result.error == Self.forbidden, "\(label)")
            } else {
                // Go permits (no attributes after the last key); denying or failing is stricter
                // but never looser.
                #expect(result.status == "permit" || result.error == Self.forbidden || result.error == Self.badRequest, "\(label)")
            }
        }
    }

    @Test func policyOverTheSizeLimitFailsItsKAOsOnly() async throws {
        let big = TDFWriter.policyBase64(attributes: (0..<20).map { "https://example.com/attr/a/value/v\($0)" })
        let (bigKAO, _) = try makeKAO(.rsa2048, policy: big)
        let (small, dek) = try makeKAO(.rsa2048)
        #expect(big.utf8.count > 600)
        #expect(Fixtures.vectors.policy.utf8.count < 600)
        let e = engine(authorizer: PermitAll()) { $0.limits.maxPolicyBytes = 600 }
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "big", body: big, kaos: [bigKAO]), (id: "small", body: Fixtures.vectors.policy, kaos: [small])])
        let response = try await e.rewrap(request)
        let error = try #require(response.result(policyID: "big", keyAccessObjectID: "kao-0")?.error)
        #expect(error == Self.invalidArgument("policy exceeds the size limit"))
        #expect(!error.contains("bad request"))
        #expect(Self.opens(response, policy: "small", kao: "kao-0", to: dek))
    }

    /// Spec §4.1: a policy with an empty id is skipped and produces no `PolicyRewrapResult`.
    @Test func policyWithoutIdProducesNoResult() async throws {
        let (kao, dek) = try makeKAO(.rsa2048)
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "", body: Fixtures.vectors.policy, kaos: [kao]), (id: "p", body: Fixtures.vectors.policy, kaos: [kao])])
        let response = try await engine().rewrap(request)
        #expect(response.responses.map(\.policyId) == ["p"])
        #expect(Self.opens(response, policy: "p", kao: "kao-0", to: dek))
    }

    // MARK: KAO shape

    @Test func nilKeyAccessObject() async throws {
        let (good, dek) = try makeKAO(.rsa2048)
        let response = try await engine().rewrap(Self.request([("nil", nil), ("good", good)]))
        #expect(response.result(policyID: "policy", keyAccessObjectID: "nil")?.error
            == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = key access object is nil")
        #expect(Self.opens(response, kao: "good", to: dek))
    }

    @Test func emptyWrappedKey() async throws {
        for algorithm in [KeyAlgorithm.rsa2048, .ecP256] {
            var (kao, _) = try makeKAO(algorithm)
            kao.wrappedKey = []
            let result = try await Self.single(kao)
            #expect(result.error == Self.invalidArgument("wrapped key is empty"), "\(algorithm)")
        }
    }

    @Test func ecWrappedDisabled() async throws {
        let (ec, _) = try makeKAO(.ecP256)
        let (rsa, dek) = try makeKAO(.rsa2048)
        let e = engine { $0.ecWrappedEnabled = false }
        let response = try await e.rewrap(Self.request([("ec", ec), ("rsa", rsa)]))
        #expect(response.result(policyID: "policy", keyAccessObjectID: "ec")?.error == Self.invalidArgument("ec-wrapped not enabled"))
        #expect(Self.opens(response, kao: "rsa", to: dek))
    }

    @Test(arguments: ["hybrid-wrapped", "mlkem-wrapped"])
    func previewKeyTypesAreBadRequest(_ type: String) async throws {
        var (kao, _) = try makeKAO(.rsa2048)
        kao.keyType = type
        #expect(try await Self.single(kao).error == Self.badRequest)
    }

    @Test(arguments: ["", "eccWrapped", "remote", "WRAPPED", "wrapped "])
    func unknownKeyType(_ type: String) async throws {
        var (kao, _) = try makeKAO(.rsa2048)
        kao.keyType = type
        #expect(try await Self.single(kao).error == Self.invalidArgument("unsupported key type"), "\(type)")
    }

    // MARK: EC ephemeral key problems

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

    // MARK: Legacy (kid-free) keys

    @Test func kidFreeWrappedWithoutLegacyKeys() async throws {
        let ring = try KeyRing(keys: [
            KASKey(kid: "r3", privateKey: Fixtures.privateKey("kas-rsa3072")),
            KASKey(kid: "e1", privateKey: Fixtures.privateKey("kas-secp256r1")),
        ])
        #expect(ring.legacyKeys().isEmpty)
        let (kao, _) = try makeKAO(.rsa2048, includeKid: false)
        #expect(kao.kid.isEmpty)
        let result = try await Self.single(kao, engine: engine(ring))
        #expect(result.error == Self.invalidArgument("no legacy key IDs found"))
    }

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

    // MARK: Unwrap failures: all exactly "bad request"

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
        let ring = try KeyRing(keys: [KASKey(kid: "rsa:2048", privateKey: other)])
        let (kao, _) = try makeKAO(.rsa2048)
        #expect(try await Self.single(kao, engine: engine(ring)).error == Self.badRequest)
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

    // MARK: Policy binding

    @Test func missingPolicyBinding() async throws {
        for algorithm in [KeyAlgorithm.rsa2048, .ecP256] {
            var (kao, _) = try makeKAO(algorithm)
            kao.policyBinding = nil
            #expect(try await Self.single(kao).error == Self.invalidArgument("missing policy binding"), "\(algorithm)")
        }
    }

    @Test(arguments: [
        "not base64!",
        "",  // present but empty: decodes to nothing, cannot match
        "MTk0OWQ0ZjUwYWY5YzE1ZDM1NWVkZjE5YTQ5MGM1N2M3ZmZmZjUzYjk5MTJiZWU4NTFhYzlhNjdmZTZkZGQxMg",  // unpadded
        "MTk0OWQ0ZjUwYWY5YzE1ZDM1NWVkZjE5YTQ5MGM1N2M3ZmZmZjUzYjk5MTJiZWU4NTFhYzlhNjdmZTZkZGQxMg=-",
    ])
    func policyBindingNotStrictBase64(_ hash: String) async throws {
        var (kao, _) = try makeKAO(.rsa2048)
        kao.policyBinding = PolicyBinding(hash: hash)
        #expect(try await Self.single(kao).error == Self.badRequest)
    }

    /// HMAC-SHA256(DEK, policy text), computed with the crypto layer directly.
    static func rawHMAC(_ dek: SecureBytes, policy: String = Fixtures.vectors.policy) throws -> [UInt8] {
        let mac = SecureBytes(count: 32)
        try dek.withUnsafeBytes { (key) throws(CryptoError) in
            try withBytes(Array(policy.utf8)) { (message) throws(CryptoError) in
                try CryptoWorker().hmacSHA256(key: key, message: message, into: mac.slice(0..<32))
            }
        }
        return mac.copyBytes()
    }

    /// The binding hash is strict standard base64: a raw-form binding that needs `+` or `/`
    /// is refused in the URL-safe alphabet. (The hex form never contains `+` or `/`: base64 of
    /// `[0-9a-f]` only yields sextets below 62.)
    @Test func policyBindingInURLSafeAlphabetIsBadRequest() async throws {
        for _ in 0..<200 {
            let dek = try TDFWriter.makeDEK()
            var kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: Fixtures.kas(.rsa2048))
            let standard = Base64.encode(try Self.rawHMAC(dek))
            let urlSafe = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            guard urlSafe != standard else { continue }
            kao.policyBinding = PolicyBinding(hash: standard)
            #expect(try await Self.single(kao).status == "permit")
            kao.policyBinding = PolicyBinding(hash: urlSafe)
            #expect(try await Self.single(kao).error == Self.badRequest)
            return
        }
        Issue.record("no raw binding with + or / in 200 tries")
    }

    @Test func policyBindingMismatch() async throws {
        for algorithm in [KeyAlgorithm.rsa2048, .ecP256] {
            var (kao, _) = try makeKAO(algorithm)
            // Binding of another DEK; of the right DEK over another policy; a truncated hex form.
            let other = try TDFWriter().policyBinding(dek: try TDFWriter.makeDEK(), policyBase64: Fixtures.vectors.policy)
            kao.policyBinding = other
            #expect(try await Self.single(kao).error == Self.badRequest, "\(algorithm)")
        }
        let dek = try TDFWriter.makeDEK()
        var kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: Fixtures.kas(.rsa2048))
        kao.policyBinding = try TDFWriter().policyBinding(dek: dek, policyBase64: TDFWriter.policyBase64(attributes: []))
        #expect(try await Self.single(kao).error == Self.badRequest)
        let wrongHash = try #require(kao.policyBinding?.hash)
        let hexText = try #require(Base64.decode(wrongHash, options: .strictStandard))
        kao.policyBinding = PolicyBinding(hash: Base64.encode(hexText.prefix(62)))
        #expect(try await Self.single(kao).error == Self.badRequest)
    }

    /// The spec-text form, base64 of the raw 32-byte HMAC, is accepted (harmless superset), as
    /// is uppercase hex (Go's `hex.Decode` accepts it); `alg` is never checked.
    @Test func rawAndUppercaseBindingsAreAccepted() async throws {
        let dek = try TDFWriter.makeDEK()
        var kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: Fixtures.kas(.rsa2048))
        let hexHash = try #require(kao.policyBinding?.hash)
        let hexText = try #require(Base64.decode(hexHash, options: .strictStandard))
        #expect(hexText.count == 64)
        let raw = hex(String(decoding: hexText, as: UTF8.self))
        #expect(raw.count == 32)
        // Independent check that the hex form is the HMAC: recompute with the crypto layer.
        #expect(try Self.rawHMAC(dek) == raw)

        for (label, hash, alg) in [
            ("raw 32 bytes", Base64.encode(raw), "HS256"),
            ("uppercase hex", Base64.encode(Array(String(decoding: hexText, as: UTF8.self).uppercased().utf8)), "HS256"),
            ("alg ignored", hexHash, ""),
        ] {
            kao.policyBinding = PolicyBinding(algorithm: alg, hash: hash)
            let response = try await engine().rewrap(makeRequest(client: Self.rsaClientPEM, kaos: [kao]))
            #expect(Self.opens(response, kao: "kao-0", to: dek.copyBytes()), "\(label)")
        }
    }

    // MARK: Authorization

    /// Permits policies whose first attribute contains "allow"; obligations per FQN.
    struct ByAttributeAuthorizer: RewrapAuthorizer {
        var obligations: [String: [String]] = [:]
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            request.resources.map { resource in
                let fqn = resource.attributeFQNs.first ?? ""
                return AuthorizationDecision(permitted: fqn.contains("allow"), requiredObligations: obligations[fqn] ?? [])
            }
        }
    }

    struct ThrowingAuthorizer: RewrapAuthorizer {
        let error: AuthorizationError
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            throw error
        }
    }

    /// Returns fewer decisions than resources.
    struct ShortAuthorizer: RewrapAuthorizer {
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            [.permit]
        }
    }

    final class RecordingAuthorizer: RewrapAuthorizer {
        let calls = Mutex<[AuthorizationRequest]>([])
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            calls.withLock { $0.append(request) }
            return Array(repeating: .permit, count: request.resources.count)
        }
        var recorded: [AuthorizationRequest] { calls.withLock { $0 } }
    }

    @Test func pdpDenyIsForbidden() async throws {
        let secret = TDFWriter.policyBase64(attributes: [Self.attributeFQN])
        let (denied0, _) = try makeKAO(.rsa2048, policy: secret)
        let (denied1, _) = try makeKAO(.ecP384, policy: secret)
        let (open, dek) = try makeKAO(.rsa2048)
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "secret", body: secret, kaos: [denied0, denied1]), (id: "open", body: Fixtures.vectors.policy, kaos: [open])])
        let response = try await engine(authorizer: DenyAttributedPolicies()).rewrap(request)
        for id in ["kao-0", "kao-1"] {
            let result = try #require(response.result(policyID: "secret", keyAccessObjectID: id))
            #expect(result.error == "permission_denied: request error\nrpc error: code = PermissionDenied desc = forbidden")
            #expect(result.status == "fail")
        }
        #expect(Self.opens(response, policy: "open", kao: "kao-0", to: dek))
    }

    /// A KAO that failed before authorization keeps its own error when the policy is denied.
    @Test func denyDoesNotMaskEarlierFailures() async throws {
        let secret = TDFWriter.policyBase64(attributes: [Self.attributeFQN])
        let (good, _) = try makeKAO(.rsa2048, policy: secret)
        var (bad, _) = try makeKAO(.rsa2048, policy: secret)
        bad.policyBinding = nil
        let response = try await engine(authorizer: DenyAttributedPolicies())
            .rewrap(makeRequest(client: Self.rsaClientPEM, policy: secret, kaos: [good, bad]))
        #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-0")?.error == Self.forbidden)
        #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-1")?.error == Self.invalidArgument("missing policy binding"))
    }

    @Test func missingDecisionIsADeny() async throws {
        let first = TDFWriter.policyBase64(attributes: ["https://example.com/attr/a/value/one"])
        let second = TDFWriter.policyBase64(attributes: ["https://example.com/attr/a/value/two"])
        let (kao1, dek1) = try makeKAO(.rsa2048, policy: first)
        let (kao2, _) = try makeKAO(.rsa2048, policy: second)
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "one", body: first, kaos: [kao1]), (id: "two", body: second, kaos: [kao2])])
        let response = try await engine(authorizer: ShortAuthorizer()).rewrap(request)
        #expect(Self.opens(response, policy: "one", kao: "kao-0", to: dek1))
        #expect(response.result(policyID: "two", keyAccessObjectID: "kao-0")?.error == Self.forbidden)
    }

    @Test(arguments: [
        (AuthorizationError.decisionError, "permission_denied: request error\nrpc error: code = PermissionDenied desc = forbidden: pdp-denied"),
        (.unavailable, "internal: internal error\nrpc error: code = Internal desc = internal: auth-service-unavailable"),
        (.cancelled, "internal: internal error\nrpc error: code = Internal desc = internal: context-cancelled"),
    ])
    func pdpErrorFailsEveryKAOOfTheRequest(_ thrown: AuthorizationError, _ expected: String) async throws {
        let secret = TDFWriter.policyBase64(attributes: [Self.attributeFQN])
        let (s0, _) = try makeKAO(.rsa2048, policy: secret)
        let (s1, _) = try makeKAO(.ecP256, policy: secret)
        var (broken, _) = try makeKAO(.rsa2048, policy: secret)
        broken.wrappedKey[7] ^= 1
        let (open, _) = try makeKAO(.rsa4096)
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "secret", body: secret, kaos: [s0, s1, broken]), (id: "open", body: Fixtures.vectors.policy, kaos: [open])])
        let response = try await engine(authorizer: ThrowingAuthorizer(error: thrown)).rewrap(request)
        var seen = 0
        for policy in response.responses {
            for result in policy.results {
                #expect(result.error == expected, "\(policy.policyId)/\(result.keyAccessObjectId)")
                #expect(result.status == "fail")
                seen += 1
            }
        }
        #expect(seen == 4)
    }

    @Test func authorizerIsAskedOnceAboutAttributedVerifiedPoliciesOnly() async throws {
        let a = TDFWriter.policyBase64(attributes: ["https://example.com/attr/a/value/x", "https://example.com/attr/b/value/y"])
        let b = TDFWriter.policyBase64(attributes: ["https://example.com/attr/c/value/z"])
        let unverified = TDFWriter.policyBase64(attributes: ["https://example.com/attr/d/value/w"])
        let (ka, _) = try makeKAO(.rsa2048, policy: a)
        let (kb, _) = try makeKAO(.ecP256, policy: b)
        var (ku, _) = try makeKAO(.rsa2048, policy: unverified)
        ku.policyBinding = PolicyBinding(hash: Base64.encode([UInt8](repeating: 0x61, count: 64)))
        let (kOpen, _) = try makeKAO(.rsa2048)
        let recorder = RecordingAuthorizer()
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "A", body: a, kaos: [ka]), (id: "U", body: unverified, kaos: [ku]),
                       (id: "open", body: Fixtures.vectors.policy, kaos: [kOpen]), (id: "B", body: b, kaos: [kb])])
        _ = try await engine(authorizer: recorder).rewrap(request, entity: "token-of-alice")
        let calls = recorder.recorded
        try #require(calls.count == 1)
        #expect(calls[0].entity == "token-of-alice")
        #expect(calls[0].action == "read")
        #expect(calls[0].resources.map(\.policyID) == ["A", "B"])
        #expect(calls[0].resources.map(\.ephemeralID) == ["rewrap-0", "rewrap-1"])
        #expect(calls[0].resources.map(\.attributeFQNs) == [
            ["https://example.com/attr/a/value/x", "https://example.com/attr/b/value/y"], ["https://example.com/attr/c/value/z"],
        ])
    }

    @Test func authorizerIsNotAskedWithoutAttributes() async throws {
        let recorder = RecordingAuthorizer()
        let (kao, dek) = try makeKAO(.rsa2048)
        let response = try await engine(authorizer: recorder).rewrap(makeRequest(client: Self.rsaClientPEM, kaos: [kao]))
        #expect(recorder.recorded.isEmpty)
        #expect(Self.opens(response, kao: "kao-0", to: dek))
    }

    // MARK: Obligations

    @Test func requiredObligationsAreCopiedOntoPermittedResults() async throws {
        let allowed = TDFWriter.policyBase64(attributes: ["https://example.com/attr/a/value/allow"])
        let (p0, dek0) = try makeKAO(.rsa2048, policy: allowed)
        let (p1, dek1) = try makeKAO(.ecP521, policy: allowed)
        var (p2, _) = try makeKAO(.rsa2048, policy: allowed)
        p2.kid = "missing"
        let (open, openDEK) = try makeKAO(.rsa2048)
        let authorizer = ByAttributeAuthorizer(obligations: [
            "https://example.com/attr/a/value/allow": [Self.obligationFQN, "https://example.com/obl/geo/value/us"],
        ])
        let request = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "allowed", body: allowed, kaos: [p0, p1, p2]), (id: "open", body: Fixtures.vectors.policy, kaos: [open])])
        let response = try await engine(authorizer: authorizer).rewrap(request)
        for id in ["kao-0", "kao-1"] {
            #expect(response.result(policyID: "allowed", keyAccessObjectID: id)?.requiredObligations
                == [Self.obligationFQN, "https://example.com/obl/geo/value/us"])
        }
        #expect(Self.opens(response, policy: "allowed", kao: "kao-0", to: dek0))
        #expect(Self.opens(response, policy: "allowed", kao: "kao-1", to: dek1))
        #expect(response.result(policyID: "allowed", keyAccessObjectID: "kao-2")?.requiredObligations == [])
        #expect(response.result(policyID: "open", keyAccessObjectID: "kao-0")?.requiredObligations == [])
        #expect(Self.opens(response, policy: "open", kao: "kao-0", to: openDEK))

        // On the wire every result carries the key, as a list of strings (spec §4.1, §9.7).
        let json = try JSONSerialization.jsonObject(with: Data(response.jsonBytes())) as? [String: Any]
        let policies = try #require(json?["responses"] as? [[String: Any]])
        var results = 0
        for policy in policies {
            for result in try #require(policy["results"] as? [[String: Any]]) {
                let metadata = try #require(result["metadata"] as? [String: Any])
                #expect(metadata[requiredObligationsMetadataKey] is [String])
                #expect(metadata.keys.sorted() == ["X-Required-Obligations"])
                results += 1
            }
        }
        #expect(results == 4)
    }

    /// Go (`failedKAORewrapWithObligations(…, err403("forbidden"), requiredObligationsForPolicy)`)
    /// keeps the decision's obligations on a denied KAO, so the SDK can tell which obligations
    /// the client failed to fulfil (spec §5 step 10: "copied to every KAO of that policy").
    @Test func deniedResultsCarryTheDecisionsObligations() async throws {
        let denied = TDFWriter.policyBase64(attributes: ["https://example.com/attr/a/value/deny"])
        let (kao, _) = try makeKAO(.rsa2048, policy: denied)
        let authorizer = ByAttributeAuthorizer(obligations: ["https://example.com/attr/a/value/deny": [Self.obligationFQN]])
        let result = try await Self.single(kao, policy: denied, engine: engine(authorizer: authorizer))
        #expect(result.error == Self.forbidden)
        #expect(result.requiredObligations == [Self.obligationFQN])
    }

    // MARK: Client key (top-level errors) and EC sessions

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
        // Go's x509 parser refuses secp256k1 ("parse failure"); the engine classifies the curve
        // ("unsupported type"). Either way a top-level clientPublicKey error.
        let k1 = await Self.rewrapError { _ = try await engine().rewrap(makeRequest(client: Self.secp256k1PublicPEM, kaos: [kao])) }
        #expect(k1 == .clientPublicKeyParseFailure || k1 == .clientPublicKeyUnsupportedType)
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

    // MARK: Limits

    @Test func tooManyKAOsIsResourceExhausted() async throws {
        let (kao, _) = try makeKAO(.rsa2048)
        let e = engine { $0.limits.maxKeyAccessObjects = 3 }
        let over = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "a", body: Fixtures.vectors.policy, kaos: [kao, kao]), (id: "b", body: Fixtures.vectors.policy, kaos: [kao, kao])])
        let error = await Self.rewrapError { _ = try await e.rewrap(over) }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.code.httpStatus == 429)
        let atLimit = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.rsaClientPEM,
            policies: [(id: "a", body: Fixtures.vectors.policy, kaos: [kao, kao]), (id: "b", body: Fixtures.vectors.policy, kaos: [kao])])
        let response = try await e.rewrap(atLimit)
        #expect(response.responses.flatMap(\.results).map(\.status) == ["permit", "permit", "permit"])
    }

    @Test func tooManyPoliciesIsResourceExhausted() async throws {
        let (kao, _) = try makeKAO(.rsa2048)
        let e = engine { $0.limits.maxPolicies = 2 }
        let policies = (0..<3).map { (id: "p\($0)", body: Fixtures.vectors.policy, kaos: $0 == 0 ? [kao] : [KeyAccess]()) }
        let error = await Self.rewrapError {
            _ = try await e.rewrap(RewrapRequestBuilder.request(clientPublicKeyPEM: Self.rsaClientPEM, policies: policies))
        }
        #expect(error?.code == .resourceExhausted)
        let response = try await e.rewrap(
            RewrapRequestBuilder.request(clientPublicKeyPEM: Self.rsaClientPEM, policies: Array(policies.prefix(2))))
        #expect(response.responses.map(\.policyId) == ["p0", "p1"])
    }

    @Test func requestJSONOverTheLimitIsResourceExhausted() async throws {
        let (kao, _) = try makeKAO(.rsa2048)
        let json = RewrapRequestBuilder.json(makeRequest(client: Self.rsaClientPEM, kaos: [kao]))
        let e = engine { $0.limits.maxRequestBytes = json.count - 1 }
        let decodeError = await Self.rewrapError { _ = try e.decodeRequest(json) }
        #expect(decodeError?.code == .resourceExhausted)
        let rewrapError = await Self.rewrapError { _ = try await e.rewrap(json: json) }
        #expect(rewrapError?.code == .resourceExhausted)
        let fits = engine { $0.limits.maxRequestBytes = json.count }
        #expect(try await fits.rewrap(json: json).isEmpty == false)
    }

    @Test func emptyRequestsAreInvalid() async throws {
        let error = await Self.rewrapError {
            _ = try await engine().rewrap(UnsignedRewrapRequest(clientPublicKey: Self.rsaClientPEM, requests: []))
        }
        #expect(error == .invalidRequestBody)
    }

    // MARK: Isolation in a mixed request

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

    /// No KAO error string says "bad request" unless it is a secret-dependent failure, and every
    /// descriptive one has the invalid_argument shape (spec §4.4 rule).
    @Test func descriptiveErrorsNeverSayBadRequest() {
        let descriptive = [
            KAOError.keyAccessObjectNil, .wrappedKeyEmpty, .ecWrappedNotEnabled, .invalidEphemeralPublicKey,
            .unsupportedECKeySize, .invalidEphemeralPublicKeyPEM, .ephemeralKeyNotEC, .invalidECPublicKey,
            .noLegacyKeyIDs, .unsupportedKeyType, .missingPolicyBinding, .invalidRequest, .badKeyForRewrap,
            .ephemeralKeyTooLarge, .wrappedKeyTooLarge, .policyTooLarge,
        ]
        for error in descriptive {
            #expect(!error.wireString.contains("bad request"), "\(error.detail)")
            #expect(error.wireString == Self.invalidArgument(error.detail))
        }
        #expect(KAOError.badRequest.wireString == Self.badRequest)
        #expect(KAOError.forbidden.wireString == Self.forbidden)
        #expect(KAOError.pdpDenied.wireString == Self.permissionDenied("forbidden: pdp-denied"))
        #expect(KAOError.authServiceUnavailable.wireString == Self.internalError("internal: auth-service-unavailable"))
        #expect(RewrapRequestError.invalidRequestBody.connectJSON
            == "{\"code\":\"invalid_argument\",\"message\":\"request error\\nrpc error: code = InvalidArgument desc = invalid request body\"}")
    }
}
