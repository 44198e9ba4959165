import RewrapCrypto
import RewrapWire

/// Re-wraps verified DEKs to the client's key (spec §4.2), built once per request.
/// RSA client: OAEP-SHA1 per KAO. EC client: one ephemeral session key per request, one
/// HKDF-derived AES key, a fresh nonce per KAO.
enum ResponseEncryptor: Sendable {
    case rsa(PublicKey)
    case ec(sessionPublicKeyPEM: String, wrapKey: SecureBytes)

    /// Parses `clientPublicKey` (top-level errors of spec §3.3 step 5): PEM SPKI only, RSA or EC.
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
            guard ecEnabled,
                  let session = try? PrivateKey.generate(.ec(curve)),
                  let pem = try? session.publicKey.pem()
            else { return nil }
            let shared = SecureBytes(count: curve.coordinateByteCount)
            let wrapKey = SecureBytes(count: 32)
            do {
                try worker.ecdh(session, peer: clientKey, into: shared.slice(0..<shared.count))
                try withBytes(Crypto.tdfSalt) { (salt) throws(CryptoError) in
                    try worker.hkdfSHA256(
                        inputKeyMaterial: UnsafeRawBufferPointer(shared.slice(0..<shared.count)),
                        salt: salt, into: wrapKey.slice(0..<32))
                }
            } catch {
                return nil
            }
            return .ec(sessionPublicKeyPEM: pem, wrapKey: wrapKey)
        }
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
        case .ec(_, let wrapKey):
            var failure: CryptoError?
            let sealed = [UInt8](unsafeUninitializedCapacity: dek.count + CryptoWorker.gcmOverhead) { buffer, count in
                let output = UnsafeMutableRawBufferPointer(buffer)
                do {
                    let nonce = UnsafeMutableRawBufferPointer(rebasing: output[0..<CryptoWorker.gcmNonceByteCount])
                    try Crypto.randomBytes(nonce)
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
}
