internal import COpenSSL
import Dispatch
import Foundation
import Synchronization

/// Serial numbers let per-thread context caches key on a key object without holding a
/// dangling address if the key is released and another is allocated at the same place.
private let keySerials = Atomic<UInt64>(1)

private func nextSerial() -> UInt64 { keySerials.wrappingAdd(1, ordering: .relaxed).oldValue }

/// A callback that refuses to prompt for a PEM pass phrase (OpenSSL's default reads the tty).
private let noPassphrase: @convention(c) (
    UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
) -> Int32 = { _, _, _, _ in 0 }

/// A parsed private key (RSA or EC), immutable and shared read-only by all threads, which
/// OpenSSL documents as safe for decrypt and derive. Parse once, use for the key's lifetime.
public final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer
    let serial: UInt64
    public let algorithm: KeyAlgorithm
    /// EC keys: the private scalar as a constant-time BIGNUM, for the allocation-free ECDH of
    /// `CryptoWorker.ecdh(_:peerPoint:into:)`; cleared when the key goes.
    let ecScalar: OpaquePointer?

    init(taking pkey: OpaquePointer) throws(CryptoError) {
        do {
            self.algorithm = try classify(pkey)
            self.ecScalar = try Self.exportScalar(pkey, algorithm: algorithm)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
        self.serial = nextSerial()
    }

    deinit {
        BN_clear_free(ecScalar)
        EVP_PKEY_free(pkey)
    }

    private static func exportScalar(_ pkey: OpaquePointer, algorithm: KeyAlgorithm) throws(CryptoError) -> OpaquePointer? {
        guard case .ec = algorithm else { return nil }
        var scalar: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) == 1, let scalar else {
            CryptoError.clearQueue()
            throw .invalidKey("EC private key without a private scalar")
        }
        BN_set_flags(scalar, BN_FLG_CONSTTIME)
        return scalar
    }

    /// Parses a PEM private key: PKCS#8 `PRIVATE KEY` for every algorithm, or PKCS#1
    /// `RSA PRIVATE KEY` for RSA (OpenTDF accepts exactly these, spec §2.1, §2.2).
    package convenience init(pem: UnsafeRawBufferPointer) throws(CryptoError) {
        try self.init(taking: parsePrivateKeyPEM(pem))
    }

    public convenience init(pem: SecureBytes) throws(CryptoError) {
        let pkey = try pem.withUnsafeBytes { (buffer) throws(CryptoError) in try parsePrivateKeyPEM(buffer) }
        try self.init(taking: pkey)
    }

    public convenience init(pem: String) throws(CryptoError) {
        try self.init(pem: SecureBytes(copying: Array(pem.utf8)))
    }

    /// Generates a fresh key (RSA 2048/3072/4096 with e = 65537, or an EC key).
    public static func generate(_ algorithm: KeyAlgorithm) throws(CryptoError) -> PrivateKey {
        try PrivateKey(taking: generateKey(algorithm))
    }

    /// The public half.
    public var publicKey: PublicKey {
        // Sharing the EVP_PKEY is safe: public-key operations only read it.
        EVP_PKEY_up_ref(pkey)
        return PublicKey(sharing: pkey, algorithm: algorithm)
    }

    /// PKCS#8 PEM text, in a wiping buffer (written through OpenSSL's secure-memory BIO).
    public func pkcs8PEM() throws(CryptoError) -> SecureBytes {
        guard let bio = BIO_new(BIO_s_secmem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw CryptoError.openSSLFailure("PEM_write_bio_PrivateKey")
        }
        return bioContents(bio) { SecureBytes(copying: $0) }
    }

    /// Runs one private operation so the lazily built Montgomery and blinding state exists
    /// before the key serves traffic (the first RSA op costs ~1 ms extra, openssl-perf.md §d).
    ///
    /// It runs on `KeyLoaderThread`, never on the caller's thread: OpenSSL gives the thread of an
    /// RSA key's first private operation a lock-free blinding of its own and every other thread a
    /// shared, locked one. With the loader as that owner, every serving thread takes the same path,
    /// so workers cost the same and a run's allocation counts do not depend on which thread
    /// happened to load the key.
    package func warmUp() {
        KeyLoaderThread.shared.run { [self] in warmUpHere() }
    }

    private func warmUpHere() {
        let worker = CryptoWorker()
        switch algorithm {
        case .rsa:
            let pub = publicKey
            let probe = [UInt8](repeating: 0x5a, count: 32)
            if let wrapped = try? withBytes(probe, { (buffer) throws(CryptoError) in
                try worker.rsaOAEPEncrypt(buffer, to: pub)
            }) {
                let out = SecureBytes(count: 32)
                _ = try? withBytes(wrapped) { (ct) throws(CryptoError) in
                    try worker.rsaOAEPDecrypt(ct, with: self, into: out.slice(0..<32))
                }
            }
        case .ec(let curve):
            if let peer = try? PrivateKey.generate(.ec(curve)) {
                let secret = SecureBytes(count: curve.coordinateByteCount)
                _ = try? worker.ecdh(self, peer: peer.publicKey, into: secret.slice(0..<secret.count))
            }
        }
    }
}

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

// MARK: - Helpers shared by the key types

/// `Array.withUnsafeBytes` is `rethrows` (untyped); this keeps `CryptoError` typed.
@inline(__always)
package func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
    let result: Result<R, CryptoError> = array.withUnsafeBytes { buffer in
        Result { () throws(CryptoError) -> R in try body(buffer) }
    }
    return try result.get()
}

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

/// PEM text for DER bytes: base64 in 64-character lines, trailing newline.
func pemArmor(_ der: [UInt8], label: String) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var body: [UInt8] = []
    body.reserveCapacity((der.count + 2) / 3 * 4 + der.count / 48 + 1)
    var index = 0
    var column = 0
    while index < der.count {
        let remaining = der.count - index
        let b0 = UInt32(der[index])
        let b1 = remaining > 1 ? UInt32(der[index + 1]) : 0
        let b2 = remaining > 2 ? UInt32(der[index + 2]) : 0
        let value = b0 << 16 | b1 << 8 | b2
        body.append(alphabet[Int(value >> 18 & 63)])
        body.append(alphabet[Int(value >> 12 & 63)])
        body.append(remaining > 1 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
        body.append(remaining > 2 ? alphabet[Int(value & 63)] : UInt8(ascii: "="))
        index += 3
        column += 4
        if column == 64, index < der.count {
            body.append(UInt8(ascii: "\n"))
            column = 0
        }
    }
    return "-----BEGIN \(label)-----\n" + String(decoding: body, as: UTF8.self) + "\n-----END \(label)-----\n"
}

func bioContents<R>(_ bio: OpaquePointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    var data: UnsafeMutablePointer<CChar>?
    let length = shim_BIO_get_mem_data(bio, &data)
    return body(UnsafeRawBufferPointer(start: data, count: Int(length)))
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

/// A thread that only warms keys up (see `PrivateKey.warmUp`): it lives as long as the process,
/// so no serving thread can ever be, or reuse the identity of, the owner of a key's blinding.
final class KeyLoaderThread: @unchecked Sendable {
    static let shared = KeyLoaderThread()

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "rewrap-key-loader"
        thread.start()
    }

    /// Runs `job` on the loader thread and returns when it is done (a key's warm-up: about a millisecond).
    func run(_ job: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append {
            job()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
