internal import COpenSSL

/// One-off private-key operations for code off the hot path (the simulated KMS, tools): each
/// call builds its own context, so they are thread-safe and need no worker.
extension PrivateKey {
    public enum OAEPHash: Sendable {
        case sha1, sha256
    }

    /// RSA-OAEP decrypt with MGF1 on the same hash and an empty label. Any failure is
    /// `.decryptionFailed`.
    public func decryptOAEP(_ ciphertext: [UInt8], hash: OAEPHash) throws(CryptoError) -> SecureBytes {
        guard case .rsa(let bits) = algorithm, ciphertext.count == bits / 8 else { throw .decryptionFailed }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else { throw .openSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        let md = hash == .sha1 ? Algorithms.shared.sha1 : Algorithms.shared.sha256
        guard EVP_PKEY_decrypt_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1, EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1
        else { throw CryptoError.openSSLFailure("RSA-OAEP setup") }
        let scratch = SecureBytes(count: bits / 8)
        var length = scratch.count
        let ok = ciphertext.withUnsafeBufferPointer { input in
            EVP_PKEY_decrypt(ctx, scratch.base.assumingMemoryBound(to: UInt8.self), &length, input.baseAddress, input.count)
        }
        guard ok == 1 else {
            CryptoError.clearQueue()
            throw .decryptionFailed
        }
        return scratch.withUnsafeBytes { SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

    /// RSA-OAEP encrypt to this key's public half (tests and tools).
    public func encryptOAEP(_ plaintext: [UInt8], hash: OAEPHash) throws(CryptoError) -> [UInt8] {
        guard case .rsa(let bits) = algorithm else { throw .invalidKey("not an RSA key") }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else { throw .openSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        let md = hash == .sha1 ? Algorithms.shared.sha1 : Algorithms.shared.sha256
        guard EVP_PKEY_encrypt_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1, EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1
        else { throw CryptoError.openSSLFailure("RSA-OAEP setup") }
        var out = [UInt8](repeating: 0, count: bits / 8)
        var length = out.count
        let ok = out.withUnsafeMutableBufferPointer { output in
            plaintext.withUnsafeBufferPointer { EVP_PKEY_encrypt(ctx, output.baseAddress, &length, $0.baseAddress, $0.count) }
        }
        guard ok == 1 else { throw CryptoError.openSSLFailure("RSA-OAEP encrypt") }
        return Array(out[0..<length])
    }
}
