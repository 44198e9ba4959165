/// A KAS key algorithm, spelled as OpenTDF spells it (`rsa:2048`, `ec:secp256r1`, …).
public enum KeyAlgorithm: Sendable, Hashable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(Curve)

    public static let rsa2048 = KeyAlgorithm.rsa(bits: 2048)
    public static let rsa3072 = KeyAlgorithm.rsa(bits: 3072)
    public static let rsa4096 = KeyAlgorithm.rsa(bits: 4096)
    public static let ecP256 = KeyAlgorithm.ec(.p256)
    public static let ecP384 = KeyAlgorithm.ec(.p384)
    public static let ecP521 = KeyAlgorithm.ec(.p521)

    /// Every algorithm a KAS key may have in this engine: the one list help texts, messages and
    /// the CLI's argument parsing are derived from.
    public static let kasAlgorithms: [KeyAlgorithm] = [.rsa2048, .rsa3072, .rsa4096, .ecP256, .ecP384, .ecP521]

    /// `kasAlgorithms` spelled for a message: "rsa:2048, rsa:3072, …, ec:secp384r1 or ec:secp521r1".
    public static var kasAlgorithmsListed: String {
        let names = kasAlgorithms.map(\.description)
        return names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }

    /// Parses the spelling (`description`) of one of `kasAlgorithms`: `rsa:2048`, `ec:secp256r1`, ….
    public init?(_ string: String) {
        switch string {
        case "rsa:2048": self = .rsa2048
        case "rsa:3072": self = .rsa3072
        case "rsa:4096": self = .rsa4096
        default:
            guard let curve = Curve(rawValue: string) else { return nil }
            self = .ec(curve)
        }
    }

    public var description: String {
        switch self {
        case .rsa(let bits): return "rsa:\(bits)"
        case .ec(let curve): return curve.rawValue
        }
    }

    public var isRSA: Bool { if case .rsa = self { return true } else { return false } }
}
