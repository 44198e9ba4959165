import RewrapAuth
import RewrapCrypto
import Synchronization
import Testing

/// A fake issuer behind `HTTPFetching`: routes by URL, counts fetches, can fail.
final class FakeFetcher: HTTPFetching {
    let routes = Mutex<[String: HTTPFetchResponse]>([:])
    let fetches = Mutex<[String]>([])

    func set(_ url: String, status: Int = 200, headers: [(String, String)] = [], _ body: String) {
        routes.withLock { $0[url] = HTTPFetchResponse(status: status, headers: headers, body: Array(body.utf8)) }
    }

    func count(_ url: String) -> Int { fetches.withLock { $0.filter { $0 == url }.count } }

    func get(_ url: String, maxBytes: Int) async throws(HTTPFetchError) -> HTTPFetchResponse {
        fetches.withLock { $0.append(url) }
        guard let response = routes.withLock({ $0[url] }) else { throw .transport("connection refused") }
        guard response.body.count <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        return response
    }
}

@Suite struct OIDCKeysTests {
    static let issuerURL = "https://idp.test/realms/opentdf"
    static let jwksURL = "https://idp.test/certs"

    static func jwks(_ keys: [(String, PrivateKey)]) throws -> String {
        let members = try keys.map { kid, key in
            String(try key.publicKey.jwkJSON().dropLast()) + #","kid":"\#(kid)","use":"sig"}"#
        }
        return #"{"keys":[\#(members.joined(separator: ","))]}"#
    }

    func fetcher(issuerInDocument: String = issuerURL, keys: [(String, PrivateKey)]) throws -> FakeFetcher {
        let fake = FakeFetcher()
        fake.set(Self.issuerURL + "/.well-known/openid-configuration",
                 #"{"issuer":"\#(issuerInDocument)","jwks_uri":"\#(Self.jwksURL)","token_endpoint":"https://idp.test/token"}"#)
        fake.set(Self.jwksURL, try Self.jwks(keys))
        return fake
    }

    @Test func discoveryThenKeys() async throws {
        let key = try PrivateKey.generate(.rsa2048)
        let fake = try fetcher(issuerInDocument: "https://idp.test/realms/opentdf-doc", keys: [("k1", key)])
        let oidc = try await OIDCKeys.discover(issuer: Self.issuerURL + "/", fetcher: fake, clock: ManualAuthClock())
        // The document's issuer wins for the iss check.
        #expect(oidc.issuer == "https://idp.test/realms/opentdf-doc")
        #expect(oidc.jwksURI == Self.jwksURL)
        #expect(oidc.keySet.keys["k1"]?.algorithms.count == 6)
    }

    @Test func startFailsWithoutIssuerOrKeys() async throws {
        let fake = FakeFetcher()
        await #expect(throws: OIDCError.self) { try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake) }
        fake.set(Self.issuerURL + "/.well-known/openid-configuration", status: 404, "{}")
        await #expect(throws: OIDCError.status(url: Self.issuerURL + "/.well-known/openid-configuration", 404)) {
            try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake)
        }
        fake.set(Self.issuerURL + "/.well-known/openid-configuration", #"{"issuer":"x","jwks_uri":"\#(Self.jwksURL)"}"#)
        await #expect(throws: OIDCError.self) { try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake) }
        fake.set(Self.jwksURL, "not json")
        await #expect(throws: OIDCError.jwks(.malformed("not an object with a `keys` array"))) {
            try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake)
        }
        fake.set(Self.jwksURL, String(repeating: " ", count: OIDCKeys.maxJWKSBytes + 1))
        await #expect(throws: OIDCError.fetch(url: Self.jwksURL, .tooLarge(limit: OIDCKeys.maxJWKSBytes))) {
            try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake)
        }
    }

    @Test func unknownKidRefetchIsRateLimited() async throws {
        let old = try PrivateKey.generate(.ecP256), new = try PrivateKey.generate(.ecP256)
        let clock = ManualAuthClock()
        let fake = try fetcher(keys: [("old", old)])
        let oidc = try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake, clock: clock)
        let verifier = AccessTokenVerifier(
            settings: AccessTokenSettings(issuer: Self.issuerURL, audience: "kas"), keys: oidc, clock: clock)
        func token(_ kid: String, _ key: PrivateKey) throws -> String {
            try JWSSigner(key: key, keyID: kid).sign(claims: [("iss", .string(Self.issuerURL)), ("aud", .string("kas")), ("sub", .string("s"))])
        }
        // The issuer rotates; the first token under the new kid triggers one refetch and passes.
        fake.set(Self.jwksURL, try Self.jwks([("old", old), ("new", new)]))
        #expect(try await verifier.verify(token("new", new)).subject == "s")
        #expect(fake.count(Self.jwksURL) == 2)
        // Unknown kids within 30 s do not refetch; after 30 s one more is allowed.
        await #expect(throws: AccessTokenError.unknownKeyID("ghost")) { try await verifier.verify(token("ghost", new)) }
        #expect(fake.count(Self.jwksURL) == 2)
        clock.advance(by: 30)
        await #expect(throws: AccessTokenError.unknownKeyID("ghost")) { try await verifier.verify(token("ghost", new)) }
        #expect(fake.count(Self.jwksURL) == 3)
    }

    @Test func refreshRemovesKeysAndKeepsTheSetOnFailure() async throws {
        let a = try PrivateKey.generate(.rsa2048), b = try PrivateKey.generate(.ecP384)
        let fake = try fetcher(keys: [("a", a), ("b", b)])
        let oidc = try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake, clock: ManualAuthClock())
        #expect(oidc.keySet.keys["b"]?.algorithms == [.es384])
        let generation = oidc.keySet.generation
        fake.set(Self.jwksURL, try Self.jwks([("b", b)]))
        try await oidc.refresh()
        #expect(oidc.keySet.keys["a"] == nil)
        #expect(oidc.keySet.generation > generation)
        fake.set(Self.jwksURL, status: 500, "")
        await #expect(throws: OIDCError.self) { try await oidc.refresh() }
        #expect(oidc.keySet.keys["b"] != nil)
    }

    @Test func cachedTokenStopsValidatingWhenARefreshDropsItsKey() async throws {
        let a = try PrivateKey.generate(.ecP256), b = try PrivateKey.generate(.ecP256)
        let clock = ManualAuthClock()
        let fake = try fetcher(keys: [("a", a), ("b", b)])
        let oidc = try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake, clock: clock)
        let verifier = AccessTokenVerifier(settings: AccessTokenSettings(issuer: oidc.issuer, audience: "kas"), keys: oidc, clock: clock)
        let token = try JWSSigner(key: a, keyID: "a").sign(claims: [
            ("iss", .string(Self.issuerURL)), ("aud", .string("kas")), ("sub", .string("s")), ("exp", .integer(clock.now() + 600)),
        ])
        _ = try await verifier.verify(token)
        _ = try await verifier.verify(token)
        #expect(verifier.signatureVerificationCount == 1)
        fake.set(Self.jwksURL, try Self.jwks([("b", b)]))
        try await oidc.refresh()
        // The unknown-kid refetch is allowed once (it finds no `a` either); the token is refused.
        await #expect(throws: AccessTokenError.unknownKeyID("a")) { try await verifier.verify(token) }
    }

    @Test func cacheControlMaxAgeLengthensTheRefreshInterval() async throws {
        let fake = try fetcher(keys: [("a", try PrivateKey.generate(.ecP256))])
        let oidc = try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake, refreshInterval: .seconds(900))
        #expect(oidc.nextRefreshDelay == .seconds(900))
        fake.set(Self.jwksURL, headers: [("Cache-Control", "public, max-age=3600")], try Self.jwks([("a", try PrivateKey.generate(.ecP256))]))
        try await oidc.refresh()
        #expect(oidc.nextRefreshDelay == .seconds(3600))
        // Shorter than the minimum interval, or absurdly long: the minimum, or a day.
        fake.set(Self.jwksURL, headers: [("cache-control", "max-age=60")], try Self.jwks([("a", try PrivateKey.generate(.ecP256))]))
        try await oidc.refresh()
        #expect(oidc.nextRefreshDelay == .seconds(900))
        fake.set(Self.jwksURL, headers: [("Cache-Control", "max-age=99999999")], try Self.jwks([("a", try PrivateKey.generate(.ecP256))]))
        try await oidc.refresh()
        #expect(oidc.nextRefreshDelay == .seconds(86_400))
    }

    @Test func runLoopEndsOnCancellation() async throws {
        let fake = try fetcher(keys: [("a", try PrivateKey.generate(.ecP256))])
        let oidc = try await OIDCKeys.discover(issuer: Self.issuerURL, fetcher: fake, refreshInterval: .seconds(3600))
        let loop = Task { await oidc.run() }
        loop.cancel()
        await loop.value  // returns without a refresh
        #expect(fake.count(Self.jwksURL) == 1)
    }

    @Test func jwksEntriesThatCannotVerifyAreSkipped() throws {
        let key = try PrivateKey.generate(.ecP256)
        let jwk = String(try key.publicKey.jwkJSON().dropLast())
        let document = #"{"keys":[\#(jwk),"kid":"enc","use":"enc"},\#(jwk),"kid":"hs","alg":"HS256"},\#(jwk)},{"kty":"oct","kid":"o","k":"AA"},\#(jwk),"kid":"ok","alg":"ES256"}]}"#
        let set = try JSONWebKeySet(json: Array(document.utf8), generation: 1)
        #expect(Array(set.keys.keys) == ["ok"])
        #expect(set.skipped == 4)
    }
}
