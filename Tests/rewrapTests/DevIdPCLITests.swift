import AsyncHTTPClient
import Foundation
import NIOCore
import RewrapAuth
import RewrapCrypto
import Testing

/// `rewrap dev-idp` as a child process, used over real HTTP: discovery and JWKS through
/// `OIDCKeys` on AsyncHTTPClient, tokens from `POST /token` with and without a DPoP proof,
/// verified by `AccessTokenVerifier` and the whole `RequestAuthenticator`.
@Suite(.serialized) struct DevIdPCLITests {
    struct TokenReply: Decodable {
        var access_token: String?
        var token_type: String?
        var expires_in: Int?
        var error: String?
    }

    /// POST /token through AsyncHTTPClient. (Not URLSession: on Linux its handling of a 401 with
    /// `WWW-Authenticate: Basic` waits on a challenge no delegate answers, and the test hangs.)
    static func postToken(_ url: String, form: String, basic: String? = nil, dpop: String? = nil) async throws -> (Int, TokenReply) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let basic { request.headers.add(name: "Authorization", value: "Basic " + Data(basic.utf8).base64EncodedString()) }
        if let dpop { request.headers.add(name: "DPoP", value: dpop) }
        request.body = .bytes(ByteBuffer(string: form))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), try JSONDecoder().decode(TokenReply.self, from: Data(body.readableBytesView)))
    }

    @Test func issuesTokensThatVerifyOverHTTP() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: KMSCLITests.executable.path), "rewrap is built beside the tests")
        let box = try ChildSandbox(environment: [:])
        let idp = try box.start(["dev-idp", "--port", "0", "--alg", "ES256", "--client", "tester:pw", "--audience", "kas-test"])
        defer { idp.kill() }
        let port = try #require(idp.waitForPort(), "dev-idp printed its port: \(idp.stdout.text) \(idp.stderr.text)")
        let issuer = "http://127.0.0.1:\(port)"

        // Discovery and JWKS over real HTTP.
        let oidc = try await OIDCKeys.discover(issuer: issuer, fetcher: AsyncHTTPFetcher())
        #expect(oidc.issuer == issuer)
        #expect(oidc.jwksURI == issuer + "/jwks")
        let key = try #require(oidc.keySet.keys.values.first)
        #expect(key.algorithms == [.es256])
        let verifier = AccessTokenVerifier(settings: AccessTokenSettings(issuer: oidc.issuer, audience: "kas-test"), keys: oidc)

        // Without a proof: a Bearer token, client by HTTP Basic.
        let (status, bearer) = try await Self.postToken(issuer + "/token", form: "grant_type=client_credentials", basic: "tester:pw")
        #expect(status == 200)
        #expect(bearer.token_type == "Bearer")
        #expect(bearer.expires_in == 300)
        let plain = try await verifier.verify(try #require(bearer.access_token))
        #expect(plain.subject == "tester")
        #expect(plain.authorizedParty == "tester")
        #expect(!plain.hasConfirmation)

        // With a proof: a DPoP-bound token (cnf.jkt = the proof key's thumbprint), client in the form.
        let client = try DPoPProofSigner(key: PrivateKey.generate(.ecP256))
        let proof = try client.proof(method: "POST", url: issuer + "/token", issuedAt: SystemAuthClock().now())
        let (boundStatus, bound) = try await Self.postToken(
            issuer + "/token", form: "grant_type=client_credentials&client_id=tester&client_secret=pw", dpop: proof)
        #expect(boundStatus == 200)
        #expect(bound.token_type == "DPoP")
        let boundToken = try #require(bound.access_token)
        #expect(try await verifier.verify(boundToken).confirmationThumbprint == client.thumbprint)

        // The bound token and a fresh proof pass the KAS's whole authentication.
        let auth = RequestAuthenticator(
            settings: AuthenticationSettings(token: AccessTokenSettings(issuer: oidc.issuer, audience: "kas-test")), keys: oidc)
        let kasProof = try client.proof(method: "POST", url: "http://localhost:8080/kas.AccessService/Rewrap", accessToken: boundToken,
                                        issuedAt: SystemAuthClock().now())
        let result = await auth.authenticate(AuthenticationInput(
            method: "POST", authority: "localhost:8080", procedurePath: "/kas.AccessService/Rewrap",
            authorization: ["DPoP \(boundToken)"], dpop: [kasProof]))
        #expect((try? result.get())?.proofKey?.thumbprint == client.thumbprint)

        // Refusals: wrong secret, wrong grant, a proof for another URL, a replayed proof.
        #expect(try await Self.postToken(issuer + "/token", form: "grant_type=client_credentials", basic: "tester:no").0 == 401)
        #expect(try await Self.postToken(issuer + "/token", form: "grant_type=password", basic: "tester:pw").1.error == "unsupported_grant_type")
        let elsewhere = try client.proof(method: "POST", url: issuer + "/other", issuedAt: SystemAuthClock().now())
        let (badStatus, bad) = try await Self.postToken(issuer + "/token", form: "grant_type=client_credentials", basic: "tester:pw", dpop: elsewhere)
        #expect(badStatus == 400)
        #expect(bad.error == "invalid_dpop_proof")
        #expect(try await Self.postToken(issuer + "/token", form: "grant_type=client_credentials", basic: "tester:pw", dpop: proof).1.error
            == "invalid_dpop_proof")

        // SIGTERM: graceful, exit 0.
        idp.signal(SIGTERM)
        #expect(idp.waitForExit(within: .seconds(15)) == 0)
    }

    @Test func defaultsToRS256AndRefusesNonLoopback() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: KMSCLITests.executable.path), "rewrap is built beside the tests")
        let box = try ChildSandbox(environment: [:])
        let refused = try box.run(["dev-idp", "--host", "0.0.0.0", "--port", "0"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("not a loopback address"))
        let help = try box.run(["dev-idp", "--help"])
        #expect(help.stdout.contains("Examples:"))

        let idp = try box.start(["dev-idp", "--port", "0"])
        defer { idp.kill() }
        let port = try #require(idp.waitForPort(), "dev-idp printed its port: \(idp.stderr.text)")
        let oidc = try await OIDCKeys.discover(issuer: "http://127.0.0.1:\(port)", fetcher: AsyncHTTPFetcher())
        #expect(oidc.keySet.keys.values.first?.algorithms == [.rs256])
        let (status, reply) = try await Self.postToken(oidc.issuer + "/token", form: "grant_type=client_credentials", basic: "opentdf:secret")
        #expect(status == 200)
        let verifier = AccessTokenVerifier(settings: AccessTokenSettings(issuer: oidc.issuer, audience: "http://localhost:8080"), keys: oidc)
        #expect(try await verifier.verify(try #require(reply.access_token)).subject == "opentdf")
        idp.signal(SIGINT)
        #expect(idp.waitForExit(within: .seconds(15)) == 0)
    }
}
