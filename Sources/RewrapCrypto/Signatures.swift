internal import COpenSSL

// JWS signatures (RFC 7515 §5, RFC 7518 §3.3–3.5) over OpenSSL's one-shot EVP_DigestSign/Verify.
// One EVP_MD_CTX per call, freed before return: verification is the hot path (three per
// Rewrap: access token, DPoP proof, SRT), and OpenSSL 3 rebuilds the key-bound EVP_PKEY_CTX
// inside every DigestVerifyInit anyway, so a cached MD context would save one small allocation
// at the cost of per-thread state. The digest is prefetched once (`Algorithms`, `JOSEDigests`; no
// implicit fetch by name per call), and the message and signature are the caller's pointers.

extension JWSAlgorithm {
    fileprivate var messageDigest: OpaquePointer {
        switch digestByteCount {
        case 32: return Algorithms.shared.sha256
        case 48: return JOSEDigests.shared.sha384
        default: return JOSEDigests.shared.sha512
        }
    }
}

extension PublicKey {
    /// Whether `signature` is a valid JWS signature of `algorithm` over `message` (the ASCII
    /// signing input `header.payload`) under this key. Any mismatch — key type or curve not
    /// fitting the algorithm, wrong signature length, bad signature — is `false`.
    public func verifies(signature: UnsafeRawBufferPointer, over message: UnsafeRawBufferPointer, algorithm: JWSAlgorithm) -> Bool {
        guard algorithm.fits(self.algorithm) else { return false }
        switch algorithm.family {
        case .pkcs1, .pss:
            guard case .rsa(let bits) = self.algorithm, signature.count == (bits + 7) / 8 else { return false }
            return digestVerify(signature, message, algorithm)
        case .ecdsa(let curve):
            // RFC 7518 §3.4: exactly 2 × the coordinate size; anything else is not a JWS signature.
            guard signature.count == 2 * curve.coordinateByteCount else { return false }
            return withUnsafeTemporaryAllocation(byteCount: 160, alignment: 1) { der in
                let length = ECDSASignature.der(fromRaw: signature, into: der)
                return digestVerify(UnsafeRawBufferPointer(rebasing: der[0..<length]), message, algorithm)
            }
        }
    }

    public func verifies(signature: [UInt8], over message: [UInt8], algorithm: JWSAlgorithm) -> Bool {
        signature.withUnsafeBytes { sig in message.withUnsafeBytes { verifies(signature: sig, over: $0, algorithm: algorithm) } }
    }

    private func digestVerify(_ signature: UnsafeRawBufferPointer, _ message: UnsafeRawBufferPointer, _ algorithm: JWSAlgorithm) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(ctx, &pctx, algorithm.messageDigest, nil, pkey) == 1,
              configurePSS(pctx, algorithm)
        else {
            CryptoError.clearQueue()
            return false
        }
        let ok = EVP_DigestVerify(
            ctx, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
            message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count)
        if ok != 1 { CryptoError.clearQueue() }
        return ok == 1
    }
}

extension PrivateKey {
    /// A JWS signature of `algorithm` over `message` (raw `r‖s` for ES*, RFC 7518 §3.4).
    public func signature(over message: UnsafeRawBufferPointer, algorithm: JWSAlgorithm) throws(CryptoError) -> [UInt8] {
        guard algorithm.fits(self.algorithm) else {
            throw .unsupportedAlgorithm("\(algorithm) with a \(self.algorithm) key")
        }
        guard let ctx = EVP_MD_CTX_new() else { throw .openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(ctx, &pctx, algorithm.messageDigest, nil, pkey) == 1, configurePSS(pctx, algorithm) else {
            throw CryptoError.openSSLFailure("EVP_DigestSignInit")
        }
        let input = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var length = 0
        guard EVP_DigestSign(ctx, nil, &length, input, message.count) == 1 else {
            throw CryptoError.openSSLFailure("EVP_DigestSign")
        }
        var out = [UInt8](repeating: 0, count: length)
        let ok = out.withUnsafeMutableBufferPointer { EVP_DigestSign(ctx, $0.baseAddress, &length, input, message.count) }
        guard ok == 1 else { throw CryptoError.openSSLFailure("EVP_DigestSign") }
        out.removeSubrange(length...)
        guard case .ecdsa(let curve) = algorithm.family else { return out }
        return try ECDSASignature.raw(fromDER: out, coordinateByteCount: curve.coordinateByteCount)
    }

    public func signature(over message: [UInt8], algorithm: JWSAlgorithm) throws(CryptoError) -> [UInt8] {
        try withBytes(message) { (buffer) throws(CryptoError) in try signature(over: buffer, algorithm: algorithm) }
    }
}

/// PSS parameters of RFC 7518 §3.5: MGF1 with the signature's hash (OpenSSL's default) and a
/// salt exactly the hash's length, on signing and on verifying (Go's jwx verifies with
/// `PSSSaltLengthEqualsHash`, so a proof with another salt length fails there too).
private func configurePSS(_ pctx: OpaquePointer?, _ algorithm: JWSAlgorithm) -> Bool {
    guard case .pss = algorithm.family else { return true }
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
        && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1
        && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, algorithm.messageDigest) == 1
}

/// JWS ECDSA signatures are `r‖s`, each left-padded to the coordinate size (RFC 7518 §3.4);
/// OpenSSL speaks DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3).
enum ECDSASignature {
    /// Writes the DER form of `raw` into `out` (≥ 141 bytes: P-521's worst case); returns its length.
    static func der(fromRaw raw: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        let half = raw.count / 2
        let r = UnsafeRawBufferPointer(rebasing: raw[0..<half])
        let s = UnsafeRawBufferPointer(rebasing: raw[half...])
        let rLength = integerLength(r), sLength = integerLength(s)
        let content = rLength + sLength
        var at = 0
        out[at] = 0x30; at += 1
        if content >= 0x80 { out[at] = 0x81; at += 1 }
        out[at] = UInt8(content); at += 1
        at = writeInteger(r, into: out, at: at)
        at = writeInteger(s, into: out, at: at)
        return at
    }

    /// Tag, length and minimal two's-complement body of an unsigned big-endian integer.
    private static func integerLength(_ value: UnsafeRawBufferPointer) -> Int {
        let body = minimal(value)
        return 2 + body.count + (body[body.startIndex] & 0x80 != 0 ? 1 : 0)
    }

    private static func minimal(_ value: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer> {
        var start = value.startIndex
        while start < value.endIndex - 1, value[start] == 0 { start += 1 }
        return value[start...]
    }

    private static func writeInteger(_ value: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        let body = minimal(value)
        let pad = body[body.startIndex] & 0x80 != 0
        var at = start
        out[at] = 0x02; at += 1
        out[at] = UInt8(body.count + (pad ? 1 : 0)); at += 1
        if pad { out[at] = 0; at += 1 }
        for byte in body { out[at] = byte; at += 1 }
        return at
    }

    static func raw(fromDER der: [UInt8], coordinateByteCount: Int) throws(CryptoError) -> [UInt8] {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let sig = parsed else { throw CryptoError.openSSLFailure("d2i_ECDSA_SIG") }
        defer { ECDSA_SIG_free(sig) }
        var r: OpaquePointer?, s: OpaquePointer?
        ECDSA_SIG_get0(sig, &r, &s)
        var out = [UInt8](repeating: 0, count: 2 * coordinateByteCount)
        let ok = out.withUnsafeMutableBufferPointer { buffer in
            BN_bn2binpad(r, buffer.baseAddress, Int32(coordinateByteCount)) == coordinateByteCount
                && BN_bn2binpad(s, buffer.baseAddress! + coordinateByteCount, Int32(coordinateByteCount)) == coordinateByteCount
        }
        guard ok else { throw .openSSL("BN_bn2binpad") }
        return out
    }
}
