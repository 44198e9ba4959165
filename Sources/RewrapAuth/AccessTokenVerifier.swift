import RewrapCrypto
import RewrapWire
import Synchronization

/// What an access token is checked against (kas-server.md §4.2; `server.auth.*`).
public struct AccessTokenSettings: Sendable {
    /// The `iss` to require: the discovery document's `issuer` (§4.2 step 1), not the configured URL.
    public var issuer: String
    /// `server.auth.audience`: must be in `aud`.
    public var audience: String
    /// `server.auth.skew`, whole seconds (default 1 min).
    public var skew: Int64
    /// Longest token accepted (bytes).
    public var maxTokenBytes: Int

    public init(issuer: String, audience: String, skew: Int64 = 60, maxTokenBytes: Int = CompactJWS.defaultMaxLength) {
        self.issuer = issuer
        self.audience = audience
        self.skew = skew
        self.maxTokenBytes = maxTokenBytes
    }
}

/// Verifies access tokens (kas-server.md §4.2 steps 3–4) against the issuer's JWKS, with an
/// optional cache of tokens already verified.
public final class AccessTokenVerifier: Sendable {
    public let settings: AccessTokenSettings
    private let keys: any JSONWebKeySetSource
    private let clock: any AuthClock
    public let cache: VerifiedTokenCache?
    /// Signature verifications performed: the test seam that shows a cache hit skips the work.
    private let verifications = Atomic<Int>(0)

    public init(settings: AccessTokenSettings, keys: any JSONWebKeySetSource, clock: any AuthClock = SystemAuthClock(),
                cache: VerifiedTokenCache? = VerifiedTokenCache()) {
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.cache = cache
    }

    public var signatureVerificationCount: Int { verifications.load(ordering: .relaxed) }

    public func verify(_ token: String) async throws(AccessTokenError) -> VerifiedAccessToken {
        // Bounded before anything else, the cache's digest included.
        guard token.utf8.count <= settings.maxTokenBytes else { throw .malformed(.tooLarge(limit: settings.maxTokenBytes)) }
        let now = clock.now()
        var set = keys.keySet
        let digest = VerifiedTokenCache.digest(of: token)
        if let cached = cache?.lookup(digest: digest, now: now, keySet: set) { return cached }
        let jws: CompactJWS
        do {
            jws = try CompactJWS(parsing: token, maxLength: settings.maxTokenBytes)
        } catch {
            throw .malformed(error)
        }
        // §4.2 step 3: `kid` is required ([JWX] WithKeySet implies RequireKid).
        guard let kid = jws.header[exact: "kid"]?.stringValue else { throw .missingKeyID }
        var entry = set.keys[kid]
        if entry == nil, let refreshed = await keys.refetchForUnknownKid() {
            set = refreshed
            entry = set.keys[kid]
        }
        guard let entry else { throw .unknownKeyID(kid) }
        // The header alg must be one the key allows; `none` and HS* are not JWSAlgorithm cases,
        // so they can never be (no HMAC with the public key as secret, RFC 8725 §2.1).
        let name = jws.algorithmName ?? ""
        guard let alg = JWSAlgorithm(rawValue: name), entry.algorithms.contains(alg) else { throw .algorithmNotAllowed(name) }
        verifications.add(1, ordering: .relaxed)
        guard jws.verifies(with: entry.key, algorithm: alg) else { throw .badSignature }
        let verified = try Self.checkClaims(jws, settings: settings, now: now, keyID: kid, thumbprint: entry.thumbprint)
        cache?.insert(verified, digest: digest, generation: set.generation, validUntil: verified.expiresAt.map { $0 + settings.skew }, now: now)
        return verified
    }

    /// §4.2 step 4: `iss` exact; `aud` string or array containing the audience; time claims
    /// when present, whole seconds with skew: reject now ≥ exp + skew, now < nbf − skew,
    /// now < iat − skew ([JWX] default validators).
    static func checkClaims(
        _ jws: CompactJWS, settings: AccessTokenSettings, now: Int64, keyID: String, thumbprint: String
    ) throws(AccessTokenError) -> VerifiedAccessToken {
        let claims = jws.claims
        guard claims[exact: "iss"]?.stringValue == settings.issuer else { throw .wrongIssuer }
        switch claims[exact: "aud"] {
        case .string(let audience)?:
            guard audience == settings.audience else { throw .wrongAudience }
        case .array(let audiences)?:
            guard audiences.contains(where: { $0.stringValue == settings.audience }) else { throw .wrongAudience }
        default:
            throw .wrongAudience
        }
        let exp = try numericDate(claims, "exp"), nbf = try numericDate(claims, "nbf"), iat = try numericDate(claims, "iat")
        if let exp, now >= exp + settings.skew { throw .expired }
        if let nbf, now < nbf - settings.skew { throw .notYetValid }
        if let iat, now < iat - settings.skew { throw .issuedInFuture }
        let subject = try string(claims, "sub"), azp = try string(claims, "azp")
        return VerifiedAccessToken(
            rawToken: jws.token, subject: subject, authorizedParty: azp, expiresAt: exp, keyID: keyID,
            keyThumbprint: thumbprint, claims: claims,
            proofHash: Base64.encodeURL(CryptoPrimitives.sha256(jws.token.utf8)))
    }

    private static func numericDate(_ claims: JSONValue, _ name: String) throws(AccessTokenError) -> Int64? {
        guard let value = claims[exact: name] else { return nil }
        guard let date = value.numericDate else { throw .invalidClaim(name) }
        return date
    }

    private static func string(_ claims: JSONValue, _ name: String) throws(AccessTokenError) -> String? {
        guard let value = claims[exact: name] else { return nil }
        guard let text = value.stringValue else { throw .invalidClaim(name) }
        return text
    }
}
