import RewrapCrypto
import RewrapWire

/// Makes DPoP proofs (RFC 9449 §4.2) with a client key: `typ: dpop+jwt`, the public `jwk` in
/// the header, and `jti`, `htm`, `htu`, `iat`, plus `ath` for a resource request and `nonce`
/// when the server asked for one.
public struct DPoPProofSigner: Sendable {
    public let signer: JWSSigner
    /// The public JWK text in the proof header, and its RFC 7638 thumbprint (the token's `cnf.jkt`).
    public let publicJWK: String
    public let thumbprint: String

    public init(key: PrivateKey, algorithm: JWSAlgorithm? = nil) throws(CryptoError) {
        if let algorithm {
            signer = try JWSSigner(key: key, algorithm: algorithm)
        } else {
            signer = try JWSSigner(key: key)
        }
        publicJWK = try key.publicKey.jwkJSON()
        thumbprint = try key.publicKey.jwkThumbprint()
    }

    /// A proof for `method url`. `accessToken` adds `ath` = base64url(SHA-256(token)).
    public func proof(method: String, url: String, accessToken: String? = nil, nonce: String? = nil,
                      jti: String? = nil, issuedAt: Int64) throws(CryptoError) -> String {
        let id: String
        if let jti { id = jti } else { id = Hex.lowercaseString(try CryptoPrimitives.randomBytes(count: 16)) }
        var claims: [(String, JOSEValue)] = [
            ("jti", .string(id)),
            ("htm", .string(method)),
            ("htu", .string(url)),
            ("iat", .integer(issuedAt)),
        ]
        if let accessToken { claims.append(("ath", .string(Base64.encodeURL(CryptoPrimitives.sha256(accessToken.utf8))))) }
        if let nonce { claims.append(("nonce", .string(nonce))) }
        return try signer.sign(claims: claims, extraHeader: [("typ", .string(DPoPVerifier.typ)), ("jwk", .json(publicJWK))])
    }
}
