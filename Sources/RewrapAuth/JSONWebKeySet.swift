import Synchronization
import RewrapCrypto
import RewrapWire

/// Why a JWKS document was refused as a whole.
public enum JWKSError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(limit: Int)
    case malformed(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): return "JWKS larger than \(limit) bytes"
        case .malformed(let why): return "malformed JWKS: \(why)"
        }
    }
}

/// The issuer's signing keys (RFC 7517 §5), by `kid`. `generation` increases with every fetch,
/// so a cache can tell which set a token was verified under (VerifiedTokenCache).
public struct JSONWebKeySet: Sendable {
    public struct Key: Sendable {
        public let kid: String
        public let key: PublicKey
        /// The JWK's `alg` if it names one of ours, else the algorithms inferred from the key
        /// (kas-server.md §4.2 step 3).
        public let algorithms: [JWSAlgorithm]
        /// RFC 7638 thumbprint: identifies the key material across refetches.
        public let thumbprint: String

        public init(kid: String, key: PublicKey, algorithms: [JWSAlgorithm]? = nil) throws(CryptoError) {
            self.kid = kid
            self.key = key
            self.algorithms = algorithms ?? JWSAlgorithm.inferred(for: key.algorithm)
            self.thumbprint = try key.jwkThumbprint()
        }
    }

    public let keys: [String: Key]
    public let generation: UInt64
    /// How many entries of the document were skipped (no `kid`, `use` other than `sig`, an `alg`
    /// we do not verify, a key we cannot parse): for the fetcher's log.
    public let skipped: Int

    public static let defaultMaxBytes = 1 << 20
    /// More keys than any issuer rotates through; a larger set is refused, not truncated.
    public static let maxKeys = 256

    /// A set built from keys in hand (the first of a repeated `kid` wins).
    public init(keys: [Key], generation: UInt64) {
        self.init(keys: keys, generation: generation, skipped: 0)
    }

    /// Parses a JWKS document `{"keys":[…]}`. Entries that cannot serve token verification are
    /// skipped rather than failing the set, so one odd key at the issuer does not stop a KAS.
    public init(json: [UInt8], generation: UInt64, maxBytes: Int = defaultMaxBytes) throws(JWKSError) {
        guard json.count <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        guard let document = JSONValue.parse(json, maxDepth: 16), case .array(let entries)? = document[exact: "keys"] else {
            throw .malformed("not an object with a `keys` array")
        }
        guard entries.count <= Self.maxKeys else { throw .malformed("more than \(Self.maxKeys) keys") }
        var keys: [Key] = []
        var skipped = 0
        for entry in entries {
            guard let kid = entry[exact: "kid"]?.stringValue,
                  entry[exact: "use"].map({ $0.stringValue == "sig" }) ?? true,
                  let key = try? PublicKey(jwk: entry)
            else { skipped += 1; continue }
            var algorithms: [JWSAlgorithm]?
            if let alg = entry[exact: "alg"] {
                guard let named = alg.stringValue.flatMap(JWSAlgorithm.init(rawValue:)), named.fits(key.algorithm) else {
                    skipped += 1
                    continue
                }
                algorithms = [named]
            }
            guard let built = try? Key(kid: kid, key: key, algorithms: algorithms) else { skipped += 1; continue }
            keys.append(built)
        }
        self.init(keys: keys, generation: generation, skipped: skipped)
    }

    private init(keys: [Key], generation: UInt64, skipped: Int) {
        var byKid: [String: Key] = [:]
        for key in keys where byKid[key.kid] == nil { byKid[key.kid] = key }
        self.keys = byKid
        self.generation = generation
        self.skipped = skipped
    }
}

/// Where verifiers get the issuer's keys: `OIDCKeys` in a server, a fixed set in tests.
public protocol JSONWebKeySetSource: Sendable {
    /// The set in force now.
    var keySet: JSONWebKeySet { get }
    /// Called on an unknown `kid`: may refetch (rate-limited) and returns the set to retry
    /// with, or nil when no new set is available.
    func refetchForUnknownKid() async -> JSONWebKeySet?
}

/// A set that changes only when told to (tests, fixed deployments).
public final class StaticKeySetSource: JSONWebKeySetSource {
    private let current: Mutex<JSONWebKeySet>

    public init(_ set: JSONWebKeySet) { current = Mutex(set) }

    public var keySet: JSONWebKeySet { current.withLock { $0 } }

    public func replace(with set: JSONWebKeySet) { current.withLock { $0 = set } }

    public func refetchForUnknownKid() async -> JSONWebKeySet? { nil }
}
