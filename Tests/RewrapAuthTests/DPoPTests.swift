import RewrapAuth
import RewrapCrypto
import RewrapWire
import Testing

/// kas-server.md §4.3 rows 1–14, each failure with §4.6's 401 and `WWW-Authenticate`.
@Suite struct DPoPTests {
    let issuer: Issuer
    let client: Client
    init() throws {
        issuer = try Issuer()
        client = try Client()
    }

    /// A token bound to the client's key.
    func boundToken(_ extra: [(String, JOSEValue)] = []) throws -> String {
        try issuer.token([("cnf", .object([("jkt", .string(client.proofs.thumbprint))]))] + extra)
    }

    func run(_ auth: RequestAuthenticator, token: String, proofs: [String], scheme: String = "DPoP", client: Client? = nil)
        async -> Result<AuthenticatedCaller, AuthenticationFailure> {
        await auth.authenticate((client ?? self.client).input(token: token, scheme: scheme, proofs: proofs))
    }

    /// Expects a §4.6 "any other proof failure" answer with `reason` and the given row's text.
    func expectInvalidProof(_ result: Result<AuthenticatedCaller, AuthenticationFailure>, _ reason: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let failure = result.failure
        #expect(failure?.httpStatus == 401, sourceLocation: sourceLocation)
        #expect(failure?.code == "unauthenticated", sourceLocation: sourceLocation)
        #expect(failure?.message == "unauthenticated", sourceLocation: sourceLocation)
        #expect(header(failure, "WWW-Authenticate") == #"DPoP error="invalid_dpop_proof""#, sourceLocation: sourceLocation)
        #expect(failure?.reason.contains(reason) == true, "\(failure?.reason ?? "accepted")", sourceLocation: sourceLocation)
    }

    @Test func validProofPasses() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        let caller = try #require(await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock)]).success)
        #expect(caller.proofKey?.thumbprint == client.proofs.thumbprint)
        #expect(caller.proofKey?.algorithm == .es256)
        #expect(auth.responseHeaders().isEmpty)
        // RSA proof keys (PS256) work too.
        let rsaClient = try Client(.rsa2048, alg: .ps256)
        let rsaToken = try issuer.token([("cnf", .object([("jkt", .string(rsaClient.proofs.thumbprint))]))])
        let proof = try rsaClient.proof(token: rsaToken, clock: issuer.clock)
        #expect(await run(auth, token: rsaToken, proofs: [proof], client: rsaClient).success?.proofKey?.algorithm == .ps256)
    }

    @Test func row1ExactlyOneHeader() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        expectInvalidProof(await run(auth, token: token, proofs: []), "got 0 dpop headers, should have 1")
        let proof = try client.proof(token: token, clock: issuer.clock)
        expectInvalidProof(await run(auth, token: token, proofs: [proof, proof]), "got 2 dpop headers, should have 1")
    }

    @Test func row2CnfShape() async throws {
        let auth = issuer.authenticator(dpop: DPoPSettings(enforce: true))
        for (extra, text) in [
            ([], "missing `cnf` claim in access token"),
            ([("cnf", JOSEValue.string("x"))], "got `cnf` in an invalid format"),
            ([("cnf", .object([("x5t#S256", .string("x"))]))], "missing `jkt` field in `cnf` claim"),
            ([("cnf", .object([("jkt", .integer(1))]))], "invalid `jkt` field"),
        ] as [([(String, JOSEValue)], String)] {
            let token = try issuer.token(extra)
            expectInvalidProof(await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock)]), text)
        }
    }

    @Test func rows3to6ProofForm() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        expectInvalidProof(await run(auth, token: token, proofs: ["a.b"]), "invalid DPoP JWT")
        expectInvalidProof(await run(auth, token: token, proofs: ["a.b.c.d.e"]), "invalid DPoP JWT")
        let signer = client.proofs.signer
        let claims: [(String, JOSEValue)] = [("jti", .string("j")), ("htm", .string("POST")), ("htu", .string(client.url)),
                                             ("iat", .integer(issuer.clock.now()))]
        let jwk = JOSEValue.json(client.proofs.publicJWK)
        // Row 4: typ.
        let jwtTyp = try signer.sign(claims: claims, extraHeader: [("typ", .string("JWT")), ("jwk", jwk)])
        expectInvalidProof(await run(auth, token: token, proofs: [jwtTyp]), "invalid typ on DPoP JWT: JWT")
        // Row 5: alg outside the list (none, HS256).
        let none = Base64.encodeURL(Array(#"{"alg":"none","typ":"dpop+jwt"}"#.utf8)) + "." + Base64.encodeURL(JWSSigner.json(claims)) + "."
        expectInvalidProof(await run(auth, token: token, proofs: [none]), "unsupported algorithm specified: none")
        // Row 6: no jwk; a private jwk.
        let noJWK = try signer.sign(claims: claims, extraHeader: [("typ", .string("dpop+jwt"))])
        expectInvalidProof(await run(auth, token: token, proofs: [noJWK]), "JWK missing in DPoP JWT")
        let privateJWK = JOSEValue.json(String(client.proofs.publicJWK.dropLast()) + #","d":"AAAA"}"#)
        let withD = try signer.sign(claims: claims, extraHeader: [("typ", .string("dpop+jwt")), ("jwk", privateJWK)])
        expectInvalidProof(await run(auth, token: token, proofs: [withD]), "cannot use a private key for DPoP")
    }

    @Test func row7ProofKeyMustMatchCnf() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        let other = try Client()
        expectInvalidProof(await run(auth, token: token, proofs: [try other.proof(token: token, clock: issuer.clock)], client: other),
                           "the `jkt` from the DPoP JWT didn't match")
    }

    @Test func row8SignatureAndZeroSkewClaims() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        var parts = try client.proof(token: token, clock: issuer.clock).split(separator: ".").map(String.init)
        var signature = try #require(Base64.decode(parts[2], options: .base64URL))
        signature[0] ^= 1
        parts[2] = Base64.encodeURL(signature)
        expectInvalidProof(await run(auth, token: token, proofs: [parts.joined(separator: ".")]), "failed to verify signature on DPoP JWT")
        // iat one second in the future fails here, with zero skew.
        let future = try client.proof(token: token, clock: issuer.clock, iat: issuer.clock.now() + 1)
        expectInvalidProof(await run(auth, token: token, proofs: [future]), "failed to verify signature on DPoP JWT: `iat`")
    }

    @Test func row9IssuedAtWindow() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        let now = issuer.clock.now()
        // iat + dpopskew ≥ now passes at the boundary, one second older fails.
        #expect(await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, iat: now - 3600)]).success != nil)
        expectInvalidProof(await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, iat: now - 3601)]),
                           "the DPoP JWT has expired")
        let noIAT = try client.proofs.signer.sign(
            claims: [("jti", .string("j9")), ("htm", .string("POST")), ("htu", .string(client.url)),
                     ("ath", .string(Base64.encodeURL(CryptoPrimitives.sha256(token.utf8))))],
            extraHeader: [("typ", .string("dpop+jwt")), ("jwk", .json(client.proofs.publicJWK))])
        expectInvalidProof(await run(auth, token: token, proofs: [noIAT]), "missing `iat` claim")
    }

    @Test func rows10to12MethodURLAndTokenHash() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        expectInvalidProof(await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, method: "GET")]),
                           "incorrect `htm` claim")
        expectInvalidProof(
            await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, url: "https://kas.test:8443/kas.AccessService/PublicKey")]),
            "incorrect `htu` claim")
        expectInvalidProof(
            await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, url: "https://evil.test:8443/kas.AccessService/Rewrap")]),
            "incorrect `htu` claim")
        // ath of another token, and no ath.
        expectInvalidProof(await run(auth, token: token, proofs: [try client.proof(token: token + "x", clock: issuer.clock)]),
                           "incorrect `ath` claim in DPoP JWT")
        expectInvalidProof(await run(auth, token: token, proofs: [try client.proof(token: nil, clock: issuer.clock)]), "missing `ath` claim")
    }

    @Test func htuVariantsThatMustPass() async throws {
        let token = try boundToken()
        for (authority, url) in [
            ("kas.test", "https://kas.test:443/kas.AccessService/Rewrap"),          // Java's explicit port
            ("kas.test:443", "https://kas.test/kas.AccessService/Rewrap"),          // Go, authority with port
            ("KAS.Test:8443", "https://kas.TEST:8443/kas.AccessService/Rewrap"),    // case of the host
            ("kas.test:8080", "http://kas.test:8080/kas.AccessService/Rewrap?x=1#f"),
            ("[::1]:8443", "https://[::1]:8443/kas.AccessService/./Rewrap"),
            ("kas.test", "HTTPS://kas.test/kas.AccessService/%52ewrap"),
        ] {
            var client = self.client
            client.authority = authority
            let auth = issuer.authenticator()
            let result = await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, url: url)], client: client)
            #expect(result.success != nil, "\(authority) \(url): \(result.failure?.reason ?? "")")
        }
    }

    @Test func pathOnlyHTUPassesUnlessStrict() async throws {
        let token = try boundToken()
        let proof = { () throws -> String in try self.client.proof(token: token, clock: self.issuer.clock, url: Client.procedure) }
        #expect(await run(issuer.authenticator(), token: token, proofs: [try proof()]).success != nil)
        expectInvalidProof(await run(issuer.authenticator(dpop: DPoPSettings(strictHTU: true)), token: token, proofs: [try proof()]),
                           "incorrect `htu` claim")
    }

    @Test func row13NonceChallengeThenSuccess() async throws {
        let auth = issuer.authenticator(dpop: DPoPSettings(requireNonce: true))
        let token = try boundToken()
        let first = await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock)]).failure
        #expect(first?.httpStatus == 401)
        #expect(header(first, "WWW-Authenticate") == #"DPoP error="use_dpop_nonce""#)
        let nonce = try #require(header(first, "DPoP-Nonce"))
        #expect(nonce.count == 32 && nonce.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(auth.responseHeaders().first?.1 == nonce)
        let retry = await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, nonce: nonce)])
        #expect(retry.success != nil, "\(retry.failure?.reason ?? "")")
        // A stale nonce is a challenge again; a non-string one is a proof error (with the nonce header).
        let stale = await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, nonce: "00")]).failure
        #expect(header(stale, "WWW-Authenticate") == #"DPoP error="use_dpop_nonce""#)
        #expect(stale?.reason.contains("invalid or expired `nonce` claim") == true)
        let badType = try client.proofs.signer.sign(
            claims: [("jti", .string("n1")), ("htm", .string("POST")), ("htu", .string(client.url)), ("iat", .integer(issuer.clock.now())),
                     ("ath", .string(Base64.encodeURL(CryptoPrimitives.sha256(token.utf8)))), ("nonce", .integer(5))],
            extraHeader: [("typ", .string("dpop+jwt")), ("jwk", .json(client.proofs.publicJWK))])
        let malformed = await run(auth, token: token, proofs: [badType])
        expectInvalidProof(malformed, "`nonce` claim invalid format")
        #expect(header(malformed.failure, "DPoP-Nonce") == nonce)
        // Token failures carry the nonce too (once, with no WWW-Authenticate).
        let expired = await run(auth, token: try issuer.token([("exp", .integer(0))]), proofs: [])
        #expect(expired.failure?.headers.map(\.0) == ["DPoP-Nonce"])
    }

    @Test func htmAndHTUClaimShapes() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        let ath = Base64.encodeURL(CryptoPrimitives.sha256(token.utf8))
        for (claims, text) in [
            ([("htu", JOSEValue.string(client.url))], "`htm` claim missing"),
            ([("htm", .integer(1)), ("htu", .string(client.url))], "`htm` claim invalid format"),
            ([("htm", .string("POST"))], "`htu` claim missing"),
            ([("htm", .string("POST")), ("htu", .strings([client.url]))], "`htu` claim invalid format"),
        ] as [([(String, JOSEValue)], String)] {
            let proof = try client.proofs.signer.sign(
                claims: [("jti", .string(text)), ("iat", .integer(issuer.clock.now())), ("ath", .string(ath))] + claims,
                extraHeader: [("typ", .string("dpop+jwt")), ("jwk", .json(client.proofs.publicJWK))])
            expectInvalidProof(await run(auth, token: token, proofs: [proof]), text)
        }
    }

    @Test func nonceRotationKeepsThePreviousValue() {
        let clock = ManualAuthClock()
        let nonces = DPoPNonces(expiration: 300, clock: clock)
        let first = nonces.current()
        clock.advance(by: 299)
        #expect(nonces.current() == first)
        clock.advance(by: 1)
        let second = nonces.current()
        #expect(second != first)
        #expect(nonces.isValid(first) && nonces.isValid(second))
        clock.advance(by: 300)
        let third = nonces.current()
        #expect(!nonces.isValid(first) && nonces.isValid(second) && nonces.isValid(third))
    }

    @Test func row14ReplayedJTI() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        let proof = try client.proof(token: token, clock: issuer.clock)
        #expect(await run(auth, token: token, proofs: [proof]).success != nil)
        expectInvalidProof(await run(auth, token: token, proofs: [proof]), "DPoP proof replay detected; `jti` already used")
        let noJTI = try client.proofs.signer.sign(
            claims: [("htm", .string("POST")), ("htu", .string(client.url)), ("iat", .integer(issuer.clock.now())),
                     ("ath", .string(Base64.encodeURL(CryptoPrimitives.sha256(token.utf8))))],
            extraHeader: [("typ", .string("dpop+jwt")), ("jwk", .json(client.proofs.publicJWK))])
        expectInvalidProof(await run(auth, token: token, proofs: [noJTI]), "missing `jti` claim")
    }

    @Test func failedProofsDoNotEnterTheReplayCache() async throws {
        let auth = issuer.authenticator()
        let token = try boundToken()
        _ = await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, method: "GET", jti: "same")])
        #expect(await run(auth, token: token, proofs: [try client.proof(token: token, clock: issuer.clock, jti: "same")]).success != nil)
    }

    @Test func replayCacheExpiresAndRefusesWhenFull() {
        let cache = DPoPReplayCache(ttl: 10, capacity: 2, now: 0)
        #expect(cache.record("a", now: 0) == .fresh)
        #expect(cache.record("a", now: 9) == .replayed)
        #expect(cache.record("b", now: 5) == .fresh)
        // Full: refused, not forgotten (the early sweep finds nothing expired).
        #expect(cache.record("c", now: 6) == .full)
        #expect(cache.record("a", now: 6) == .replayed)
        // a expires at 10: the sweep frees its slot.
        #expect(cache.record("a", now: 10) == .fresh)
        #expect(cache.record("c", now: 16) == .fresh)
        #expect(cache.count == 2)
    }

    @Test func enforceRequiresAProofForCnfLessTokens() async throws {
        let token = try issuer.token()
        expectInvalidProof(await run(issuer.authenticator(dpop: DPoPSettings(enforce: true)), token: token, proofs: []),
                           "got 0 dpop headers")
        // A cnf token under the Bearer scheme still needs its proof.
        expectInvalidProof(await run(issuer.authenticator(), token: try boundToken(), proofs: [], scheme: "Bearer"), "got 0 dpop headers")
    }
}

/// ProofKeyCache: one parse per DPoP key, the same key for every spelling of it.
@Suite struct ProofKeyCacheTests {
    @Test func parsesOncePerKey() throws {
        let cache = ProofKeyCache(capacity: 2)
        let keys = try (0..<3).map { _ in try PrivateKey.generate(.ecP256).publicKey }
        let jwks = try keys.map { try #require(JSONValue.parse(Array($0.jwkJSON().utf8))) }
        let (first, thumbprint) = try cache.key(for: jwks[0])
        #expect(thumbprint == (try keys[0].jwkThumbprint()))
        #expect(try cache.key(for: jwks[0]).0 === first)
        // Extra members and another member order name the same key.
        let spelled = try #require(JSONValue.parse(Array((String(try keys[0].jwkJSON().dropLast()) + #","kid":"x","alg":"ES256"}"#).utf8)))
        #expect(try cache.key(for: spelled).0 === first)
        _ = try cache.key(for: jwks[1])
        _ = try cache.key(for: jwks[2])
        #expect(cache.count == 2)
        #expect(try cache.key(for: jwks[0]).0 !== first)  // evicted, parsed again
        // Invalid keys are refused and not cached.
        let off = try #require(JSONValue.parse(Array(#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5b0"}"#.utf8)))
        #expect(throws: CryptoError.invalidPoint) { try cache.key(for: off) }
        #expect(throws: CryptoError.invalidPoint) { try cache.key(for: off) }
    }
}
