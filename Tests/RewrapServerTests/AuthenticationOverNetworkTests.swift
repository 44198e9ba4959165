import Foundation
import RewrapAuth
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapServer
import RewrapTestSupport
import RewrapWire
import Testing

/// Authentication through the socket (kas-server.md §4, §6.1): the §4.6 answers with their
/// headers, DPoP-bound tokens and signed SRTs, nonces, replays; public routes ignore it all.
/// Tokens come from a signer here and the server trusts its public key as a static JWKS (the
/// OIDC discovery path is tested with `rewrap dev-idp` in rewrapTests).
@Suite struct AuthenticationOverNetworkTests: RewrapExpectations {
    static let issuer = "https://idp.test"
    static let audience = "http://localhost:8080"

    struct Identity {
        let signer: JWSSigner
        let keys: StaticKeySetSource

        init() throws {
            let key = try PrivateKey.generate(.ecP256)
            signer = try JWSSigner(key: key, algorithm: .es256, keyID: "idp-1")
            keys = StaticKeySetSource(JSONWebKeySet(keys: [try .init(kid: "idp-1", key: key.publicKey)], generation: 1))
        }

        func token(boundTo proof: DPoPProofSigner? = nil, issuer: String = AuthenticationOverNetworkTests.issuer) throws -> String {
            let now = SystemAuthClock().now()
            var claims: [(String, JOSEValue)] = [("iss", .string(issuer)), ("aud", .string(AuthenticationOverNetworkTests.audience)),
                                                 ("sub", .string("alice")), ("iat", .integer(now)), ("exp", .integer(now + 300))]
            if let proof { claims.append(("cnf", .object([("jkt", .string(proof.thumbprint))]))) }
            return try signer.sign(claims: claims)
        }
    }

    static func authentication(_ identity: Identity, dpop: DPoPSettings = DPoPSettings()) -> OIDCAuthentication {
        let settings = AuthenticationSettings(token: AccessTokenSettings(issuer: issuer, audience: audience), dpop: dpop)
        return OIDCAuthentication(authenticator: RequestAuthenticator(settings: settings, keys: identity.keys))
    }

    /// A Rewrap body whose SRT is signed by `signer` (the client's DPoP key, as the Go SDK signs it).
    static func body(signedBy signer: JWSSigner) throws -> (body: [UInt8], dek: [UInt8]) {
        let (kao, dek) = try makeKAO(.rsa2048)
        let request = makeRequest(client: rsaClientPEM, kaos: [kao])
        let token = try SignedRequestToken.make(requestBody: String(decoding: RewrapRequestBuilder.json(request), as: UTF8.self), signer: signer)
        return (Wire.rewrapJSON(token), dek)
    }

    static func rewrap(_ server: RunningServer, body: [UInt8], headers: [(String, String)]) async throws -> Client.Answer {
        try await Client.send("\(server.base)/kas.AccessService/Rewrap", headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    @Test func bearerTokensAndTheirFailures() async throws {
        let identity = try Identity()
        try await RunningServer.with(authentication: Self.authentication(identity)) { running in
        let client = try PrivateKey.generate(.ecP256)
        let (body, dek) = try Self.body(signedBy: try JWSSigner(key: client, algorithm: .es256))

        let none = try await Self.rewrap(running, body: body, headers: [])
        #expect(none.status == 401 && none.text == #"{"code":"unauthenticated","message":"missing authorization header"}"#)
        #expect(none.headers["www-authenticate"].isEmpty)
        let basic = try await Self.rewrap(running, body: body, headers: [("Authorization", "Basic b3BlbnRkZjpzZWNyZXQ=")])
        #expect(basic.status == 401 && basic.text == #"{"code":"unauthenticated","message":"unauthenticated"}"#)
        let wrongIssuer = try await Self.rewrap(running, body: body, headers: [("Authorization", "Bearer \(try identity.token(issuer: "https://evil"))")])
        #expect(wrongIssuer.status == 401 && wrongIssuer.text == #"{"code":"unauthenticated","message":"unauthenticated"}"#)
        // Bearer without cnf: the SRT is read unverified and the rewrap goes through.
        let ok = try await Self.rewrap(running, body: body, headers: [("Authorization", "Bearer \(try identity.token())")])
        #expect(ok.status == 200, "\(ok.text)")
        let response = try ProtoJSON.decode(RewrapResponse.self, from: ok.body)
        #expect(Self.opens(response, kao: "kao-0", to: dek))
        // Public routes never look at Authorization.
        let key = try await Client.send("\(running.base)/kas.AccessService/PublicKey",
                                        headers: [("Content-Type", "application/json"), ("Authorization", "Bearer garbage"), ("DPoP", "x")],
                                        body: Array("{}".utf8))
        #expect(key.status == 200)
        // Nothing about the token in any answer.
        #expect(!wrongIssuer.text.contains("evil"))
        }
    }

    @Test func dpopBoundTokenWithSignedRequestToken() async throws {
        let identity = try Identity()
        try await RunningServer.with(authentication: Self.authentication(identity)) { running in
        let clientKey = try PrivateKey.generate(.ecP256)
        let proofs = try DPoPProofSigner(key: clientKey)
        let token = try identity.token(boundTo: proofs)
        let url = "\(running.base)/kas.AccessService/Rewrap"
        func proof(jti: String? = nil) throws -> String {
            try proofs.proof(method: "POST", url: url, accessToken: token, jti: jti, issuedAt: SystemAuthClock().now())
        }

        let (body, dek) = try Self.body(signedBy: try JWSSigner(key: clientKey, algorithm: .es256))
        let fixedProof = try proof(jti: "one-time")
        let ok = try await Self.rewrap(running, body: body, headers: [("Authorization", "DPoP \(token)"), ("DPoP", fixedProof)])
        #expect(ok.status == 200, "\(ok.text)")
        #expect(Self.opens(try ProtoJSON.decode(RewrapResponse.self, from: ok.body), kao: "kao-0", to: dek))

        // The same proof again: a replay.
        let replay = try await Self.rewrap(running, body: body, headers: [("Authorization", "DPoP \(token)"), ("DPoP", fixedProof)])
        #expect(replay.status == 401 && replay.headers.first(name: "www-authenticate") == #"DPoP error="invalid_dpop_proof""#)
        // No proof for a bound token.
        let missing = try await Self.rewrap(running, body: body, headers: [("Authorization", "DPoP \(token)")])
        #expect(missing.status == 401 && missing.headers.first(name: "www-authenticate") == #"DPoP error="invalid_dpop_proof""#)
        // A proof for another URL.
        let elsewhere = try proofs.proof(method: "POST", url: "http://elsewhere/kas.AccessService/Rewrap", accessToken: token,
                                         issuedAt: SystemAuthClock().now())
        let wrongHTU = try await Self.rewrap(running, body: body, headers: [("Authorization", "DPoP \(token)"), ("DPoP", elsewhere)])
        #expect(wrongHTU.status == 401)
        // An SRT signed by a key that is not the proof's.
        let (foreign, _) = try Self.body(signedBy: try JWSSigner(key: try PrivateKey.generate(.ecP256), algorithm: .es256))
        let unverified = try await Self.rewrap(running, body: foreign, headers: [("Authorization", "DPoP \(token)"), ("DPoP", try proof())])
        #expect(unverified.status == 401)
        #expect(unverified.text == #"{"code":"unauthenticated","message":"request error\nrpc error: code = Unauthenticated desc = unable to verify request token"}"#)
        }
    }

    @Test func nonceChallengeThenSuccess() async throws {
        let identity = try Identity()
        try await RunningServer.with(authentication: Self.authentication(identity, dpop: DPoPSettings(requireNonce: true))) { running in
        let clientKey = try PrivateKey.generate(.ecP256)
        let proofs = try DPoPProofSigner(key: clientKey)
        let token = try identity.token(boundTo: proofs)
        let url = "\(running.base)/kas.AccessService/Rewrap"
        let (body, _) = try Self.body(signedBy: try JWSSigner(key: clientKey, algorithm: .es256))

        let first = try await Self.rewrap(running, body: body, headers: [
            ("Authorization", "DPoP \(token)"), ("DPoP", try proofs.proof(method: "POST", url: url, accessToken: token, issuedAt: SystemAuthClock().now())),
        ])
        #expect(first.status == 401)
        #expect(first.headers.first(name: "www-authenticate") == #"DPoP error="use_dpop_nonce""#)
        let nonce = try #require(first.headers.first(name: "dpop-nonce"))
        #expect(first.headers["dpop-nonce"].count == 1)
        let retry = try await Self.rewrap(running, body: body, headers: [
            ("Authorization", "DPoP \(token)"),
            ("DPoP", try proofs.proof(method: "POST", url: url, accessToken: token, nonce: nonce, issuedAt: SystemAuthClock().now())),
        ])
        #expect(retry.status == 200, "\(retry.text)")
        #expect(retry.headers.first(name: "dpop-nonce") == nonce)
        }
    }
}
