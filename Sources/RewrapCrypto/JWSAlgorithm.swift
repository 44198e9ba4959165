/// The asymmetric JWS algorithms of RFC 7518 §3.3–3.5: the only ones an OpenTDF KAS accepts
/// for access tokens, DPoP proofs and signed request tokens (kas-server.md §4.2 step 3, §4.3
/// row 5). `none` and the HMAC family have no case, so they cannot be named by a verifier.
public enum JWSAlgorithm: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"

    public var description: String { rawValue }

    public enum Family: Sendable, Hashable {
        /// RSASSA-PKCS1-v1_5 (RFC 7518 §3.3).
        case pkcs1
        /// RSASSA-PSS with MGF1 on the same hash and a salt as long as the hash (RFC 7518 §3.5).
        case pss
        /// ECDSA with the signature as raw `r‖s` (RFC 7518 §3.4).
        case ecdsa(Curve)
    }

    public var family: Family {
        switch self {
        case .rs256, .rs384, .rs512: return .pkcs1
        case .ps256, .ps384, .ps512: return .pss
        case .es256: return .ecdsa(.p256)
        case .es384: return .ecdsa(.p384)
        case .es512: return .ecdsa(.p521)
        }
    }

    /// Hash output bytes (also the PSS salt length).
    public var digestByteCount: Int {
        switch self {
        case .rs256, .ps256, .es256: return 32
        case .rs384, .ps384, .es384: return 48
        case .rs512, .ps512, .es512: return 64
        }
    }

    /// The algorithms a key can verify when its JWK names none (kas-server.md §4.2 step 3):
    /// RSA ⇒ RS* and PS*, EC ⇒ the one ES* of its curve (RFC 7518 §3.4 pairs them).
    public static func inferred(for algorithm: KeyAlgorithm) -> [JWSAlgorithm] {
        switch algorithm {
        case .rsa: return [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512]
        case .ec(.p256): return [.es256]
        case .ec(.p384): return [.es384]
        case .ec(.p521): return [.es512]
        }
    }

    /// Whether a key of `algorithm` can make or check signatures of this algorithm.
    public func fits(_ algorithm: KeyAlgorithm) -> Bool {
        switch (family, algorithm) {
        case (.pkcs1, .rsa(let bits)), (.pss, .rsa(let bits)):
            // RFC 7518 §3.3/§3.5: RSA keys of 2048 bits or more.
            return bits >= 2048
        case (.ecdsa(let curve), .ec(let keyCurve)):
            return curve == keyCurve
        default:
            return false
        }
    }
}
