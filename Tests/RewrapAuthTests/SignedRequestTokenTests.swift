import RewrapAuth
import RewrapCrypto
import RewrapWire
import Testing

/// kas-server.md §4.5 / opentdf-rewrap.md §3.3 through `RequestAuthenticator.requestBody`.
@Suite struct SignedRequestTokenTests {
    let issuer: Issuer
    let client: Client
    let body = #"{"clientPublicKey":"-----BEGIN PUBLIC KEY-----\n…","requests":[]}"#
    init() throws {
        issuer = try Issuer()
        client = try Client()
    }

    /// A caller that passed a DPoP proof with the client's key.
    func provenCaller(_ auth: RequestAuthenticator) async throws -> AuthenticatedCaller {
        let token = try issuer.token([("cnf", .object([("jkt", .string(client.proofs.thumbprint))]))])
        let proof = try client.proof(token: token, clock: issuer.clock)
        return try #require(await auth.authenticate(client.input(token: token, proofs: [proof])).success)
    }

    @Test func signedByTheDPoPKeyPasses() async throws {
        let auth = issuer.authenticator()
        let caller = try await provenCaller(auth)
        let srt = try SignedRequestToken.make(requestBody: body, signer: client.proofs.signer, issuedAt: issuer.clock.now())
        #expect(try auth.requestBody(fromSignedRequestToken: srt, caller: caller) == Array(body.utf8))
    }

    @Test func signedByAnotherKeyFails() async throws {
        let auth = issuer.authenticator()
        let caller = try await provenCaller(auth)
        // Java's case: a separate RSA key when the DPoP key is EC.
        let other = try JWSSigner(key: PrivateKey.generate(.rsa2048))
        let srt = try SignedRequestToken.make(requestBody: body, signer: other, issuedAt: issuer.clock.now())
        #expect(throws: SignedRequestTokenError.unableToVerify) { try auth.requestBody(fromSignedRequestToken: srt, caller: caller) }
        #expect(SignedRequestTokenError.unableToVerify.httpStatus == 401)
        // alg none under a proof is refused too.
        let none = Base64.encodeURL(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64.encodeURL(JWSSigner.json([("requestBody", .string(body))])) + "."
        #expect(throws: SignedRequestTokenError.unableToVerify) { try auth.requestBody(fromSignedRequestToken: none, caller: caller) }
    }

    @Test func bearerWithoutCnfAcceptsUnsignedSRT() async throws {
        let auth = issuer.authenticator()
        let caller = try #require(await auth.authenticate(client.input(token: try issuer.token(), scheme: "Bearer", proofs: [])).success)
        #expect(caller.proofKey == nil)
        // Signed by anyone (Python SDK: RS256, unverified) or not at all.
        let unsigned = Base64.encodeURL(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64.encodeURL(JWSSigner.json([("requestBody", .string(body))])) + "."
        #expect(try auth.requestBody(fromSignedRequestToken: unsigned, caller: caller) == Array(body.utf8))
        let stranger = try SignedRequestToken.make(requestBody: body, signer: JWSSigner(key: PrivateKey.generate(.ecP256)), issuedAt: issuer.clock.now())
        #expect(try auth.requestBody(fromSignedRequestToken: stranger, caller: caller) == Array(body.utf8))
    }

    @Test func bodyClaimAndParseErrors() async throws {
        let auth = issuer.authenticator()
        let caller = AuthenticatedCaller(subject: "alice", accessToken: "t", proofKey: nil)
        let signer = client.proofs.signer
        #expect(throws: SignedRequestTokenError.missingRequestBody) {
            try auth.requestBody(fromSignedRequestToken: try signer.sign(claims: [("iat", .integer(issuer.clock.now()))]), caller: caller)
        }
        #expect(throws: SignedRequestTokenError.invalidRequestBody) {
            try auth.requestBody(fromSignedRequestToken: try signer.sign(claims: [("requestBody", .json(#"{"requests":[]}"#))]), caller: caller)
        }
        #expect(SignedRequestTokenError.invalidRequestBody.httpStatus == 400)
        #expect(SignedRequestTokenError.invalidRequestBody.code == "invalid_argument")
        #expect(throws: SignedRequestTokenError.couldNotParse) { try auth.requestBody(fromSignedRequestToken: "garbage", caller: caller) }
        #expect(SignedRequestTokenError.couldNotParse.httpStatus == 401)
        let noToken = AuthenticatedCaller(subject: "", accessToken: "", proofKey: nil)
        #expect(throws: SignedRequestTokenError.missingAccessToken) {
            try auth.requestBody(fromSignedRequestToken: "a.b.c", caller: noToken)
        }
    }

    @Test func timeClaimsOnlyWhenPresent() async throws {
        let auth = issuer.authenticator()
        let caller = AuthenticatedCaller(subject: "alice", accessToken: "t", proofKey: nil)
        let signer = client.proofs.signer
        let now = issuer.clock.now()
        // No exp: never expires.
        let eternal = try signer.sign(claims: [("requestBody", .string(body))])
        issuer.clock.advance(by: 10 * 365 * 86_400)
        #expect(try auth.requestBody(fromSignedRequestToken: eternal, caller: caller).count == body.utf8.count)
        issuer.clock.set(now)
        let srt = try SignedRequestToken.make(requestBody: body, signer: signer, issuedAt: now)  // exp = now + 60
        issuer.clock.advance(by: 119)
        #expect(throws: Never.self) { try auth.requestBody(fromSignedRequestToken: srt, caller: caller) }
        issuer.clock.advance(by: 1)
        // Expired without a proof: the unverified parse fails (opentdf-rewrap.md §4.4).
        #expect(throws: SignedRequestTokenError.couldNotParse) { try auth.requestBody(fromSignedRequestToken: srt, caller: caller) }
        let notYet = try signer.sign(claims: [("requestBody", .string(body)), ("nbf", .integer(issuer.clock.now() + 61))])
        #expect(throws: SignedRequestTokenError.couldNotParse) { try auth.requestBody(fromSignedRequestToken: notYet, caller: caller) }
    }

    @Test func expiredUnderAProofIsUnableToVerify() async throws {
        let auth = issuer.authenticator()
        let caller = try await provenCaller(auth)
        let srt = try SignedRequestToken.make(requestBody: body, signer: client.proofs.signer, issuedAt: issuer.clock.now() - 120)
        #expect(throws: SignedRequestTokenError.unableToVerify) { try auth.requestBody(fromSignedRequestToken: srt, caller: caller) }
    }
}
