import RewrapCrypto
import RewrapWire

/// A JSON value for a JWS header or JWT claim written by `JWSSigner`.
public enum JOSEValue: Sendable {
    case string(String)
    case integer(Int64)
    case strings([String])
    case bool(Bool)
    /// Already-serialized JSON (a JWK, a `cnf` object), written as is.
    case json(String)
    case object([(String, JOSEValue)])
}

/// Signs compact JWSs (RFC 7515 §7.1) with a private key: the client side for tests, the dev
/// IdP, the load generator and the benchmark.
public struct JWSSigner: Sendable {
    public let key: PrivateKey
    public let algorithm: JWSAlgorithm
    public let keyID: String?

    public init(key: PrivateKey, algorithm: JWSAlgorithm, keyID: String? = nil) throws(CryptoError) {
        guard algorithm.fits(key.algorithm) else { throw .unsupportedAlgorithm("\(algorithm) with a \(key.algorithm) key") }
        self.key = key
        self.algorithm = algorithm
        self.keyID = keyID
    }

    /// A signer with the usual algorithm for the key: RS256 for RSA, the curve's ES* for EC.
    public init(key: PrivateKey, keyID: String? = nil) throws(CryptoError) {
        try self.init(key: key, algorithm: JWSAlgorithm.inferred(for: key.algorithm)[0], keyID: keyID)
    }

    /// `base64url(header).base64url(claims).base64url(signature)`; the header gets `alg`, then
    /// `kid` when set, then `extraHeader`.
    public func sign(claims: [(String, JOSEValue)], extraHeader: [(String, JOSEValue)] = []) throws(CryptoError) -> String {
        var header: [(String, JOSEValue)] = [("alg", .string(algorithm.rawValue))]
        if let keyID { header.append(("kid", .string(keyID))) }
        header += extraHeader
        return try sign(headerJSON: Self.json(header), claimsJSON: Self.json(claims))
    }

    /// Signs the given header and payload bytes as they are (for tests that need odd JSON).
    public func sign(headerJSON: [UInt8], claimsJSON: [UInt8]) throws(CryptoError) -> String {
        let input = Base64.encodeURL(headerJSON) + "." + Base64.encodeURL(claimsJSON)
        let signature = try key.signature(over: Array(input.utf8), algorithm: algorithm)
        return input + "." + Base64.encodeURL(signature)
    }

    /// Compact JSON of `members`, in order.
    public static func json(_ members: [(String, JOSEValue)]) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        write(.object(members), into: &writer)
        return writer.bytes
    }

    private static func write(_ value: JOSEValue, into writer: inout JSONWriter) {
        switch value {
        case .string(let text): writer.string(text)
        case .integer(let number): writer.number(number)
        case .bool(let flag): writer.bool(flag)
        case .json(let text):
            writer.appendRaw(text)
        case .strings(let texts):
            writer.raw("[")
            for (index, text) in texts.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(text)
            }
            writer.raw("]")
        case .object(let members):
            writer.raw("{")
            for (index, member) in members.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.key(member.0)
                write(member.1, into: &writer)
            }
            writer.raw("}")
        }
    }
}
