import RewrapWire

/// An access token whose signature and claims passed kas-server.md §4.2: what later steps use.
public struct VerifiedAccessToken: Sendable {
    /// The raw token (the PDP entity, opentdf-rewrap.md §3.6; and the DPoP `ath` input).
    public let rawToken: String
    /// `sub`, the audit actor.
    public let subject: String?
    /// `azp`, the client id (`policy.client_id_claim`).
    public let authorizedParty: String?
    /// `exp`, when present.
    public let expiresAt: Int64?
    /// The `kid` it was verified with, and that key's thumbprint (VerifiedTokenCache).
    public let keyID: String
    let keyThumbprint: String
    /// All claims, for the DPoP `cnf` checks (kas-server.md §4.3 row 2) and role checks.
    package let claims: JSONValue
    /// The `ath` a DPoP proof for this token must carry: base64url(SHA-256(token)), RFC 9449
    /// §4.2. Made once with the verified token, so a cached token does not hash itself again
    /// for every proof (~1 % of `rewrap serve`'s CPU at batch 1, perf).
    package let proofHash: String

    /// Whether the token carries `cnf` at all (then a DPoP proof is required, §4.3).
    public var hasConfirmation: Bool { claims[exact: "cnf"] != nil }

    /// `cnf.jkt` when `cnf` is an object with a string `jkt` (RFC 9449 §6.1).
    public var confirmationThumbprint: String? { claims[exact: "cnf"]?[exact: "jkt"]?.stringValue }
}

/// Why an access token was refused (kas-server.md §4.6 row 2: all are 401 `unauthenticated`).
/// The text goes to server logs; it never contains the token.
public enum AccessTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(JWSError)
    case missingKeyID
    case unknownKeyID(String)
    case algorithmNotAllowed(String)
    case badSignature
    case wrongIssuer
    case wrongAudience
    case expired
    case notYetValid
    case issuedInFuture
    case invalidClaim(String)

    public var description: String {
        switch self {
        case .malformed(let error): return error.description
        case .missingKeyID: return "token header has no `kid`"
        case .unknownKeyID(let kid): return "no JWKS key with kid \(kid.prefix(64))"
        case .algorithmNotAllowed(let alg): return "algorithm \(alg.prefix(16)) not allowed for the key"
        case .badSignature: return "token signature invalid"
        case .wrongIssuer: return "`iss` does not match the issuer"
        case .wrongAudience: return "`aud` does not contain the audience"
        case .expired: return "token expired (`exp`)"
        case .notYetValid: return "token not yet valid (`nbf`)"
        case .issuedInFuture: return "token issued in the future (`iat`)"
        case .invalidClaim(let name): return "claim `\(name)` has the wrong type"
        }
    }
}
