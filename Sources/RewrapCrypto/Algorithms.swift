internal import COpenSSL

/// Algorithms fetched once per process. OpenSSL 3 fetches implicitly (and takes locks) every
/// time a legacy `EVP_aes_256_gcm()`-style handle or a name is passed on a hot path;
/// openssl-perf.md measured that as the main scaling loss, so every context in this module is
/// built from these prefetched handles.
final class Algorithms: @unchecked Sendable {
    static let shared = Algorithms()

    let aes256GCM: OpaquePointer
    let sha256: OpaquePointer
    let sha1: OpaquePointer

    private init() {
        guard let gcm = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil),
              let sha256 = EVP_MD_fetch(nil, "SHA2-256", nil),
              let sha1 = EVP_MD_fetch(nil, "SHA1", nil)
        else { fatalError("OpenSSL default provider is missing AES-256-GCM, SHA-256 or SHA-1") }
        self.aes256GCM = gcm
        self.sha256 = sha256
        self.sha1 = sha1
    }
}

/// Process-lifetime C strings for `OSSL_PARAM` keys and values: OpenSSL keeps the pointers, so
/// a Swift `String` bridged for one call would dangle (openssl-perf.md, build notes).
enum CStrings {
    nonisolated(unsafe) static let digest = strdup(OSSL_MAC_PARAM_DIGEST)!
    nonisolated(unsafe) static let sha256 = strdup("SHA2-256")!
    nonisolated(unsafe) static let kdfKey = strdup(OSSL_KDF_PARAM_KEY)!
    nonisolated(unsafe) static let kdfSalt = strdup(OSSL_KDF_PARAM_SALT)!
    nonisolated(unsafe) static let kdfInfo = strdup(OSSL_KDF_PARAM_INFO)!
}

/// Version of the libcrypto actually loaded, for reports.
package enum OpenSSLInfo {
    package static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}

/// SHA-384 and SHA-512, for JWS RS/PS/ES384 and 512 only (RFC 7518 §3), fetched on first use
/// rather than with `Algorithms`: fetched at start, they cost every RSA-OAEP decrypt one more
/// OpenSSL allocation (the harness's OpenSSL share for rsa:2048 went 72.33 → 73.35 per KAO with
/// them in `Algorithms`), though no KAO uses them.
final class JOSEDigests: @unchecked Sendable {
    // @unchecked: immutable after init; the EVP_MDs are shared read-only, as `Algorithms`'s are.
    static let shared = JOSEDigests()
    let sha384: OpaquePointer
    let sha512: OpaquePointer

    private init() {
        guard let sha384 = EVP_MD_fetch(nil, "SHA2-384", nil), let sha512 = EVP_MD_fetch(nil, "SHA2-512", nil) else {
            fatalError("OpenSSL default provider is missing SHA-384 or SHA-512")
        }
        self.sha384 = sha384
        self.sha512 = sha512
    }
}
