import RewrapCrypto

/// A KAS private key the engine unwraps with on its worker threads, parsed once.
public struct KASKey: Sendable {
    public let kid: String
    public let algorithm: KeyAlgorithm
    public let privateKey: PrivateKey
    /// Kid-free `wrapped` KAOs try legacy RSA-2048 keys (spec §5 step 8b).
    public let legacy: Bool

    public init(kid: String, privateKey: PrivateKey, legacy: Bool = false) {
        self.kid = kid
        self.algorithm = privateKey.algorithm
        self.privateKey = privateKey
        self.legacy = legacy
    }
}

/// What a kid resolves to.
public enum KeyResolution: Sendable {
    /// A parsed private key: the engine unwraps with it locally (keyring keys, registry keys
    /// wrapped by the root key).
    case local(KASKey)
    /// The private key stays in a KMS/HSM: every unwrap is an async call the engine issues
    /// concurrently, bounded by `RewrapConfiguration.maxRemoteConcurrency`.
    case remote(any RemoteKey)
    /// The key exists but cannot unwrap here; every KAO for it fails with this error (a
    /// public-key-only key, a key whose manager is not registered, a store failure).
    case unavailable(KAOError)
}

/// A KAS key whose private half never leaves its key service (REMOTE mode). The engine does
/// everything else locally: HKDF and AES-GCM for EC KAOs, the binding check, the re-wrap.
public protocol RemoteKey: Sendable {
    var kid: String { get }
    var algorithm: KeyAlgorithm { get }
    /// RSA-OAEP (SHA-1, MGF1-SHA-1) decrypt of a `wrapped` KAO's key: the DEK.
    func decrypt(_ ciphertext: [UInt8]) async throws(RemoteKeyError) -> SecureBytes
    /// ECDH with an `ec-wrapped` KAO's ephemeral key (DER SPKI, uncompressed point): the shared
    /// secret's x-coordinate.
    func deriveSharedSecret(peerSPKI: [UInt8]) async throws(RemoteKeyError) -> SecureBytes
}

public enum RemoteKeyError: Error, Sendable, Equatable {
    /// The key service refused the input (bad ciphertext, bad point): secret-dependent, so the
    /// KAO fails `bad request`.
    case rejected
    /// The key service could not answer (throttled, down, timed out): an internal error, never a
    /// wrong DEK.
    case unavailable(String)
}

/// Where the engine finds KAS keys: a keyring in memory, or the key registry behind a key
/// manager and a cache. `resolve` is called once per KAO from worker threads, so it must be
/// thread-safe and, on its warm path, cheap (a cache lookup, no parse).
public protocol KeySource: Sendable {
    /// The key for `kid`, whatever its status (rotated keys keep decrypting), or nil when no
    /// key has that kid.
    func resolve(kid: String) -> KeyResolution?
    /// Candidates for a kid-free `wrapped` KAO, in the order to try them: RSA-2048 legacy keys.
    func legacyKeys() -> [KASKey]
    /// Called once per request, before any KAO is resolved, with the request's kids: a source
    /// whose keys need an async step before they can be used locally (a private key wrapped by
    /// a KMS-held key) does it here, so `resolve` stays synchronous and cheap.
    func prepare(kids: Set<String>) async
    /// Whether `prepare` does anything (the engine skips collecting kids otherwise).
    var needsPreparation: Bool { get }
}

extension KeySource {
    public func prepare(kids: Set<String>) async {}
    public var needsPreparation: Bool { false }
}

extension KAOError {
    /// A key store or manager failed (not secret-dependent, so not `bad request`).
    public static let keyLookupFailed = KAOError(.internal, "key lookup failed")
    /// The key holds no private key (PUBLIC_KEY_ONLY mode).
    public static let publicKeyOnly = KAOError(.invalidArgument, "key is public-key-only and cannot rewrap")

    /// A remote key service could not answer.
    public static let keyServiceUnavailable = KAOError(.internal, "key service unavailable")

    public static func noManagerRegistered(_ manager: String) -> KAOError {
        KAOError(.invalidArgument, "no key manager registered for \(manager.isEmpty ? "this key" : manager)")
    }
}
