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

    /// The claims are read straight from the payload bytes (no tree): the cases a tree reader
    /// decided by itself. Unsigned SRTs from a Bearer caller, so only the claims matter.
    @Test func claimsReadFromThePayloadBytes() throws {
        let auth = issuer.authenticator()
        let caller = AuthenticatedCaller(subject: "alice", accessToken: "t", proofKey: nil)
        func read(_ payload: [UInt8]) throws(SignedRequestTokenError) -> [UInt8] {
            let token = Base64.encodeURL(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64.encodeURL(payload) + "."
            return try auth.requestBody(fromSignedRequestToken: token, caller: caller)
        }
        func read(_ payload: String) throws(SignedRequestTokenError) -> [UInt8] { try read(Array(payload.utf8)) }
        // The last of two `requestBody` members wins; other claims of any shape are skipped.
        #expect(try read(#" { "requestBody" : "first", "x": {"a":[1,{"b":null}],"c":"\u00e9"}, "requestBody":"{\"k\":1}" } "#) == Array(#"{"k":1}"#.utf8))
        #expect(try read(#"{"requestBody":"plain"}"#) == Array("plain".utf8))
        // An escaped name is the name it spells.
        #expect(try read(#"{"request\u0042ody":"b"}"#) == Array("b".utf8))
        // Invalid UTF-8 in the body is repaired as a Swift string would be (U+FFFD).
        #expect(try read(Array(#"{"requestBody":"a"#.utf8) + [0xFF] + Array(#"\n"}"#.utf8)) == Array("a\u{FFFD}\n".utf8))
        #expect(throws: SignedRequestTokenError.invalidRequestBody) { try read(#"{"requestBody":null}"#) }
        #expect(throws: SignedRequestTokenError.invalidRequestBody) { try read(#"{"requestBody":"x","requestBody":{"a":1}}"#) }
        #expect(throws: SignedRequestTokenError.missingRequestBody) { try read(#"{"iat":1}"#) }
        #expect(throws: SignedRequestTokenError.missingRequestBody) { try read("{}") }
        // A time claim that is not a number, or JSON that is not JSON anywhere, does not parse.
        for payload in [
            #"{"requestBody":"b","exp":"soon"}"#, #"{"requestBody":"b","nbf":null}"#, #"{"requestBody":"b","x":[1,}"#,
            #"{"requestBody":"b"} x"#, #"{"requestBody":"b",}"#, #"["requestBody"]"#, #"{"requestBody":"b","iat":-}"#,
            "{" + String(repeating: #""x":{"#, count: 20) + String(repeating: "}", count: 20) + #","requestBody":"b"}"#,
        ] {
            #expect(throws: SignedRequestTokenError.couldNotParse, "\(payload)") { try read(payload) }
        }
        #expect(try read(#"{"requestBody":"b","iat":1.5e3,"exp":4102444800}"#) == Array("b".utf8))
    }
}
