internal import COpenSSL

/// The NIST curves OpenTDF uses for EC KAS keys and EC session keys.
public enum Curve: String, Sendable, CaseIterable, Hashable {
    case p256 = "ec:secp256r1"
    case p384 = "ec:secp384r1"
    case p521 = "ec:secp521r1"

    /// Bytes in one field element: the ECDH shared secret (the x-coordinate) has this length.
    public var coordinateByteCount: Int {
        switch self {
        case .p256: return 32
        case .p384: return 48
        case .p521: return 66
        }
    }

    public var uncompressedPointByteCount: Int { 1 + 2 * coordinateByteCount }
    public var compressedPointByteCount: Int { 1 + coordinateByteCount }

    /// The name OpenSSL 3 uses for the group.
    var openSSLGroupName: String {
        switch self {
        case .p256: return "P-256"
        case .p384: return "P-384"
        case .p521: return "P-521"
        }
    }

    /// OpenSSL's curve identifier, for `EC_GROUP_new_by_curve_name`.
    var nid: Int32 {
        switch self {
        case .p256: return NID_X9_62_prime256v1
        case .p384: return NID_secp384r1
        case .p521: return NID_secp521r1
        }
    }

    init?(openSSLGroupName name: String) {
        switch name {
        case "prime256v1", "P-256", "secp256r1": self = .p256
        case "secp384r1", "P-384": self = .p384
        case "secp521r1", "P-521": self = .p521
        default: return nil
        }
    }

    /// DER prefix of a SubjectPublicKeyInfo carrying an uncompressed point on this curve; the
    /// point follows. Matching it byte for byte lets the hot path skip OpenSSL's SPKI decoder
    /// (4× slower, openssl-perf.md §b).
    package var uncompressedSPKIPrefix: [UInt8] {
        switch self {
        case .p256: return Self.hex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
        case .p384: return Self.hex("3076301006072a8648ce3d020106052b81040022036200")
        case .p521: return Self.hex("30819b301006072a8648ce3d020106052b8104002303818600")
        }
    }

    /// The same for a compressed point.
    package var compressedSPKIPrefix: [UInt8] {
        switch self {
        case .p256: return Self.hex("3039301306072a8648ce3d020106082a8648ce3d030107032200")
        case .p384: return Self.hex("3046301006072a8648ce3d020106052b81040022033200")
        case .p521: return Self.hex("3058301006072a8648ce3d020106052b81040023034400")
        }
    }

    private static func hex(_ string: String) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = string.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            out.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
        }
        return out
    }
}
