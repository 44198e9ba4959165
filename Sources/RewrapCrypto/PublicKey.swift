internal import COpenSSL

/// A parsed public key: a KAS key given to writers, a client key to rewrap to, or an EC peer.
public final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer
    let serial: UInt64
    public let algorithm: KeyAlgorithm

    init(sharing pkey: OpaquePointer, algorithm: KeyAlgorithm) {
        self.pkey = pkey
        self.algorithm = algorithm
        self.serial = nextSerial()
    }

    init(taking pkey: OpaquePointer) throws(CryptoError) {
        do {
            self.algorithm = try classify(pkey, minimumRSABits: 1024)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
        self.serial = nextSerial()
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Parses a PEM `PUBLIC KEY` (SPKI) or, when `allowCertificate`, an X.509 `CERTIFICATE`
    /// whose subject key is used (registry public keys are often certificates, spec §2.1).
    package convenience init(pem: UnsafeRawBufferPointer, allowCertificate: Bool = true) throws(CryptoError) {
        try self.init(taking: parsePublicKeyPEM(pem, allowCertificate: allowCertificate))
    }

    public convenience init(pem: String, allowCertificate: Bool = true) throws(CryptoError) {
        if let (pkey, curve) = canonicalECPublicKey(pem: pem) {
            self.init(sharing: pkey, algorithm: .ec(curve))
            return
        }
        let pkey = try withBytes(Array(pem.utf8)) { (buffer) throws(CryptoError) in
            try parsePublicKeyPEM(buffer, allowCertificate: allowCertificate)
        }
        try self.init(taking: pkey)
    }

    /// Parses a DER SubjectPublicKeyInfo.
    package convenience init(spkiDER der: UnsafeRawBufferPointer) throws(CryptoError) {
        try self.init(taking: parseSPKI(der))
    }

    /// Parses an EC point (SEC1 uncompressed `04‖X‖Y` or compressed `02/03‖X`) on `curve`.
    /// OpenSSL's decoder rejects points that are not on the curve; the identity cannot be
    /// encoded in either form, and a point of another curve has the wrong length.
    package convenience init(ecPoint point: UnsafeRawBufferPointer, curve: Curve) throws(CryptoError) {
        let template = try CurveTemplates.shared.template(for: curve)
        let pkey = try decodePoint(point, template: template, curve: curve)
        self.init(sharing: pkey, algorithm: .ec(curve))
    }

    /// PEM SPKI text with 64-character lines and a trailing newline, as Go writes it.
    public func pem() throws(CryptoError) -> String {
        if case .ec(let curve) = algorithm {
            // Built from the point and the fixed SPKI prefix: OpenSSL's PEM encoder is a
            // large share of an EC client's per-request cost.
            return pemArmor(curve.uncompressedSPKIPrefix + (try ecPoint()), label: "PUBLIC KEY")
        }
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PUBKEY(bio, pkey) == 1 else {
            throw CryptoError.openSSLFailure("PEM_write_bio_PUBKEY")
        }
        return bioContents(bio) { String(decoding: $0, as: UTF8.self) }
    }

    /// DER SubjectPublicKeyInfo (uncompressed point for EC).
    public func spkiDER() throws(CryptoError) -> [UInt8] {
        let length = i2d_PUBKEY(pkey, nil)
        guard length > 0 else { throw CryptoError.openSSLFailure("i2d_PUBKEY") }
        var out = [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_PUBKEY(pkey, &cursor)
        }
        return out
    }

    /// The SEC1 point of an EC key, compressed or not.
    public func ecPoint(compressed: Bool = false) throws(CryptoError) -> [UInt8] {
        guard case .ec(let curve) = algorithm else { throw .invalidKey("not an EC key") }
        var point = [UInt8](repeating: 0, count: curve.uncompressedPointByteCount)
        var written = 0
        let ok = point.withUnsafeMutableBufferPointer {
            EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, $0.baseAddress, $0.count, &written)
        }
        guard ok == 1, written == curve.uncompressedPointByteCount, point[0] == 4 else {
            throw CryptoError.openSSLFailure("encoded public key")
        }
        if !compressed { return point }
        var out = [UInt8](repeating: 0, count: curve.compressedPointByteCount)
        out[0] = 2 | (point[point.count - 1] & 1)
        out[1...].withUnsafeMutableBufferPointer { dst in
            point[1...curve.coordinateByteCount].withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        }
        return out
    }
}
