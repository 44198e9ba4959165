internal import COpenSSL

/// Stateless primitives (named apart from swift-crypto's module `Crypto`).
package enum CryptoPrimitives {
    /// Fills `buffer` from OpenSSL's CSPRNG.
    package static func randomBytes(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        guard buffer.count > 0 else { return }
        guard RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            throw CryptoError.openSSLFailure("RAND_bytes")
        }
    }

    package static func randomBytes(count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { count == 0 || RAND_bytes($0.baseAddress, Int32(count)) == 1 }
        guard ok else { throw CryptoError.openSSLFailure("RAND_bytes") }
        return out
    }

    /// Constant-time equality (`CRYPTO_memcmp`); different lengths compare unequal.
    package static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0 else { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }

    package static func sha256(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer {
            EVP_Digest(data.baseAddress, data.count, $0.baseAddress, &length, Algorithms.shared.sha256, nil)
        }
        precondition(ok == 1 && length == 32, "SHA-256 failed")
        return out
    }

    package static func sha256<Bytes: Sequence<UInt8>>(_ data: Bytes) -> [UInt8] {
        Array(data).withUnsafeBytes { sha256($0) }
    }

    /// OpenTDF's HKDF salt: SHA-256 of the ASCII bytes "TDF" (spec §2.2).
    package static let tdfSalt: [UInt8] = sha256(Array("TDF".utf8))

    /// Reference HKDF through OpenSSL's own `EVP_KDF`, slow but independent: tests compare the
    /// hand-rolled HKDF of `CryptoWorker` against it.
    package static func referenceHKDFSHA256(ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws(CryptoError) -> [UInt8] {
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { throw .openSSL("EVP_KDF_fetch") }
        defer { EVP_KDF_free(kdf) }
        guard let ctx = EVP_KDF_CTX_new(kdf) else { throw .openSSL("EVP_KDF_CTX_new") }
        defer { EVP_KDF_CTX_free(ctx) }
        var ikm = ikm, salt = salt, info = info
        var out = [UInt8](repeating: 0, count: length)
        let ok = ikm.withUnsafeMutableBytes { ikmBuffer in
            salt.withUnsafeMutableBytes { saltBuffer in
                info.withUnsafeMutableBytes { infoBuffer in
                    var params = [
                        OSSL_PARAM_construct_utf8_string(CStrings.digest, CStrings.sha256, 0),
                        OSSL_PARAM_construct_octet_string(CStrings.kdfKey, ikmBuffer.baseAddress, ikmBuffer.count),
                        OSSL_PARAM_construct_octet_string(CStrings.kdfSalt, saltBuffer.baseAddress, saltBuffer.count),
                        OSSL_PARAM_construct_octet_string(CStrings.kdfInfo, infoBuffer.baseAddress, infoBuffer.count),
                        OSSL_PARAM_construct_end(),
                    ]
                    return out.withUnsafeMutableBufferPointer { EVP_KDF_derive(ctx, $0.baseAddress, length, &params) }
                }
            }
        }
        guard ok == 1 else { throw CryptoError.openSSLFailure("EVP_KDF_derive") }
        return out
    }
}
