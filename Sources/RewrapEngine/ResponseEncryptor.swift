import RewrapCrypto
import RewrapWire
import Synchronization

/// Re-wraps verified DEKs to the client's key (spec §4.2), built once per request.
/// RSA client: OAEP-SHA1 per KAO. EC client: one ephemeral session key per request, one
/// HKDF-derived AES key, a fresh nonce per KAO.
enum ResponseEncryptor: Sendable {
    case rsa(PublicKey)
    case ec(sessionPublicKeyPEM: String, wrapKey: SecureBytes)

    /// Parses `clientPublicKey` (top-level errors of spec §3.3 step 5): PEM SPKI only, RSA or EC.
    /// OpenSSL 3.0's PEM decoder costs ~0.7 ms and scales badly across threads, more than the
    /// whole rewrap of a 1-KAO request, so callers go through `ClientKeyCache`.
    static func parseClientKey(_ pem: String, limits: RewrapConfiguration.Limits) throws(RewrapRequestError) -> PublicKey {
        guard pem.utf8.count <= limits.maxPEMBytes else {
            throw .limitExceeded("clientPublicKey size in bytes", limits.maxPEMBytes)
        }
        guard pem.contains("-----BEGIN ") else { throw .clientPublicKeyFailure }
        do {
            return try PublicKey(pem: pem, allowCertificate: false)
        } catch .unsupportedAlgorithm {
            throw .clientPublicKeyUnsupportedType
        } catch {
            throw .clientPublicKeyParseFailure
        }
    }

    /// `nil` when the key cannot be used (EC while EC is disabled): every KAO then fails
    /// `invalid request`, as in the Go KAS.
    static func make(for clientKey: PublicKey, ecEnabled: Bool, worker: CryptoWorker) -> ResponseEncryptor? {
        switch clientKey.algorithm {
        case .rsa:
            return .rsa(clientKey)
        case .ec(let curve):
            guard ecEnabled, let session = try? worker.generateECKey(curve) else { return nil }
            return try? ecSession(session, client: clientKey, worker: worker)
        }
    }

    /// The EC session for a given session key: K = HKDF-SHA256(ECDH(session, client),
    /// salt = SHA-256("TDF"), info = ∅, 32).
    static func ecSession(_ session: PrivateKey, client: PublicKey, worker: CryptoWorker) throws(CryptoError) -> ResponseEncryptor {
        guard case .ec(let curve) = session.algorithm else { throw .invalidKey("session key is not EC") }
        let pem = try session.publicKey.pem()
        let shared = SecureBytes(count: curve.coordinateByteCount)
        let wrapKey = SecureBytes(count: 32)
        try worker.ecdh(session, peer: client, into: shared.slice(0..<shared.count))
        try withBytes(CryptoPrimitives.tdfSalt) { (salt) throws(CryptoError) in
            try worker.hkdfSHA256(
                inputKeyMaterial: UnsafeRawBufferPointer(shared.slice(0..<shared.count)),
                salt: salt, into: wrapKey.slice(0..<32))
        }
        return .ec(sessionPublicKeyPEM: pem, wrapKey: wrapKey)
    }

    var sessionPublicKeyPEM: String {
        if case .ec(let pem, _) = self { return pem }
        return ""
    }

    /// The DEK wrapped for the client.
    func wrap(_ dek: UnsafeRawBufferPointer, worker: CryptoWorker) throws(CryptoError) -> [UInt8] {
        switch self {
        case .rsa(let key):
            return try worker.rsaOAEPEncrypt(dek, to: key)
        case .ec:
            return try seal(dek, nonce: nil, worker: worker)
        }
    }

    /// nonce(12) ‖ AES-256-GCM(K, DEK) ‖ tag(16); a fresh random nonce unless one is given (tests).
    func seal(_ dek: UnsafeRawBufferPointer, nonce fixedNonce: [UInt8]?, worker: CryptoWorker) throws(CryptoError) -> [UInt8] {
        guard case .ec(_, let wrapKey) = self else { throw .invalidKey("not an EC session") }
        var failure: CryptoError?
        let sealed = [UInt8](unsafeUninitializedCapacity: dek.count + CryptoWorker.gcmOverhead) { buffer, count in
            let output = UnsafeMutableRawBufferPointer(buffer)
            do {
                let nonce = UnsafeMutableRawBufferPointer(rebasing: output[0..<CryptoWorker.gcmNonceByteCount])
                if let fixedNonce, fixedNonce.count == nonce.count {
                    nonce.copyBytes(from: fixedNonce)
                } else {
                    try CryptoPrimitives.randomBytes(nonce)
                }
                try worker.aesGCMSeal(
                    key: UnsafeRawBufferPointer(wrapKey.slice(0..<32)), nonce: UnsafeRawBufferPointer(nonce),
                    plaintext: dek, into: output)
                count = output.count
            } catch {
                failure = (error as? CryptoError) ?? .openSSL("AES-256-GCM seal")
                count = 0
            }
        }
        if let failure { throw failure }
        return sealed
    }
}

/// Parsed client keys by PEM text. SDKs reuse one session key for many requests (the Go SDK
/// makes one per SDK instance), so the same PEM arrives again and again. Bounded; a full cache
/// is emptied rather than tracked for recency, which keeps lookups to one hash.
final class ClientKeyCache: Sendable {
    private let entries = Mutex<[String: PublicKey]>([:])
    private let capacity: Int

    init(capacity: Int = 1024) { self.capacity = capacity }

    func key(for pem: String, limits: RewrapConfiguration.Limits) throws(RewrapRequestError) -> PublicKey {
        if let key = entries.withLock({ $0[pem] }) { return key }
        let key = try ResponseEncryptor.parseClientKey(pem, limits: limits)
        entries.withLock { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[pem] = key
        }
        return key
    }
}
