internal import COpenSSL
package import RewrapWire

// Public keys as JSON Web Keys (RFC 7517 §4, RFC 7518 §6.2–6.3) and their RFC 7638 thumbprints.

/// `OSSL_PARAM` keys live for the process: OpenSSL keeps the pointers until `fromdata` returns,
/// which a bridged Swift string would not outlive (see `CStrings`).
private enum JWKCStrings {
    nonisolated(unsafe) static let rsaN = strdup(OSSL_PKEY_PARAM_RSA_N)!
    nonisolated(unsafe) static let rsaE = strdup(OSSL_PKEY_PARAM_RSA_E)!
    nonisolated(unsafe) static let group = strdup(OSSL_PKEY_PARAM_GROUP_NAME)!
    nonisolated(unsafe) static let publicKey = strdup(OSSL_PKEY_PARAM_PUB_KEY)!
    nonisolated(unsafe) static let p256 = strdup("P-256")!
    nonisolated(unsafe) static let p384 = strdup("P-384")!
    nonisolated(unsafe) static let p521 = strdup("P-521")!
}

extension Curve {
    /// The JWK `crv` name (RFC 7518 §6.2.1.1).
    public var jwkName: String {
        switch self {
        case .p256: return "P-256"
        case .p384: return "P-384"
        case .p521: return "P-521"
        }
    }

    public init?(jwkName: String) {
        switch jwkName {
        case "P-256": self = .p256
        case "P-384": self = .p384
        case "P-521": self = .p521
        default: return nil
        }
    }

    fileprivate var jwkCName: UnsafeMutablePointer<CChar> {
        switch self {
        case .p256: return JWKCStrings.p256
        case .p384: return JWKCStrings.p384
        case .p521: return JWKCStrings.p521
        }
    }
}

extension PublicKey {
    /// Members that only a private JWK has (RFC 7518 §6.2.2, §6.3.2): their presence where a public
    /// key is required is refused, never ignored (kas-server.md §4.3 row 6).
    package static let privateJWKMembers = ["d", "p", "q", "dp", "dq", "qi", "oth"]

    package static func jwkHasPrivateMembers(_ jwk: JSONValue) -> Bool {
        privateJWKMembers.contains { jwk[exact: $0] != nil }
    }

    /// Builds a public key from a JWK object: RSA (`n`, `e`; 2048–8192-bit modulus) or EC (`crv`
    /// P-256/P-384/P-521, `x`, `y` at full coordinate size, the point checked on the curve).
    /// Other members (`kid`, `alg`, `use`, …) are the caller's to read.
    package convenience init(jwk: JSONValue) throws(CryptoError) {
        guard jwk.isObject else { throw .invalidKey("JWK is not a JSON object") }
        guard !Self.jwkHasPrivateMembers(jwk) else { throw .invalidKey("JWK carries private key members") }
        switch jwk[exact: "kty"]?.stringValue {
        case "RSA":
            guard let n = jwk[exact: "n"]?.stringValue.flatMap({ Base64.decode($0, options: .base64URL) }),
                  let e = jwk[exact: "e"]?.stringValue.flatMap({ Base64.decode($0, options: .base64URL) })
            else { throw .invalidKey("RSA JWK needs base64url `n` and `e`") }
            try self.init(taking: rsaFromComponents(modulus: n, exponent: e))
        case "EC":
            guard let name = jwk[exact: "crv"]?.stringValue else { throw .invalidKey("EC JWK without `crv`") }
            guard let curve = Curve(jwkName: name) else { throw .unsupportedAlgorithm("JWK curve \(name)") }
            guard let x = jwk[exact: "x"]?.stringValue.flatMap({ Base64.decode($0, options: .base64URL) }),
                  let y = jwk[exact: "y"]?.stringValue.flatMap({ Base64.decode($0, options: .base64URL) })
            else { throw .invalidKey("EC JWK needs base64url `x` and `y`") }
            // RFC 7518 §6.2.1.2–3: each coordinate is exactly the field size, leading zeros kept.
            guard x.count == curve.coordinateByteCount, y.count == curve.coordinateByteCount else { throw .invalidPoint }
            try self.init(taking: ecFromCoordinates(curve: curve, point: [4] + x + y))
        case let other?:
            throw .unsupportedAlgorithm("JWK kty \(other)")
        case nil:
            throw .invalidKey("JWK without `kty`")
        }
    }

    /// A JWK given as JSON text (at most 16 KiB, nesting at most 8).
    public convenience init(jwkJSON text: String) throws(CryptoError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= 16 << 10, let value = JSONValue.parse(bytes, maxDepth: 8) else {
            throw .invalidKey("JWK is not JSON of at most 16 KiB")
        }
        try self.init(jwk: value)
    }

    /// The JWK of this key with exactly the RFC 7638 §3.2 required members in lexicographic
    /// order and no whitespace: `{"e":…,"kty":"RSA","n":…}` or `{"crv":…,"kty":"EC","x":…,"y":…}`,
    /// as the Go KAS serves it (kas-server.md §5) and as the thumbprint hashes it.
    public func jwkJSON() throws(CryptoError) -> String {
        switch algorithm {
        case .rsa:
            let n = try bigNumberParameter(OSSL_PKEY_PARAM_RSA_N)
            let e = try bigNumberParameter(OSSL_PKEY_PARAM_RSA_E)
            return #"{"e":""# + Base64.encodeURL(e) + #"","kty":"RSA","n":""# + Base64.encodeURL(n) + #""}"#
        case .ec(let curve):
            let point = try ecPoint()
            let size = curve.coordinateByteCount
            let x = Base64.encodeURL(point[1...size]), y = Base64.encodeURL(point[(size + 1)...])
            return #"{"crv":""# + curve.jwkName + #"","kty":"EC","x":""# + x + #"","y":""# + y + #""}"#
        }
    }

    /// RFC 7638 thumbprint: base64url-nopad SHA-256 of `jwkJSON()` (the DPoP `cnf.jkt`, RFC 9449 §6.1).
    public func jwkThumbprint() throws(CryptoError) -> String {
        Self.thumbprint(ofCanonicalJWK: try jwkJSON())
    }

    package static func thumbprint(ofCanonicalJWK json: String) -> String {
        Base64.encodeURL(CryptoPrimitives.sha256(Array(json.utf8)))
    }

    /// The text `jwkJSON()` would give for the key `jwk` describes, built from its members
    /// without making the key (no OpenSSL): what a cache of parsed keys is keyed by, so a DPoP
    /// key seen before skips `EVP_PKEY_fromdata` and the point check. Members are decoded and
    /// re-encoded (RSA integers minimal, EC coordinates at full size), so two spellings of one
    /// key agree. It validates only the form; `init(jwk:)` still does the key checks on a miss.
    package static func canonicalJWK(_ jwk: JSONValue) throws(CryptoError) -> String {
        func member(_ name: String) throws(CryptoError) -> [UInt8] {
            guard let bytes = jwk[exact: name]?.stringValue.flatMap({ Base64.decode($0, options: .base64URL) }) else {
                throw .invalidKey("JWK needs base64url `\(name)`")
            }
            return bytes
        }
        switch jwk[exact: "kty"]?.stringValue {
        case "RSA":
            let n = Array(try member("n").drop { $0 == 0 }), e = Array(try member("e").drop { $0 == 0 })
            return #"{"e":""# + Base64.encodeURL(e) + #"","kty":"RSA","n":""# + Base64.encodeURL(n) + #""}"#
        case "EC":
            guard let curve = jwk[exact: "crv"]?.stringValue.flatMap(Curve.init(jwkName:)) else { throw .unsupportedAlgorithm("JWK curve") }
            let x = try member("x"), y = try member("y")
            guard x.count == curve.coordinateByteCount, y.count == curve.coordinateByteCount else { throw .invalidPoint }
            return #"{"crv":""# + curve.jwkName + #"","kty":"EC","x":""# + Base64.encodeURL(x) + #"","y":""# + Base64.encodeURL(y) + #""}"#
        default:
            throw .unsupportedAlgorithm("JWK kty")
        }
    }

    /// An unsigned big-endian integer parameter, minimal length.
    private func bigNumberParameter(_ name: String) throws(CryptoError) -> [UInt8] {
        var bn: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else { throw CryptoError.openSSLFailure("get \(name)") }
        defer { BN_free(bn) }
        var out = [UInt8](repeating: 0, count: (Int(BN_num_bits(bn)) + 7) / 8)
        _ = out.withUnsafeMutableBufferPointer { BN_bn2bin(bn, $0.baseAddress) }
        return out
    }
}

/// An RSA public EVP_PKEY from big-endian `n` and `e`. OpenSSL's own public check
/// (SP 800-56B) would refuse exponents below 2^16 that JOSE allows, so the checks are the ones
/// that matter for verification: odd modulus of 2048–8192 bits, odd exponent ≥ 3 of ≤ 64 bits.
private func rsaFromComponents(modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) -> OpaquePointer {
    let n = Array(modulus.drop { $0 == 0 })
    let e = Array(exponent.drop { $0 == 0 })
    let bits = n.isEmpty ? 0 : n.count * 8 - n[0].leadingZeroBitCount
    guard (2048...8192).contains(bits) else { throw .unsupportedAlgorithm("RSA-\(bits) JWK (supported: 2048–8192 bits)") }
    guard n[n.count - 1] & 1 == 1 else { throw .invalidKey("RSA modulus is even") }
    guard (1...8).contains(e.count), e[e.count - 1] & 1 == 1, e != [1] else { throw .invalidKey("RSA exponent out of range") }
    // OSSL_PARAM_construct_BN reads native-endian (little-endian here) magnitudes.
    var littleN = Array(n.reversed()), littleE = Array(e.reversed())
    let result: Result<OpaquePointer, CryptoError> = littleN.withUnsafeMutableBytes { nBuffer in
        littleE.withUnsafeMutableBytes { eBuffer in
            var params = [
                OSSL_PARAM_construct_BN(JWKCStrings.rsaN, nBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), nBuffer.count),
                OSSL_PARAM_construct_BN(JWKCStrings.rsaE, eBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), eBuffer.count),
                OSSL_PARAM_construct_end(),
            ]
            return fromData("RSA", &params, validate: false)
        }
    }
    return try result.get()
}

/// An EC public EVP_PKEY from an uncompressed point; `EVP_PKEY_public_check` then confirms the
/// point is on the curve and not the identity (RFC 7518 §6.2.1, invalid-curve attacks).
private func ecFromCoordinates(curve: Curve, point: [UInt8]) throws(CryptoError) -> OpaquePointer {
    var point = point
    let result: Result<OpaquePointer, CryptoError> = point.withUnsafeMutableBytes { buffer in
        var params = [
            OSSL_PARAM_construct_utf8_string(JWKCStrings.group, curve.jwkCName, 0),
            OSSL_PARAM_construct_octet_string(JWKCStrings.publicKey, buffer.baseAddress, buffer.count),
            OSSL_PARAM_construct_end(),
        ]
        return fromData("EC", &params, validate: true)
    }
    return try result.get()
}

/// Returns `Result` so the `withUnsafe…` closures above keep the error typed.
private func fromData(_ type: String, _ params: inout [OSSL_PARAM], validate: Bool) -> Result<OpaquePointer, CryptoError> {
    guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { return .failure(.openSSLFailure("EVP_PKEY_CTX_new_from_name")) }
    defer { EVP_PKEY_CTX_free(ctx) }
    var pkey: OpaquePointer?
    guard EVP_PKEY_fromdata_init(ctx) == 1,
          EVP_PKEY_fromdata(ctx, &pkey, SHIM_EVP_PKEY_PUBLIC_KEY, &params) == 1, let key = pkey
    else {
        CryptoError.clearQueue()
        return .failure(type == "EC" ? .invalidPoint : .invalidKey("RSA JWK rejected by OpenSSL"))
    }
    guard validate else { return .success(key) }
    guard let check = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else {
        EVP_PKEY_free(key)
        return .failure(.openSSLFailure("EVP_PKEY_CTX_new_from_pkey"))
    }
    defer { EVP_PKEY_CTX_free(check) }
    guard EVP_PKEY_public_check(check) == 1 else {
        EVP_PKEY_free(key)
        CryptoError.clearQueue()
        return .failure(.invalidPoint)
    }
    return .success(key)
}
