import RewrapAuth
import RewrapCrypto
import Testing

/// VerifiedTokenCache: a hit skips the signature check, and ends with the token or its key.
@Suite struct TokenCacheTests {
    @Test func hitSkipsVerificationAndExpiresWithTheToken() async throws {
        let issuer = try Issuer()
        let auth = issuer.authenticator()
        let token = try issuer.token()  // exp = now + 300, skew 60
        let input = AuthenticationInput(method: "POST", authority: "kas.test", procedurePath: Client.procedure,
                                        authorization: ["Bearer \(token)"], dpop: [])
        #expect(await auth.authenticate(input).success != nil)
        #expect(auth.tokens.signatureVerificationCount == 1)
        for _ in 0..<5 { #expect(await auth.authenticate(input).success != nil) }
        #expect(auth.tokens.signatureVerificationCount == 1)
        // The cache's bound is the token's own lifetime: at exp + skew it is refused again.
        issuer.clock.advance(by: 359)
        #expect(await auth.authenticate(input).success != nil)
        issuer.clock.advance(by: 1)
        #expect(await auth.authenticate(input).failure?.reason.contains("expired") == true)
        #expect(auth.tokens.signatureVerificationCount == 2)
    }

    @Test func jwksRefreshThatRemovesTheKeyEndsCachedTokens() async throws {
        let issuer = try Issuer()
        let auth = issuer.authenticator()
        let token = try issuer.token()
        let input = AuthenticationInput(method: "POST", authority: "kas.test", procedurePath: Client.procedure,
                                        authorization: ["Bearer \(token)"], dpop: [])
        #expect(await auth.authenticate(input).success != nil)
        // A refresh with the same keys keeps the entry (no new verification).
        issuer.keys.replace(with: try Issuer.set([("rsa-1", issuer.rsa), ("ec-1", issuer.ec)], generation: 2))
        #expect(await auth.authenticate(input).success != nil)
        #expect(auth.tokens.signatureVerificationCount == 1)
        // rsa-1 rotated out: the cached token is re-verified and fails.
        issuer.keys.replace(with: try Issuer.set([("ec-1", issuer.ec)], generation: 3))
        #expect(await auth.authenticate(input).failure?.reason.contains("no JWKS key with kid rsa-1") == true)
        // Same kid, other key material: also refused.
        issuer.keys.replace(with: try Issuer.set([("rsa-1", PrivateKey.generate(.rsa2048))], generation: 4))
        #expect(await auth.authenticate(input).failure?.reason.contains("signature invalid") == true)
    }

    @Test func boundedOldestEvicted() async throws {
        let issuer = try Issuer()
        let cache = VerifiedTokenCache(capacity: 3)
        let auth = issuer.authenticator(cache: cache)
        var tokens: [String] = []
        for index in 0..<4 {
            let token = try issuer.token([("jti", .string("t\(index)"))])
            tokens.append(token)
            #expect(try await auth.tokens.verify(token).subject == "alice")
        }
        #expect(cache.count == 3)
        #expect(auth.tokens.signatureVerificationCount == 4)
        _ = try await auth.tokens.verify(tokens[3])
        #expect(auth.tokens.signatureVerificationCount == 4)
        _ = try await auth.tokens.verify(tokens[0])  // evicted first
        #expect(auth.tokens.signatureVerificationCount == 5)
    }
}
