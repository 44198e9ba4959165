import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// The PDP: denials, missing decisions, PDP errors, and what it is asked.
    @Suite struct AuthorizationTests: EngineErrorSuite {
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
    }
}
