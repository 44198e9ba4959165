import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// Policy body: an undecodable policy fails all KAOs of that policy, other policies are
    /// unaffected; the body is read by Go's `encoding/json` rules (spec §5 step 7).
    @Suite struct PolicyBodyTests: EngineErrorSuite {
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

        /// With a key repeated, Go's `encoding/json` keeps the last value, and a JSON `null`
        /// sets a slice to nil: attributes after a null need a decision; a null after the
        /// attributes leaves none, so Go permits without asking the PDP — and so does the
        /// engine, whose JSON reader keeps duplicates and looks up the last one.
        @Test func duplicatePolicyKeysFollowGoLastWins() async throws {
            let withAttribute = "[{\"attribute\":\"\(Self.attributeFQN)\"}]"
            let orders = [
                ("attributes last", "{\"dataAttributes\":null,\"dataAttributes\":\(withAttribute)}", true),
                ("attributes first", "{\"dataAttributes\":\(withAttribute),\"dataAttributes\":null}", false),
            ]
            for (label, body, needsDecision) in orders {
                let policy = Base64.encode(Array("{\"uuid\":\"6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7f\",\"body\":\(body)}".utf8))
                let (kao, dek) = try makeKAO(.rsa2048, policy: policy)
                let recorder = RecordingAuthorizer()
                let denying = try await Self.single(kao, policy: policy, engine: engine(authorizer: DenyAttributedPolicies()))
                let response = try await engine(authorizer: recorder).rewrap(makeRequest(client: Self.rsaClientPEM, policy: policy, kaos: [kao]))
                if needsDecision {
                    #expect(denying.error == Self.forbidden, "\(label)")
                    #expect(denying.status == "fail", "\(label)")
                    #expect(recorder.recorded.map { $0.resources.map(\.attributeFQNs) } == [[[Self.attributeFQN]]], "\(label)")
                } else {
                    #expect(denying.status == "permit", "\(label)")
                    #expect(denying.error == nil, "\(label)")
                    #expect(recorder.recorded.isEmpty, "\(label): the PDP is not asked")
                }
                #expect(Self.opens(response, kao: "kao-0", to: dek), "\(label)")
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
    }
}
