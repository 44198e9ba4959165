import RewrapCrypto
import RewrapWire

/// The public key of a validated DPoP proof: what the SRT is verified under (kas-server.md §4.5).
public struct ProofKey: Sendable {
    public let key: PublicKey
    /// RFC 7638 thumbprint (== the token's `cnf.jkt`).
    public let thumbprint: String
    /// The proof's header `alg`.
    public let algorithm: JWSAlgorithm
}

/// DPoP proof validation (RFC 9449 §4.3) in the platform's order, kas-server.md §4.3 rows 1–14.
/// Each failure carries its row's log text; the caller maps it to §4.6.
public final class DPoPVerifier: Sendable {
    public let settings: DPoPSettings
    /// Present when `settings.requireNonce`.
    public let nonces: DPoPNonces?
    public let replayCache: DPoPReplayCache
    public let keyCache: ProofKeyCache
    private let htuMatches = HTUMatchCache()
    private let clock: any AuthClock

    public static let typ = "dpop+jwt"
    /// Largest proof accepted: a proof is a header with one public JWK plus a few claims.
    public static let maxProofBytes = 16 << 10

    public init(settings: DPoPSettings = DPoPSettings(), clock: any AuthClock = SystemAuthClock(),
                keyCache: ProofKeyCache = ProofKeyCache()) {
        self.settings = settings
        self.clock = clock
        self.keyCache = keyCache
        self.nonces = settings.requireNonce ? DPoPNonces(expiration: settings.nonceExpiration, clock: clock) : nil
        self.replayCache = DPoPReplayCache(ttl: settings.dpopSkew, capacity: settings.replayCacheCapacity, now: clock.now())
    }

    /// Rows 1–14 for a request carrying `token`.
    public func verify(
        proofHeaders: [String], token: VerifiedAccessToken, method: String, authority: String, procedurePath: String
    ) throws(DPoPFailure) -> ProofKey {
        // Row 1.
        guard proofHeaders.count == 1 else { throw DPoPFailure(1, "got \(proofHeaders.count) dpop headers, should have 1") }
        // Row 2.
        guard let cnf = token.claims[exact: "cnf"] else { throw DPoPFailure(2, "missing `cnf` claim in access token") }
        guard cnf.isObject else { throw DPoPFailure(2, "got `cnf` in an invalid format") }
        guard let jktValue = cnf[exact: "jkt"] else {
            throw DPoPFailure(2, "missing `jkt` field in `cnf` claim. only thumbprint JWK confirmation is supported")
        }
        guard let jkt = jktValue.stringValue else { throw DPoPFailure(2, "invalid `jkt` field in `cnf` claim") }
        let (proof, key) = try checkProof(
            proofHeaders[0], expectedThumbprint: jkt, method: method,
            htuMatches: { [htuMatches, settings] in
                htuMatches.matches($0, authority: authority, procedurePath: procedurePath, strict: settings.strictHTU)
            })
        // Row 12: `ath` binds the proof to this token (RFC 9449 §4.3 check 11).
        guard let ath = proof.claims[exact: "ath"] else { throw DPoPFailure(12, "missing `ath` claim in DPoP JWT") }
        guard ath.stringValue.map({ Self.constantTimeEqual($0, token.proofHash) }) == true else {
            throw DPoPFailure(12, "incorrect `ath` claim in DPoP JWT")
        }
        // Row 13.
        if let nonces {
            guard let nonce = proof.claims[exact: "nonce"] else {
                throw DPoPFailure(13, "missing `nonce` claim in DPoP JWT", kind: .useNonce)
            }
            guard let text = nonce.stringValue else { throw DPoPFailure(13, "`nonce` claim invalid format in DPoP JWT") }
            guard nonces.isValid(text) else { throw DPoPFailure(13, "invalid or expired `nonce` claim in DPoP JWT", kind: .useNonce) }
        }
        // Row 14, last: only a proof that passed everything else enters the cache.
        try recordJTI(proof)
        return key
    }

    /// Rows 3–11 on their own (no token: rows 2, 7's `cnf` and 12–14 skipped unless asked):
    /// what an authorization server checks on a token request (RFC 9449 §5). `htu` must equal
    /// one of `expectedURLs` after normalisation.
    public func verifyProof(_ proof: String, method: String, expectedURLs: [String], recordJTI record: Bool = true) throws(DPoPFailure) -> ProofKey {
        let expected = Set(expectedURLs.compactMap(HTU.normalize))
        let (jws, key) = try checkProof(proof, expectedThumbprint: nil, method: method, htuMatches: { htu in
            HTU.normalize(htu).map { expected.contains($0) } ?? false
        })
        if record { try recordJTI(jws) }
        return key
    }

    private func recordJTI(_ proof: CompactJWS) throws(DPoPFailure) {
        guard let jtiValue = proof.claims[exact: "jti"] else { throw DPoPFailure(14, "missing `jti` claim in DPoP JWT") }
        guard let jti = jtiValue.stringValue, !jti.isEmpty, jti.utf8.count <= 256 else {
            throw DPoPFailure(14, "`jti` claim invalid format in DPoP JWT")
        }
        switch replayCache.record(jti, now: clock.now()) {
        case .fresh: return
        case .replayed: throw DPoPFailure(14, "DPoP proof replay detected; `jti` already used")
        case .full: throw DPoPFailure(14, "DPoP replay cache is full; refusing new proofs until entries expire")
        }
    }

    /// Rows 3–11 (7 only with a thumbprint to match).
    private func checkProof(
        _ text: String, expectedThumbprint: String?, method: String, htuMatches: (String) -> Bool
    ) throws(DPoPFailure) -> (CompactJWS, ProofKey) {
        // Row 3: a compact JWS has exactly one signature by construction.
        let proof: CompactJWS
        do {
            proof = try CompactJWS(parsing: text, maxLength: Self.maxProofBytes, maxDepth: 8)
        } catch {
            throw DPoPFailure(3, "invalid DPoP JWT")
        }
        // Row 4.
        let typ = proof.header[exact: "typ"]?.stringValue
        guard typ == Self.typ else { throw DPoPFailure(4, "invalid typ on DPoP JWT: \(String((typ ?? "").prefix(32)))") }
        // Row 5: asymmetric only ([P] authn.go:58-68).
        let algName = proof.algorithmName ?? ""
        guard let alg = JWSAlgorithm(rawValue: algName) else {
            throw DPoPFailure(5, "unsupported algorithm specified: \(String(algName.prefix(16)))")
        }
        // Row 6.
        guard let jwk = proof.header[exact: "jwk"] else { throw DPoPFailure(6, "JWK missing in DPoP JWT") }
        guard !PublicKey.jwkHasPrivateMembers(jwk) else { throw DPoPFailure(6, "cannot use a private key for DPoP") }
        let key: PublicKey
        let thumbprint: String
        do {
            (key, thumbprint) = try keyCache.key(for: jwk)
        } catch {
            throw DPoPFailure(6, "invalid JWK in DPoP JWT: \(error)")
        }
        // Row 7.
        if let expectedThumbprint, !Self.constantTimeEqual(thumbprint, expectedThumbprint) {
            throw DPoPFailure(7, "the `jkt` from the DPoP JWT didn't match the thumbprint from the access token")
        }
        // Row 8: signature, then the JOSE library's default claim checks with zero skew.
        guard proof.verifies(with: key, algorithm: alg) else {
            throw DPoPFailure(8, "failed to verify signature on DPoP JWT: invalid signature")
        }
        let now = clock.now()
        let exp = proof.claims[exact: "exp"], nbf = proof.claims[exact: "nbf"], iatValue = proof.claims[exact: "iat"]
        for (name, value) in [("exp", exp), ("nbf", nbf), ("iat", iatValue)] where value != nil && value?.numericDate == nil {
            throw DPoPFailure(8, "failed to verify signature on DPoP JWT: invalid `\(name)`")
        }
        if let exp = exp?.numericDate, now >= exp { throw DPoPFailure(8, "failed to verify signature on DPoP JWT: `exp` not satisfied") }
        if let nbf = nbf?.numericDate, now < nbf { throw DPoPFailure(8, "failed to verify signature on DPoP JWT: `nbf` not satisfied") }
        if let iat = iatValue?.numericDate, now < iat { throw DPoPFailure(8, "failed to verify signature on DPoP JWT: `iat` not satisfied") }
        // Row 9.
        guard let iat = iatValue?.numericDate else { throw DPoPFailure(9, "missing `iat` claim in the DPoP JWT") }
        guard iat + settings.dpopSkew >= now else { throw DPoPFailure(9, "the DPoP JWT has expired") }
        // Row 10.
        guard let htmValue = proof.claims[exact: "htm"] else { throw DPoPFailure(10, "`htm` claim missing in DPoP JWT") }
        guard let htm = htmValue.stringValue else { throw DPoPFailure(10, "`htm` claim invalid format in DPoP JWT") }
        guard htm == method else { throw DPoPFailure(10, "incorrect `htm` claim in DPoP JWT; received [\(String(htm.prefix(16)))] but should match [\(method)]") }
        // Row 11.
        guard let htuValue = proof.claims[exact: "htu"] else { throw DPoPFailure(11, "`htu` claim missing in DPoP JWT") }
        guard let htu = htuValue.stringValue else { throw DPoPFailure(11, "`htu` claim invalid format in DPoP JWT") }
        guard htuMatches(htu) else { throw DPoPFailure(11, "incorrect `htu` claim in DPoP JWT") }
        return (proof, ProofKey(key: key, thumbprint: thumbprint, algorithm: alg))
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).withUnsafeBytes { x in Array(b.utf8).withUnsafeBytes { y in CryptoPrimitives.constantTimeEquals(x, y) } }
    }
}
