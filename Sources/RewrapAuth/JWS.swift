#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RewrapCrypto
import RewrapWire

/// Why a compact JWS could not be read. Texts are about the shape only, never the token.
public enum JWSError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(limit: Int)
    case malformed(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): return "token longer than \(limit) bytes"
        case .malformed(let why): return "malformed JWS: \(why)"
        }
    }
}

/// A JWS in compact serialization (RFC 7515 §7.1): `header.payload.signature`, each base64url
/// without padding, header and payload JSON objects (a JWT's claims, RFC 7519 §7.2). Parsing
/// checks only the form; signatures are checked by the verifiers. The signing input
/// (`header.payload`, RFC 7515 §5.2) is the original bytes, never re-encoded.
public struct CompactJWS: Sendable {
    /// The token as received.
    public let token: String
    package let header: JSONValue
    /// The payload as a JSON object; `.null` when parsed with `claims: .bytes`.
    package let claims: JSONValue
    /// The payload's bytes when parsed with `claims: .bytes` (empty otherwise).
    package let payload: [UInt8]
    public let signature: [UInt8]
    /// Bytes of `token` before the second `.`: the signing input.
    let signingInputLength: Int

    public static let defaultMaxLength = 64 << 10
    /// JOSE objects are shallow; deeper nesting is refused before it costs stack (kas-server.md
    /// conventions: every external input bounded).
    public static let defaultMaxDepth = 16

    /// How the payload is read: as a `JSONValue` tree (`claims`), or left as bytes (`payload`)
    /// for a reader of its own. The SRT's payload is one claim holding the whole request as an
    /// escaped JSON string (80 KB at batch 64); as a tree it became a `String`, then bytes
    /// again, before the request was even parsed.
    package enum Claims { case tree, bytes }

    public init(parsing token: String, maxLength: Int = defaultMaxLength, maxDepth: Int = defaultMaxDepth) throws(JWSError) {
        try self.init(parsing: token, maxLength: maxLength, maxDepth: maxDepth, claims: .tree)
    }

    package init(parsing token: String, maxLength: Int = defaultMaxLength, maxDepth: Int = defaultMaxDepth, claims reading: Claims) throws(JWSError) {
        var token = token
        let parsed: Result<(JSONValue, [UInt8], [UInt8], Int), JWSError> = token.withUTF8 { utf8 in
            Self.parse(UnsafeRawBufferPointer(utf8), maxLength: maxLength, maxDepth: maxDepth)
        }
        let payload: [UInt8]
        (header, payload, signature, signingInputLength) = try parsed.get()
        switch reading {
        case .tree:
            guard let claims = JSONValue.parse(payload, maxDepth: maxDepth), claims.isObject else {
                throw .malformed("payload is not a JSON object")
            }
            self.claims = claims
            self.payload = []
        case .bytes:
            self.claims = .null
            self.payload = payload
        }
        self.token = token
    }

    /// Header, payload bytes, signature, signing input length.
    private static func parse(
        _ bytes: UnsafeRawBufferPointer, maxLength: Int, maxDepth: Int
    ) -> Result<(JSONValue, [UInt8], [UInt8], Int), JWSError> {
        guard bytes.count <= maxLength else { return .failure(.tooLarge(limit: maxLength)) }
        // The dots, found with memchr: a batch-64 SRT is ~80 KB, and a byte-at-a-time scan of it
        // was ~0.6 % of the server's CPU at batch 64 (perf).
        var dots: [Int] = []
        var from = 0
        while dots.count < 3, from < bytes.count, let base = bytes.baseAddress,
              let found = memchr(base + from, Int32(UInt8(ascii: ".")), bytes.count - from) {
            let index = base.distance(to: UnsafeRawPointer(found))
            dots.append(index)
            from = index + 1
        }
        // RFC 7515 §7.1: exactly three parts (a JWE has five; JSON serialization has none).
        guard dots.count == 2 else { return .failure(.malformed("expected 3 parts")) }
        let headerText = UnsafeRawBufferPointer(rebasing: bytes[0..<dots[0]])
        let payloadText = UnsafeRawBufferPointer(rebasing: bytes[(dots[0] + 1)..<dots[1]])
        let signatureText = UnsafeRawBufferPointer(rebasing: bytes[(dots[1] + 1)...])
        guard let headerBytes = Base64.decode(headerText, options: .base64URL),
              let payloadBytes = Base64.decode(payloadText, options: .base64URL),
              let signature = Base64.decode(signatureText, options: .base64URL)
        else { return .failure(.malformed("not base64url without padding")) }
        guard let header = JSONValue.parse(headerBytes, maxDepth: maxDepth), header.isObject else {
            return .failure(.malformed("header is not a JSON object"))
        }
        // RFC 7515 §4.1.11: a `crit` extension the recipient does not understand must be refused;
        // this implementation understands none.
        guard header[exact: "crit"] == nil else { return .failure(.malformed("unsupported crit header")) }
        return .success((header, payloadBytes, signature, dots[1]))
    }

    /// The header's `alg`, as written.
    public var algorithmName: String? { header[exact: "alg"]?.stringValue }

    /// Verifies the signature under `key` with `algorithm`, on the original bytes.
    public func verifies(with key: PublicKey, algorithm: JWSAlgorithm) -> Bool {
        let length = signingInputLength
        let signature = self.signature
        let result = token.utf8.withContiguousStorageIfAvailable { utf8 in
            signature.withUnsafeBytes { sig in
                key.verifies(signature: sig, over: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[0..<length]), algorithm: algorithm)
            }
        }
        if let result { return result }
        return key.verifies(signature: signature, over: Array(token.utf8.prefix(length)), algorithm: algorithm)
    }
}
