internal import COpenSSL
import Foundation

/// A parsed private key (RSA or EC), immutable and shared read-only by all threads, which
/// OpenSSL documents as safe for decrypt and derive. Parse once, use for the key's lifetime.
public final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer
    let serial: UInt64
    public let algorithm: KeyAlgorithm
    /// EC keys: the private scalar as a constant-time BIGNUM, for the allocation-free ECDH of
    /// `CryptoWorker.ecdh(_:peerPoint:into:)`; cleared when the key goes.
    let ecScalar: OpaquePointer?

    init(taking pkey: OpaquePointer) throws(CryptoError) {
        do {
            self.algorithm = try classify(pkey)
            self.ecScalar = try Self.exportScalar(pkey, algorithm: algorithm)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
        self.serial = nextSerial()
    }

    deinit {
        BN_clear_free(ecScalar)
        EVP_PKEY_free(pkey)
    }

    private static func exportScalar(_ pkey: OpaquePointer, algorithm: KeyAlgorithm) throws(CryptoError) -> OpaquePointer? {
        guard case .ec = algorithm else { return nil }
        var scalar: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) == 1, let scalar else {
            CryptoError.clearQueue()
            throw .invalidKey("EC private key without a private scalar")
        }
        BN_set_flags(scalar, BN_FLG_CONSTTIME)
        return scalar
    }

    /// Parses a PEM private key: PKCS#8 `PRIVATE KEY` for every algorithm, or PKCS#1
    /// `RSA PRIVATE KEY` for RSA (OpenTDF accepts exactly these, spec §2.1, §2.2).
    package convenience init(pem: UnsafeRawBufferPointer) throws(CryptoError) {
        try self.init(taking: parsePrivateKeyPEM(pem))
    }

    public convenience init(pem: SecureBytes) throws(CryptoError) {
        let pkey = try pem.withUnsafeBytes { (buffer) throws(CryptoError) in try parsePrivateKeyPEM(buffer) }
        try self.init(taking: pkey)
    }

    public convenience init(pem: String) throws(CryptoError) {
        try self.init(pem: SecureBytes(copying: Array(pem.utf8)))
    }

    /// Generates a fresh key (RSA 2048/3072/4096 with e = 65537, or an EC key).
    public static func generate(_ algorithm: KeyAlgorithm) throws(CryptoError) -> PrivateKey {
        try PrivateKey(taking: generateKey(algorithm))
    }

    /// The public half.
    public var publicKey: PublicKey {
        // Sharing the EVP_PKEY is safe: public-key operations only read it.
        EVP_PKEY_up_ref(pkey)
        return PublicKey(sharing: pkey, algorithm: algorithm)
    }

    /// PKCS#8 PEM text, in a wiping buffer (written through OpenSSL's secure-memory BIO).
    public func pkcs8PEM() throws(CryptoError) -> SecureBytes {
        guard let bio = BIO_new(BIO_s_secmem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw CryptoError.openSSLFailure("PEM_write_bio_PrivateKey")
        }
        return bioContents(bio) { SecureBytes(copying: $0) }
    }

    /// Runs one private operation so the lazily built Montgomery and blinding state exists
    /// before the key serves traffic (the first RSA op costs ~1 ms extra, openssl-perf.md §d).
    ///
    /// It runs on `KeyLoaderThread`, never on the caller's thread: OpenSSL gives the thread of an
    /// RSA key's first private operation a lock-free blinding of its own and every other thread a
    /// shared, locked one. With the loader as that owner, every serving thread takes the same path,
    /// so workers cost the same and a run's allocation counts do not depend on which thread
    /// happened to load the key.
    package func warmUp() {
        KeyLoaderThread.shared.run { [self] in warmUpHere() }
    }

    private func warmUpHere() {
        let worker = CryptoWorker()
        switch algorithm {
        case .rsa:
            let pub = publicKey
            let probe = [UInt8](repeating: 0x5a, count: 32)
            if let wrapped = try? withBytes(probe, { (buffer) throws(CryptoError) in
                try worker.rsaOAEPEncrypt(buffer, to: pub)
            }) {
                let out = SecureBytes(count: 32)
                _ = try? withBytes(wrapped) { (ct) throws(CryptoError) in
                    try worker.rsaOAEPDecrypt(ct, with: self, into: out.slice(0..<32))
                }
            }
        case .ec(let curve):
            if let peer = try? PrivateKey.generate(.ec(curve)) {
                let secret = SecureBytes(count: curve.coordinateByteCount)
                _ = try? worker.ecdh(self, peer: peer.publicKey, into: secret.slice(0..<secret.count))
            }
        }
    }
}
