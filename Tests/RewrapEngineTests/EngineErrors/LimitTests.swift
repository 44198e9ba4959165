import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// Request-level limits: resource_exhausted, and exactly at the limit still served.
    @Suite struct LimitTests: EngineErrorSuite {
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
    }
}
