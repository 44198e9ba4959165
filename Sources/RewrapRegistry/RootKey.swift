import RewrapCrypto
import RewrapEngine
import RewrapWire
import Synchronization

/// The KAS root key of OpenTDF's BasicManager (spec §6.3): private keys stored in the
/// registry are `base64(nonce(12) ‖ AES-256-GCM(rootKey, PKCS#8 PEM text) ‖ tag(16))`.
/// The key itself is given as hex and lives only in wiping memory.
public final class RootKey: Sendable {
    private let key: SecureBytes
    /// Crypto workers for `unwrap`/`wrap`, reused: a worker's GCM contexts are set up once, where
    /// a worker made per call cost its object, its scratch buffers and OpenSSL's context
    /// allocations on every KAO of the uncached path. At most one per concurrent caller.
    private let workers = Mutex<[PooledWorker]>([])

    public init(hex: String) throws(RootKeyError) {
        var text = Array(hex.utf8)
        defer { secureWipe(&text) }
        guard text.count == 64 else { throw .invalidRootKey }
        let key = SecureBytes(count: 32)
        let ok = key.withUnsafeMutableBytes { buffer -> Bool in
            for index in 0..<32 {
                guard let high = Hex.value(of: text[2 * index]), let low = Hex.value(of: text[2 * index + 1]) else { return false }
                buffer[index] = high << 4 | low
            }
            return true
        }
        guard ok else { throw .invalidRootKey }
        self.key = key
    }

    /// Opens a registry `wrapped_key` (base64 text) into the PEM it protects.
    public func unwrap(wrappedKeyBase64 text: String) throws(RootKeyError) -> SecureBytes {
        guard let sealed = Base64.decode(text, options: .protoJSON), sealed.count > CryptoWorker.gcmOverhead else {
            throw .malformedWrappedKey
        }
        let pem = SecureBytes(count: sealed.count - CryptoWorker.gcmOverhead)
        let opened = withWorker { worker in
            Result { () throws(CryptoError) in
                try key.withUnsafeBytes { (rootKey) throws(CryptoError) in
                    try withBytes(sealed) { (box) throws(CryptoError) in
                        try worker.aesGCMOpen(key: rootKey, sealed: box, into: pem.slice(0..<pem.count))
                    }
                }
            }
        }
        guard case .success = opened else { throw .unwrapFailed }
        return pem
    }

    /// Wraps PEM text under the root key with a fresh nonce, as BasicManager stores it.
    public func wrap(_ pem: SecureBytes) throws(RootKeyError) -> String {
        var sealed = [UInt8](repeating: 0, count: pem.count + CryptoWorker.gcmOverhead)
        let result: Result<Void, CryptoError> = withWorker { worker in sealed.withUnsafeMutableBytes { output in
            Result { () throws(CryptoError) in
                let nonce = UnsafeMutableRawBufferPointer(rebasing: output[0..<CryptoWorker.gcmNonceByteCount])
                try CryptoPrimitives.randomBytes(nonce)
                try key.withUnsafeBytes { (rootKey) throws(CryptoError) in
                    try pem.withUnsafeBytes { (plaintext) throws(CryptoError) in
                        try worker.aesGCMSeal(key: rootKey, nonce: UnsafeRawBufferPointer(nonce), plaintext: plaintext, into: output)
                    }
                }
            }
        } }
        guard case .success = result else { throw .unwrapFailed }
        return Base64.encode(sealed)
    }

    /// Lends a worker from the pool (a new one when all are in use) and takes it back.
    private func withWorker<R>(_ body: (CryptoWorker) -> R) -> R {
        let pooled = workers.withLock { $0.popLast() } ?? PooledWorker()
        defer { workers.withLock { $0.append(pooled) } }
        return body(pooled.worker)
    }
}

/// A `CryptoWorker` parked in `RootKey`'s pool. @unchecked Sendable: a worker is used by one
/// thread at a time — it is handed out and returned under the pool's lock, never shared.
private final class PooledWorker: @unchecked Sendable {
    let worker = CryptoWorker()
}

extension PrivateKeyContext {
    /// The key id of a CONFIG_ROOT_KEY key's context: the root key, not a provider's.
    public static let rootKeyID = "root"

    /// `privateKey`'s PKCS#8 PEM wrapped by `rootKey`, as BasicManager stores a CONFIG_ROOT_KEY key.
    public static func rootWrapped(_ privateKey: PrivateKey, rootKey: RootKey) throws(RegistryError) -> PrivateKeyContext {
        do {
            return PrivateKeyContext(keyID: rootKeyID, wrappedKey: try rootKey.wrap(privateKey.pkcs8PEM()))
        } catch {
            throw .invalid("the private key cannot be wrapped with the root key: \(error)")
        }
    }
}

extension KeyRecord {
    /// A CONFIG_ROOT_KEY record for `privateKey`: its algorithm, its SPKI PEM, and its PKCS#8 PEM
    /// wrapped by `rootKey` (what `keys create`, `keys rotate` and the benchmark's registry store).
    public static func rootWrapped(
        kid: String, privateKey: PrivateKey, rootKey: RootKey, legacy: Bool = false
    ) throws(RegistryError) -> KeyRecord {
        let publicKeyPEM: String
        do {
            publicKeyPEM = try privateKey.publicKey.pem()
        } catch {
            throw .invalid("the public key cannot be written as PEM: \(error)")
        }
        return KeyRecord(
            kid: kid, algorithm: privateKey.algorithm, mode: .configRootKey, publicKeyPEM: publicKeyPEM,
            privateKeyContext: try .rootWrapped(privateKey, rootKey: rootKey), legacy: legacy)
    }
}

public enum RootKeyError: Error, Equatable, CustomStringConvertible {
    case invalidRootKey
    case malformedWrappedKey
    case unwrapFailed

    public var description: String {
        switch self {
        case .invalidRootKey: return "the root key must be 64 hex characters (32 bytes)"
        case .malformedWrappedKey: return "the wrapped key is not base64 of nonce ‖ ciphertext ‖ tag"
        case .unwrapFailed: return "the wrapped key does not open with this root key"
        }
    }
}
