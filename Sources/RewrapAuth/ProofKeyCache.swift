import RewrapCrypto
import RewrapWire
import Synchronization

/// DPoP public keys already parsed, by RFC 7638 thumbprint. A client proves with the same key
/// on every request (RFC 9449 §4.1), and building it — `EVP_PKEY_fromdata` plus the EC point
/// check, a full scalar multiplication — is the costliest step of a proof after the signature;
/// a hit replaces it with a hash of the canonical members. Bounded; the oldest goes first.
///
/// Keyed by the thumbprint of the canonical member text (`PublicKey.canonicalJWK`), and a key
/// enters only if its own export gives that same text, so a hit is exactly the key the JWK
/// describes (a collision would be a SHA-256 collision).
public final class ProofKeyCache: Sendable {
    struct State {
        var keys: [String: PublicKey] = [:]
        var order: [String] = []
        var head = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 10_000) {
        precondition(capacity > 0, "cache capacity must be positive")
        self.capacity = capacity
    }

    public var count: Int { state.withLock { $0.keys.count } }

    /// The key `jwk` describes and its thumbprint, parsed on a miss (throws as `PublicKey(jwk:)`).
    package func key(for jwk: JSONValue) throws(CryptoError) -> (PublicKey, String) {
        let canonical = try PublicKey.canonicalJWK(jwk)
        let thumbprint = PublicKey.thumbprint(ofCanonicalJWK: canonical)
        if let hit = state.withLock({ $0.keys[thumbprint] }) { return (hit, thumbprint) }
        let key = try PublicKey(jwk: jwk)
        guard try key.jwkJSON() == canonical else { throw .invalidKey("JWK does not round-trip") }
        state.withLock { state in
            guard state.keys[thumbprint] == nil else { return }
            if state.keys.count >= capacity, state.head < state.order.count {
                state.keys[state.order[state.head]] = nil
                state.head += 1
                if state.head > capacity {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
            state.keys[thumbprint] = key
            state.order.append(thumbprint)
        }
        return (key, thumbprint)
    }
}
