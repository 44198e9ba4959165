internal import COpenSSL

/// One thread's OpenSSL contexts. openssl-perf.md's tuned pipeline: every context is created
/// once from prefetched algorithms and reused; contexts bound to a key (RSA decrypt, ECDH
/// derive, RSA encrypt to a client) are cached per key. A worker is not thread-safe: each
/// thread uses its own (the engine's worker pool hands them out). All inputs and outputs are
/// caller buffers passed through as pointers.
package final class CryptoWorker {
    private let gcmOpen: OpaquePointer  // EVP_CIPHER_CTX, AES-256-GCM decrypt, cipher set once
    private let gcmSeal: OpaquePointer  // EVP_CIPHER_CTX, AES-256-GCM encrypt, cipher set once
    private var decryptContexts: [UInt64: OpaquePointer] = [:]
    private var deriveContexts: [UInt64: OpaquePointer] = [:]
    private var encryptContexts: [UInt64: OpaquePointer] = [:]
    private var keygenContexts: [Curve: OpaquePointer] = [:]
    /// RSA decrypt output lands here first (OpenSSL wants a modulus-sized buffer), then only
    /// the plaintext is copied out; wiped after every use.
    private let rsaScratch = SecureBytes(count: 1024)
    /// HMAC-SHA256 state: the SHA-256 context, the padded key block, the inner hash, the HKDF
    /// pseudo-random key and counter byte. Every byte is key-derived, so all of it is wiped
    /// after each use.
    private let hmacState = SecureBytes(count: CryptoWorker.hmacStateByteCount)
    private static let keyBlockOffset = (shim_sha256_context_size() + 15) & ~15
    private static let innerHashOffset = keyBlockOffset + 64
    private static let prkOffset = innerHashOffset + 32
    private static let counterOffset = prkOffset + 32
    private static let hmacStateByteCount = counterOffset + 16
    /// Per-curve point arithmetic for the ECDH hot path.
    private var pointArithmetic: [Curve: PointArithmetic] = [:]
    private static let maxCachedContexts = 128

    package init() {
        let algorithms = Algorithms.shared
        guard let open = EVP_CIPHER_CTX_new(),
              let seal = EVP_CIPHER_CTX_new()
        else { fatalError("OpenSSL could not allocate a context") }
        guard EVP_DecryptInit_ex2(open, algorithms.aes256GCM, nil, nil, nil) == 1,
              EVP_EncryptInit_ex2(seal, algorithms.aes256GCM, nil, nil, nil) == 1
        else { fatalError("OpenSSL could not set up AES-256-GCM") }
        gcmOpen = open
        gcmSeal = seal
    }

    deinit {
        EVP_CIPHER_CTX_free(gcmOpen)
        EVP_CIPHER_CTX_free(gcmSeal)
        for ctx in decryptContexts.values { EVP_PKEY_CTX_free(ctx) }
        for ctx in deriveContexts.values { EVP_PKEY_CTX_free(ctx) }
        for ctx in encryptContexts.values { EVP_PKEY_CTX_free(ctx) }
        for ctx in keygenContexts.values { EVP_PKEY_CTX_free(ctx) }
    }

    // MARK: EC key generation (the per-request session key of an EC client)

    /// A fresh EC key on `curve`, from a key-generation context kept per curve (a new context
    /// fetches the EC implementation and parses the group name on every call).
    package func generateECKey(_ curve: Curve) throws(CryptoError) -> PrivateKey {
        let ctx: OpaquePointer
        if let cached = keygenContexts[curve] {
            ctx = cached
        } else {
            guard let created = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
                throw CryptoError.openSSLFailure("EVP_PKEY_CTX_new_from_name")
            }
            guard EVP_PKEY_keygen_init(created) == 1, EVP_PKEY_CTX_set_group_name(created, curve.openSSLGroupName) == 1 else {
                EVP_PKEY_CTX_free(created)
                throw CryptoError.openSSLFailure("EC keygen setup")
            }
            keygenContexts[curve] = created
            ctx = created
        }
        var pkey: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let key = pkey else {
            throw CryptoError.openSSLFailure("EVP_PKEY_generate")
        }
        return try PrivateKey(taking: key)
    }

    // MARK: RSA-OAEP (SHA-1, MGF1-SHA-1, empty label): OpenTDF's `wrapped` KAO and RSA clients

    /// Decrypts `ciphertext` with `key` into `output`; returns the plaintext length.
    /// Every failure, including a plaintext too long for `output`, is `.decryptionFailed`.
    package func rsaOAEPDecrypt(
        _ ciphertext: UnsafeRawBufferPointer, with key: PrivateKey, into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) -> Int {
        guard case .rsa(let bits) = key.algorithm, ciphertext.count == bits / 8 else { throw .decryptionFailed }
        let ctx = try decryptContext(for: key)
        var length = rsaScratch.count
        let ok = EVP_PKEY_decrypt(
            ctx, rsaScratch.base.assumingMemoryBound(to: UInt8.self), &length,
            ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), ciphertext.count)
        defer { OPENSSL_cleanse(rsaScratch.base, rsaScratch.count) }
        guard ok == 1 else {
            CryptoError.clearQueue()
            throw .decryptionFailed
        }
        guard length <= output.count else { throw .decryptionFailed }
        if length > 0 { output.baseAddress!.copyMemory(from: rsaScratch.base, byteCount: length) }
        return length
    }

    /// Encrypts `plaintext` to `key`; the result is the modulus length.
    package func rsaOAEPEncrypt(_ plaintext: UnsafeRawBufferPointer, to key: PublicKey) throws(CryptoError) -> [UInt8] {
        guard case .rsa(let bits) = key.algorithm else { throw .invalidKey("not an RSA key") }
        let ctx = try encryptContext(for: key)
        var failed = false
        let result = [UInt8](unsafeUninitializedCapacity: bits / 8) { buffer, count in
            var length = buffer.count
            if EVP_PKEY_encrypt(
                ctx, buffer.baseAddress, &length,
                plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), plaintext.count) == 1 {
                count = length
            } else {
                count = 0
                failed = true
            }
        }
        guard !failed else { throw CryptoError.openSSLFailure("RSA-OAEP encrypt") }
        return result
    }

    // MARK: ECDH

    /// `Z` = x-coordinate of `key` × `peer`, written to `output` (exactly the coordinate size).
    /// The peer must be on the key's curve; `peer` objects come from `PublicKey` parsers that
    /// already checked the point, so the redundant full validation is skipped (the order
    /// multiplication it adds halves throughput, openssl-perf.md §b).
    package func ecdh(_ key: PrivateKey, peer: PublicKey, into output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        guard case .ec(let curve) = key.algorithm, peer.algorithm == key.algorithm else { throw .invalidPoint }
        try derive(key, peer: peer.pkey, curve: curve, into: output)
    }

    /// ECDH with a peer given as an encoded SEC1 point on the key's curve: the hot path of an
    /// `ec-wrapped` KAO. It is OpenSSL's own ECDH (`ossl_ecdh_simple_compute_key`: Z = x(d · P))
    /// on this thread's reused group, points and BN_CTX, so it allocates 3 times (inside the
    /// scalar multiplication) where building a peer `EVP_PKEY` and deriving through EVP takes 86.
    /// `EC_POINT_oct2point` rejects points off the curve; the identity is refused; the NIST
    /// curves have cofactor 1, so no small-subgroup check is needed.
    package func ecdh(
        _ key: PrivateKey, peerPoint: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        guard case .ec(let curve) = key.algorithm, let scalar = key.ecScalar else { throw .invalidPoint }
        guard output.count == curve.coordinateByteCount else { throw .invalidLength("ECDH output") }
        try checkPointEncoding(peerPoint, curve: curve)
        let arithmetic = try self.arithmetic(for: curve)
        try arithmetic.sharedSecret(scalar: scalar, peerPoint: peerPoint, into: output)
    }

    private func arithmetic(for curve: Curve) throws(CryptoError) -> PointArithmetic {
        if let existing = pointArithmetic[curve] { return existing }
        let made = try PointArithmetic(curve: curve)
        pointArithmetic[curve] = made
        return made
    }

    private func derive(_ key: PrivateKey, peer: OpaquePointer, curve: Curve, into output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        guard output.count == curve.coordinateByteCount else { throw .invalidLength("ECDH output") }
        let ctx = try deriveContext(for: key)
        guard EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 else {
            CryptoError.clearQueue()
            throw .invalidPoint
        }
        var length = output.count
        guard EVP_PKEY_derive(ctx, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1,
              length == output.count
        else {
            CryptoError.clearQueue()
            throw .decryptionFailed
        }
    }

    // MARK: HMAC-SHA256 and HKDF-SHA256

    /// HMAC-SHA256(key, message) into the 32-byte `output`.
    package func hmacSHA256(
        key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        guard output.count == 32 else { throw .invalidLength("HMAC-SHA256 output") }
        defer { hmacState.wipe() }
        hmac(key: key, message, UnsafeRawBufferPointer(start: nil, count: 0), into: output.baseAddress!)
    }

    /// HKDF-SHA256 (RFC 5869) with L ≤ 32: one extract and one expand block.
    package func hkdfSHA256(
        inputKeyMaterial ikm: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer,
        info: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        guard output.count > 0, output.count <= 32 else { throw .invalidLength("HKDF output (1…32 bytes)") }
        defer { hmacState.wipe() }
        let prk = hmacState.base + Self.prkOffset
        let counter = hmacState.base + Self.counterOffset
        hmac(key: salt, ikm, UnsafeRawBufferPointer(start: nil, count: 0), into: prk)
        // T(1) = HMAC(PRK, info ‖ 0x01); the PRK is the key, so it is padded into the key block
        // before the output overwrites it.
        counter.storeBytes(of: 1, as: UInt8.self)
        hmac(key: UnsafeRawBufferPointer(start: prk, count: 32), info, UnsafeRawBufferPointer(start: counter, count: 1), into: prk)
        output.baseAddress!.copyMemory(from: prk, byteCount: output.count)
    }

    /// RFC 2104 over this worker's SHA-256 context: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m1 ‖ m2)).
    /// Writes 32 bytes to `output`; the caller wipes `hmacState`.
    private func hmac(
        key: UnsafeRawBufferPointer, _ m1: UnsafeRawBufferPointer, _ m2: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer
    ) {
        let context = hmacState.base
        let block = (hmacState.base + Self.keyBlockOffset).assumingMemoryBound(to: UInt8.self)
        let inner = hmacState.base + Self.innerHashOffset
        block.initialize(repeating: 0, count: 64)
        if key.count > 64 {
            sha256(key, into: UnsafeMutableRawPointer(block))
        } else if key.count > 0 {
            UnsafeMutableRawPointer(block).copyMemory(from: key.baseAddress!, byteCount: key.count)
        }
        for i in 0..<64 { block[i] ^= 0x36 }
        shim_sha256_init(context)
        shim_sha256_update(context, block, 64)
        if m1.count > 0 { shim_sha256_update(context, m1.baseAddress, m1.count) }
        if m2.count > 0 { shim_sha256_update(context, m2.baseAddress, m2.count) }
        shim_sha256_final(inner.assumingMemoryBound(to: UInt8.self), context)
        for i in 0..<64 { block[i] ^= 0x36 ^ 0x5c }
        shim_sha256_init(context)
        shim_sha256_update(context, block, 64)
        shim_sha256_update(context, inner, 32)
        shim_sha256_final(output.assumingMemoryBound(to: UInt8.self), context)
    }

    private func sha256(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer) {
        let context = hmacState.base
        shim_sha256_init(context)
        shim_sha256_update(context, data.baseAddress, data.count)
        shim_sha256_final(output.assumingMemoryBound(to: UInt8.self), context)
    }

    // MARK: AES-256-GCM, layout nonce(12) ‖ ciphertext ‖ tag(16), no AAD

    package static let gcmNonceByteCount = 12
    package static let gcmTagByteCount = 16
    package static let gcmOverhead = gcmNonceByteCount + gcmTagByteCount

    /// Opens `sealed` (= nonce ‖ ciphertext ‖ tag) with the 32-byte `key` into `output`
    /// (exactly the ciphertext length). Any failure is `.decryptionFailed`.
    package func aesGCMOpen(
        key: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        let ciphertextLength = sealed.count - Self.gcmOverhead
        guard key.count == 32, ciphertextLength >= 0, output.count == ciphertextLength else {
            throw .decryptionFailed
        }
        let base = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var produced: Int32 = 0
        var finalLength: Int32 = 0
        let tag = UnsafeMutableRawPointer(mutating: base + Self.gcmNonceByteCount + ciphertextLength)
        let ok = EVP_DecryptInit_ex2(gcmOpen, nil, key.baseAddress!.assumingMemoryBound(to: UInt8.self), base, nil) == 1
            && (ciphertextLength == 0
                || EVP_DecryptUpdate(gcmOpen, out, &produced, base + Self.gcmNonceByteCount, Int32(ciphertextLength)) == 1)
            && EVP_CIPHER_CTX_ctrl(gcmOpen, EVP_CTRL_GCM_SET_TAG, Int32(Self.gcmTagByteCount), tag) == 1
            && EVP_DecryptFinal_ex(gcmOpen, out.map { $0 + Int(produced) }, &finalLength) == 1
        guard ok else {
            CryptoError.clearQueue()
            if let out { OPENSSL_cleanse(out, output.count) }
            throw .decryptionFailed
        }
    }

    /// Seals `plaintext` under the 32-byte `key` with `nonce` into `output`
    /// (= nonce ‖ ciphertext ‖ tag, `plaintext.count + 28` bytes).
    package func aesGCMSeal(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        guard key.count == 32, nonce.count == Self.gcmNonceByteCount,
              output.count == plaintext.count + Self.gcmOverhead
        else { throw .invalidLength("AES-256-GCM seal buffers") }
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if UnsafeRawPointer(out) != nonce.baseAddress {
            out.update(from: nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), count: Self.gcmNonceByteCount)
        }
        var produced: Int32 = 0
        var finalLength: Int32 = 0
        let body = out + Self.gcmNonceByteCount
        let ok = EVP_EncryptInit_ex2(gcmSeal, nil, key.baseAddress!.assumingMemoryBound(to: UInt8.self), out, nil) == 1
            && (plaintext.count == 0
                || EVP_EncryptUpdate(gcmSeal, body, &produced,
                                     plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)) == 1)
            && EVP_EncryptFinal_ex(gcmSeal, body + Int(produced), &finalLength) == 1
            && EVP_CIPHER_CTX_ctrl(gcmSeal, EVP_CTRL_GCM_GET_TAG, Int32(Self.gcmTagByteCount), body + plaintext.count) == 1
        guard ok else { throw CryptoError.openSSLFailure("AES-256-GCM seal") }
    }

    // MARK: Contexts bound to keys

    private func decryptContext(for key: PrivateKey) throws(CryptoError) -> OpaquePointer {
        if let ctx = decryptContexts[key.serial] { return ctx }
        // Threads share the key (read-only use is safe). A per-thread EVP_PKEY_dup measured no
        // faster here and would throw away the Montgomery state `PrivateKey.warmUp` builds.
        let ctx = try Self.oaepContext(key.pkey, decrypt: true)
        Self.insert(ctx, for: key.serial, into: &decryptContexts)
        return ctx
    }

    private func encryptContext(for key: PublicKey) throws(CryptoError) -> OpaquePointer {
        if let ctx = encryptContexts[key.serial] { return ctx }
        let ctx = try Self.oaepContext(key.pkey, decrypt: false)
        // Client keys change with every request: keep only a few.
        if encryptContexts.count >= 8 { Self.clear(&encryptContexts) }
        encryptContexts[key.serial] = ctx
        return ctx
    }

    /// RSA-OAEP with SHA-1 and MGF1-SHA-1, empty label (OpenTDF's `wrapped`, spec §2.1).
    private static func oaepContext(_ pkey: OpaquePointer, decrypt: Bool) throws(CryptoError) -> OpaquePointer {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else { throw .openSSL("EVP_PKEY_CTX_new") }
        let sha1 = Algorithms.shared.sha1
        guard (decrypt ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_encrypt_init(ctx)) == 1,
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, sha1) == 1,
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, sha1) == 1
        else {
            EVP_PKEY_CTX_free(ctx)
            throw CryptoError.openSSLFailure("RSA-OAEP setup")
        }
        return ctx
    }

    private func deriveContext(for key: PrivateKey) throws(CryptoError) -> OpaquePointer {
        if let ctx = deriveContexts[key.serial] { return ctx }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, key.pkey, nil) else { throw .openSSL("EVP_PKEY_CTX_new") }
        guard EVP_PKEY_derive_init(ctx) == 1 else {
            EVP_PKEY_CTX_free(ctx)
            throw CryptoError.openSSLFailure("EVP_PKEY_derive_init")
        }
        Self.insert(ctx, for: key.serial, into: &deriveContexts)
        return ctx
    }

    private static func insert(_ ctx: OpaquePointer, for serial: UInt64, into cache: inout [UInt64: OpaquePointer]) {
        // A context holds a reference to its key; a bounded cache lets retired keys go.
        if cache.count >= maxCachedContexts { clear(&cache) }
        cache[serial] = ctx
    }

    private static func clear(_ cache: inout [UInt64: OpaquePointer]) {
        for ctx in cache.values { EVP_PKEY_CTX_free(ctx) }
        cache.removeAll(keepingCapacity: true)
    }
}
