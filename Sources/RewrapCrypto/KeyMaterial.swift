internal import COpenSSL

func classify(_ pkey: OpaquePointer, minimumRSABits: Int = 2048) throws(CryptoError) -> KeyAlgorithm {
    switch EVP_PKEY_get_base_id(pkey) {
    case EVP_PKEY_RSA:
        let bits = Int(EVP_PKEY_get_bits(pkey))
        guard bits >= minimumRSABits, bits <= 8192 else {
            throw .unsupportedAlgorithm("RSA-\(bits) (supported: \(minimumRSABits)–8192 bits)")
        }
        return .rsa(bits: bits)
    case EVP_PKEY_EC:
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else {
            CryptoError.clearQueue()
            throw .invalidKey("EC key without a named curve")
        }
        let group = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let curve = Curve(openSSLGroupName: group) else {
            throw .unsupportedAlgorithm("EC curve \(group) (supported: P-256, P-384, P-521)")
        }
        return .ec(curve)
    default:
        throw .unsupportedAlgorithm("key type is neither RSA nor EC")
    }
}

func generateKey(_ algorithm: KeyAlgorithm) throws(CryptoError) -> OpaquePointer {
    let typeName: String
    switch algorithm {
    case .rsa: typeName = "RSA"
    case .ec: typeName = "EC"
    }
    guard let ctx = EVP_PKEY_CTX_new_from_name(nil, typeName, nil) else {
        throw CryptoError.openSSLFailure("EVP_PKEY_CTX_new_from_name")
    }
    defer { EVP_PKEY_CTX_free(ctx) }
    guard EVP_PKEY_keygen_init(ctx) == 1 else { throw CryptoError.openSSLFailure("EVP_PKEY_keygen_init") }
    switch algorithm {
    case .rsa(let bits):
        guard [2048, 3072, 4096].contains(bits) else { throw .unsupportedAlgorithm("RSA-\(bits)") }
        guard EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 else {
            throw CryptoError.openSSLFailure("set_rsa_keygen_bits")
        }
    case .ec(let curve):
        guard EVP_PKEY_CTX_set_group_name(ctx, curve.openSSLGroupName) == 1 else {
            throw CryptoError.openSSLFailure("set_group_name")
        }
    }
    var pkey: OpaquePointer?
    guard EVP_PKEY_generate(ctx, &pkey) == 1, let key = pkey else {
        throw CryptoError.openSSLFailure("EVP_PKEY_generate")
    }
    return key
}
/// Builds a peer key from an encoded point on `template`'s curve. `set1_encoded_public_key`
/// rejects off-curve points; lengths are checked first so a point of another curve never
/// reaches OpenSSL. This is the fast parse of openssl-perf.md §b (copy_parameters + set1).
func decodePoint(_ point: UnsafeRawBufferPointer, template: OpaquePointer, curve: Curve) throws(CryptoError) -> OpaquePointer {
    try checkPointEncoding(point, curve: curve)
    guard let peer = EVP_PKEY_new() else { throw .openSSL("EVP_PKEY_new") }
    guard EVP_PKEY_copy_parameters(peer, template) == 1,
          EVP_PKEY_set1_encoded_public_key(
            peer, point.baseAddress!.assumingMemoryBound(to: UInt8.self), point.count) == 1
    else {
        EVP_PKEY_free(peer)
        CryptoError.clearQueue()
        throw .invalidPoint
    }
    return peer
}

/// Accepts only an uncompressed or compressed SEC1 point of `curve`'s size (no identity, no
/// hybrid form), before OpenSSL sees it.
func checkPointEncoding(_ point: UnsafeRawBufferPointer, curve: Curve) throws(CryptoError) {
    guard let first = point.first else { throw .invalidPoint }
    switch (first, point.count) {
    case (4, curve.uncompressedPointByteCount), (2, curve.compressedPointByteCount), (3, curve.compressedPointByteCount):
        return
    default:
        throw .invalidPoint
    }
}

/// One parameters-only key per curve, the template every decoded point copies its group from.
final class CurveTemplates: @unchecked Sendable {
    static let shared = CurveTemplates()
    private let templates: [Curve: OpaquePointer]

    private init() {
        var built: [Curve: OpaquePointer] = [:]
        for curve in Curve.allCases {
            if let key = try? generateKey(.ec(curve)) { built[curve] = key }
        }
        templates = built
    }

    func template(for curve: Curve) throws(CryptoError) -> OpaquePointer {
        guard let template = templates[curve] else { throw .openSSL("no template for \(curve)") }
        return template
    }
}
