import RewrapCrypto
import RewrapEngine
import RewrapKeyRing
import RewrapRegistry

/// The key a writer is given for an algorithm (kas-server.md §5, key selection).
public struct ServedPublicKey: Sendable {
    public var kid: String
    public var algorithm: KeyAlgorithm
    /// PEM as served: the keyring key's SPKI, or the registry's stored PEM verbatim (possibly a
    /// certificate).
    public var pem: String

    public init(kid: String, algorithm: KeyAlgorithm, pem: String) {
        self.kid = kid
        self.algorithm = algorithm
        self.pem = pem
    }
}

public enum PublicKeyLookupError: Error, Sendable {
    /// The store could not answer: `internal` `internal error`.
    case failed
}

/// Where PublicKey finds keys: the keyring or the registry, whichever rewraps.
public protocol PublicKeyDirectory: Sendable {
    /// Whether any key is configured at all (`no default keys configured` otherwise).
    func hasKeys() throws(PublicKeyLookupError) -> Bool
    /// The first non-legacy key for `algorithm` that writers should use, or nil.
    func defaultKey(for algorithm: KeyAlgorithm) throws(PublicKeyLookupError) -> ServedPublicKey?
}

/// Keyring mode: the first non-legacy entry with that algorithm, in file order.
public struct KeyRingDirectory: PublicKeyDirectory {
    private let served: [ServedPublicKey]
    private let count: Int

    /// PEMs are rendered once, here: PublicKey answers are then a lookup.
    public init(keyRing: KeyRing) throws(CryptoError) {
        var served: [ServedPublicKey] = []
        for key in keyRing.keys where !key.legacy {
            served.append(ServedPublicKey(kid: key.kid, algorithm: key.algorithm, pem: try key.privateKey.publicKey.pem()))
        }
        self.served = served
        self.count = keyRing.keys.count
    }

    public func hasKeys() -> Bool { count > 0 }

    public func defaultKey(for algorithm: KeyAlgorithm) -> ServedPublicKey? {
        served.first { $0.algorithm == algorithm }
    }
}

/// Registry mode: the newest ACTIVE, non-legacy key for the algorithm (spec §6.4); rotated and
/// legacy keys are never served but still decrypt.
public struct RegistryDirectory: PublicKeyDirectory {
    private let store: any KeyStore

    public init(store: any KeyStore) { self.store = store }

    public func hasKeys() throws(PublicKeyLookupError) -> Bool {
        do {
            return try !store.keys(.all).isEmpty
        } catch {
            throw .failed
        }
    }

    public func defaultKey(for algorithm: KeyAlgorithm) throws(PublicKeyLookupError) -> ServedPublicKey? {
        do {
            return try store.activeKey(algorithm: algorithm).map {
                ServedPublicKey(kid: $0.kid, algorithm: $0.algorithm, pem: $0.publicKeyPEM)
            }
        } catch {
            throw .failed
        }
    }
}
