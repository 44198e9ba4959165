import Foundation
import RewrapAuth
import RewrapCrypto
import RewrapDevIdP
import Testing

/// The dev issuer's routes without a socket; the HTTP server is exercised by rewrapTests.
@Suite struct DevIdentityProviderTests {
    static let issuer = "http://127.0.0.1:9999"
    let clock = ManualAuthClock()
    let idp: DevIdentityProvider

    init() throws {
        idp = try DevIdentityProvider(
            issuer: Self.issuer,
            configuration: .init(clients: ["a b": "p:w&d", "opentdf": "secret"], audience: "kas", algorithm: .es256, tokenLifetime: 60),
            clock: clock)
    }

    func json(_ reply: DevIdentityProvider.Reply) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
    }

    func token(headers: [(String, String)] = [], form: String) -> DevIdentityProvider.Reply {
        idp.handle(method: "POST", path: "/token", headers: headers, body: Array(form.utf8))
    }

    func verifier() -> AccessTokenVerifier {
        let jwks = idp.handle(method: "GET", path: "/jwks", headers: [], body: [])
        let set = try! JSONWebKeySet(json: jwks.body, generation: 1)
        return AccessTokenVerifier(settings: AccessTokenSettings(issuer: Self.issuer, audience: "kas"),
                                   keys: StaticKeySetSource(set), clock: clock)
    }

    @Test func discoveryAndJWKS() throws {
        let discovery = try json(idp.handle(method: "GET", path: "/.well-known/openid-configuration?x=1", headers: [], body: []))
        #expect(discovery["issuer"] as? String == Self.issuer)
        #expect(discovery["jwks_uri"] as? String == Self.issuer + "/jwks")
        #expect(discovery["token_endpoint"] as? String == Self.issuer + "/token")
        let set = try JSONWebKeySet(json: idp.handle(method: "GET", path: "/jwks", headers: [], body: []).body, generation: 1)
        #expect(set.keys[idp.keyID]?.algorithms == [.es256])
        #expect(idp.handle(method: "GET", path: "/token", headers: [], body: []).status == 405)
        #expect(idp.handle(method: "GET", path: "/nope", headers: [], body: []).status == 404)
    }

    @Test func clientCredentialsByBasicOrForm() async throws {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded inside Basic.
        let basic = "Basic " + Data("a+b:p%3Aw%26d".utf8).base64EncodedString()
        let byBasic = token(headers: [("authorization", basic)], form: "grant_type=client_credentials")
        #expect(byBasic.status == 200)
        let reply = try json(byBasic)
        #expect(reply["token_type"] as? String == "Bearer")
        #expect(reply["expires_in"] as? Int == 60)
        let verified = try await verifier().verify(try #require(reply["access_token"] as? String))
        #expect(verified.subject == "a b")
        #expect(verified.expiresAt == clock.now() + 60)
        #expect(!verified.hasConfirmation)
        let byForm = token(form: "grant_type=client_credentials&client_id=a+b&client_secret=p%3Aw%26d")
        #expect(byForm.status == 200)
        #expect(token(form: "grant_type=client_credentials&client_id=a+b&client_secret=pw").status == 401)
        #expect(token(form: "grant_type=client_credentials").status == 401)
        #expect(try json(token(form: "client_id=opentdf&client_secret=secret"))["error"] as? String == "unsupported_grant_type")
    }

    @Test func dpopProofBindsTheToken() async throws {
        let client = try DPoPProofSigner(key: PrivateKey.generate(.rsa2048), algorithm: .ps256)
        let form = "grant_type=client_credentials&client_id=opentdf&client_secret=secret"
        let proof = try client.proof(method: "POST", url: Self.issuer + "/token", issuedAt: clock.now())
        let reply = try json(token(headers: [("DPoP", proof)], form: form))
        #expect(reply["token_type"] as? String == "DPoP")
        let verified = try await verifier().verify(try #require(reply["access_token"] as? String))
        #expect(verified.confirmationThumbprint == client.thumbprint)
        // Replayed, wrong method, wrong URL, stale, two headers: 400 invalid_dpop_proof.
        let stale = try client.proof(method: "POST", url: Self.issuer + "/token", issuedAt: clock.now() - 301)
        let wrongMethod = try client.proof(method: "GET", url: Self.issuer + "/token", issuedAt: clock.now())
        let wrongURL = try client.proof(method: "POST", url: "http://127.0.0.1:9998/token", issuedAt: clock.now())
        let fresh = try client.proof(method: "POST", url: Self.issuer + "/token", issuedAt: clock.now())
        for headers in [[("DPoP", proof)], [("DPoP", stale)], [("DPoP", wrongMethod)], [("DPoP", wrongURL)], [("DPoP", fresh), ("dpop", fresh)]] {
            let refused = token(headers: headers, form: form)
            #expect(refused.status == 400)
            #expect(try json(refused)["error"] as? String == "invalid_dpop_proof")
        }
    }
}
