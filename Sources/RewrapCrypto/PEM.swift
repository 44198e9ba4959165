internal import COpenSSL
internal import RewrapWire

// PEM in and out of OpenSSL: which blocks are accepted for private and public keys (spec §2.1,
// §2.2), DER SubjectPublicKeyInfo, and the armor written for public keys.

/// A callback that refuses to prompt for a PEM pass phrase (OpenSSL's default reads the tty).
private let noPassphrase: @convention(c) (
    UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
) -> Int32 = { _, _, _, _ in 0 }

func parsePrivateKeyPEM(_ pem: UnsafeRawBufferPointer) throws(CryptoError) -> OpaquePointer {
    let label = pemLabel(pem)
    switch label {
    case "PRIVATE KEY", "RSA PRIVATE KEY": break
    case "EC PRIVATE KEY":
        throw .invalidKey("EC private keys must be PKCS#8 (\"BEGIN PRIVATE KEY\"), not SEC1")
    case "ENCRYPTED PRIVATE KEY":
        throw .invalidKey("encrypted private keys are not supported")
    case nil:
        throw .invalidKey("no PEM block found")
    case let other?:
        throw .invalidKey("expected a PRIVATE KEY PEM block, found \(other)")
    }
    guard let bio = BIO_new_mem_buf(pem.baseAddress, Int32(pem.count)) else { throw .openSSL("BIO_new_mem_buf") }
    defer { BIO_free(bio) }
    guard let pkey = PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil) else {
        CryptoError.clearQueue()
        throw .invalidKey("the PEM block does not decode as a private key")
    }
    if label == "RSA PRIVATE KEY", EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA {
        EVP_PKEY_free(pkey)
        throw .invalidKey("an RSA PRIVATE KEY block holds a non-RSA key")
    }
    return pkey
}

func parsePublicKeyPEM(_ pem: UnsafeRawBufferPointer, allowCertificate: Bool) throws(CryptoError) -> OpaquePointer {
    let label = pemLabel(pem)
    guard let bio = BIO_new_mem_buf(pem.baseAddress, Int32(pem.count)) else { throw .openSSL("BIO_new_mem_buf") }
    defer { BIO_free(bio) }
    switch label {
    case "PUBLIC KEY":
        guard let pkey = PEM_read_bio_PUBKEY(bio, nil, noPassphrase, nil) else {
            CryptoError.clearQueue()
            throw .invalidKey("the PUBLIC KEY block is not a valid SubjectPublicKeyInfo")
        }
        return pkey
    case "CERTIFICATE" where allowCertificate:
        guard let cert = PEM_read_bio_X509(bio, nil, noPassphrase, nil) else {
            CryptoError.clearQueue()
            throw .invalidKey("the CERTIFICATE block is not a valid X.509 certificate")
        }
        defer { X509_free(cert) }
        guard let pkey = X509_get_pubkey(cert) else {
            CryptoError.clearQueue()
            throw .invalidKey("the certificate's public key cannot be read")
        }
        return pkey
    case nil:
        throw .invalidKey("no PEM block found")
    case let other?:
        throw .invalidKey("expected a PUBLIC KEY\(allowCertificate ? " or CERTIFICATE" : "") PEM block, found \(other)")
    }
}

/// An EC public key in the one shape KAS session keys and Go-written client keys take — a single
/// `PUBLIC KEY` block, LF line ends, a named-curve SPKI with an uncompressed point — decoded from
/// the fixed SPKI prefix and the point, without OpenSSL's generic decoder (`PEM_read_bio_PUBKEY`
/// goes through OSSL_DECODER: a provider search under a global lock, ~0.3 ms per key with two
/// threads, most of what a load generator spent opening a batch-1 answer; perf, 2-vCPU VM).
/// The point is checked on the curve as ever. nil for anything else, which then takes the
/// generic path and gets its usual answer or error: this accepts a subset of what it accepts,
/// as the same key.
func canonicalECPublicKey(pem: String) -> (OpaquePointer, Curve)? {
    let head = "-----BEGIN PUBLIC KEY-----\n"
    let tail = "-----END PUBLIC KEY-----"
    var text = Substring(pem)
    guard text.utf8.count < 512, text.hasPrefix(head) else { return nil }
    text = text.dropFirst(head.count)
    if text.hasSuffix("\n") { text = text.dropLast() }
    guard text.hasSuffix(tail) else { return nil }
    guard let der = Base64.decode(text.dropLast(tail.count), options: .pem) else { return nil }
    for curve in Curve.allCases {
        let prefix = curve.uncompressedSPKIPrefix
        guard der.count == prefix.count + curve.uncompressedPointByteCount, der.starts(with: prefix) else { continue }
        guard let template = try? CurveTemplates.shared.template(for: curve) else { return nil }
        let pkey = der[prefix.count...].withUnsafeBytes { point in try? decodePoint(point, template: template, curve: curve) }
        return pkey.map { ($0, curve) }
    }
    return nil
}

func parseSPKI(_ der: UnsafeRawBufferPointer) throws(CryptoError) -> OpaquePointer {
    guard let base = der.baseAddress, der.count > 0 else { throw .invalidKey("empty SubjectPublicKeyInfo") }
    let start = base.assumingMemoryBound(to: UInt8.self)
    var cursor: UnsafePointer<UInt8>? = UnsafePointer(start)
    guard let pkey = d2i_PUBKEY(nil, &cursor, der.count) else {
        CryptoError.clearQueue()
        throw .invalidKey("not a valid DER SubjectPublicKeyInfo")
    }
    guard let end = cursor, end - UnsafePointer(start) == der.count else {
        EVP_PKEY_free(pkey)
        throw .invalidKey("trailing bytes after the SubjectPublicKeyInfo")
    }
    return pkey
}

/// The label of the first PEM block (`PRIVATE KEY`, `PUBLIC KEY`, …), or nil.
func pemLabel(_ pem: UnsafeRawBufferPointer) -> String? {
    let marker = Array("-----BEGIN ".utf8)
    let bytes = pem.bindMemory(to: UInt8.self)
    guard bytes.count > marker.count else { return nil }
    var index = 0
    outer: while index + marker.count <= bytes.count {
        for offset in 0..<marker.count where bytes[index + offset] != marker[offset] {
            index += 1
            continue outer
        }
        let start = index + marker.count
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "-"), end - start < 64 { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "-") else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
    return nil
}

/// PEM text for DER bytes: base64 (RewrapWire's encoder) in 64-character lines, trailing
/// newline, as Go's `pem.Encode` writes it. Built in one string allocation: an EC session key is
/// PEM-encoded on every request.
func pemArmor(_ der: [UInt8], label: StaticString) -> String {
    let begin: StaticString = "-----BEGIN ", end: StaticString = "-----END ", dashes: StaticString = "-----\n"
    let bodyCount = Base64.encodedCount(der.count)
    let lineBreaks = max(0, (bodyCount - 1) / 64)
    let total = begin.utf8CodeUnitCount + end.utf8CodeUnitCount + 2 * (label.utf8CodeUnitCount + dashes.utf8CodeUnitCount)
        + bodyCount + lineBreaks + 1
    return String(unsafeUninitializedCapacity: total) { output in
        var offset = copy(begin, into: output, at: 0)
        offset = copy(label, into: output, at: offset)
        offset = copy(dashes, into: output, at: offset)
        der.withUnsafeBytes { input in
            // 48 input bytes are exactly one 64-character line.
            var start = 0
            while start < input.count {
                let chunk = UnsafeRawBufferPointer(rebasing: input[start..<min(start + 48, input.count)])
                let length = Base64.encodedCount(chunk.count)
                Base64.encode(chunk, into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: output[offset..<(offset + length)])))
                offset += length
                start += 48
                if start < input.count {
                    output[offset] = UInt8(ascii: "\n")
                    offset += 1
                }
            }
        }
        output[offset] = UInt8(ascii: "\n")
        offset = copy(end, into: output, at: offset + 1)
        offset = copy(label, into: output, at: offset)
        return copy(dashes, into: output, at: offset)
    }
}

/// Copies `text` into `output` at `offset`; returns the offset after it.
private func copy(_ text: StaticString, into output: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
    text.withUTF8Buffer { bytes in
        _ = UnsafeMutableBufferPointer(rebasing: output[offset..<(offset + bytes.count)]).initialize(fromContentsOf: bytes)
    }
    return offset + text.utf8CodeUnitCount
}

func bioContents<R>(_ bio: OpaquePointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    var data: UnsafeMutablePointer<CChar>?
    let length = shim_BIO_get_mem_data(bio, &data)
    return body(UnsafeRawBufferPointer(start: data, count: Int(length)))
}
