import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// Required obligations of the PDP decision, copied onto the results of the policy's KAOs.
    @Suite struct ObligationTests: EngineErrorSuite {
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
    }
}
