import RewrapCrypto
import RewrapWire

/// A refused signed request token (kas-server.md §4.5): `detail` is the gRPC description the
/// Go KAS sends, `code` and `httpStatus` its Connect code.
public struct SignedRequestTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public let httpStatus: Int
    public let code: String
    public let detail: String

    public static let missingRequestBody = Self(httpStatus: 400, code: "invalid_argument", detail: "missing request body")
    public static let invalidRequestBody = Self(httpStatus: 400, code: "invalid_argument", detail: "invalid request body")
    public static let couldNotParse = Self(httpStatus: 401, code: "unauthenticated", detail: "could not parse token")
    public static let unableToVerify = Self(httpStatus: 401, code: "unauthenticated", detail: "unable to verify request token")
    public static let missingAccessToken = Self(httpStatus: 401, code: "unauthenticated", detail: "missing access token")

    public var description: String { "\(code) (\(httpStatus)): \(detail)" }
}

/// The `signedRequestToken` of a Rewrap (opentdf-rewrap.md §3.3): a JWT whose `requestBody`
/// claim is the JSON request as a string.
public enum SignedRequestToken {
    public static let defaultSkew: Int64 = 60
    /// The request body rides inside; the KAS's own body limit bounds it further.
    public static let maxTokenBytes = 4 << 20

    /// The `requestBody` bytes (UTF-8), after the §3.3 checks in the Go KAS's order: parse
    /// unverified; `requestBody` a string; time claims if present (skew); the signature only
    /// when `proofKey` is set (a DPoP proof was validated), under that key with a row-5 alg.
    public static func requestBody(
        from token: String, proofKey: ProofKey?, now: Int64, skew: Int64 = defaultSkew
    ) throws(SignedRequestTokenError) -> [UInt8] {
        let jws: CompactJWS
        let claims: Claims
        do {
            jws = try CompactJWS(parsing: token, maxLength: maxTokenBytes, claims: .bytes)
            claims = try Claims(jws.payload, maxDepth: CompactJWS.defaultMaxDepth)
        } catch {
            throw .couldNotParse
        }
        let text: [UInt8]
        switch claims.requestBody {
        case nil: throw .missingRequestBody
        case .string(let bytes)?: text = bytes
        case .other?: throw .invalidRequestBody
        }
        // Time claims only when present ([P] rewrap.go:242-257): an SRT without `exp` never expires.
        // A present but non-numeric time claim fails as the JOSE library's validation does. The
        // error depends on the path the Go KAS takes (opentdf-rewrap.md §4.4): unverified parse
        // without a proof ⇒ `could not parse token`, verification under the proof key ⇒
        // `unable to verify request token`.
        let timeError: SignedRequestTokenError = proofKey == nil ? .couldNotParse : .unableToVerify
        for claim in [claims.exp, claims.nbf, claims.iat] where claim != nil && claim?.numericDate == nil {
            throw timeError
        }
        if let exp = claims.exp?.numericDate, now >= exp + skew { throw timeError }
        if let nbf = claims.nbf?.numericDate, now < nbf - skew { throw timeError }
        if let iat = claims.iat?.numericDate, now < iat - skew { throw timeError }
        if let proofKey {
            guard let alg = jws.algorithmName.flatMap(JWSAlgorithm.init(rawValue:)), jws.verifies(with: proofKey.key, algorithm: alg) else {
                throw .unableToVerify
            }
        }
        return text
    }

    /// The claims an SRT is read for, straight from the payload bytes: `requestBody` as its
    /// unescaped UTF-8 (never a `String`: it is parsed as JSON next) and the time claims; the
    /// last member of a name wins, as `JSONValue[exact:]` has it (RFC 7519 §4), and every other
    /// member is checked to be JSON and skipped.
    private struct Claims {
        enum RequestBody { case string([UInt8]), other }
        var requestBody: RequestBody?
        /// A number as `.number`, anything else as `.null` (which has no NumericDate).
        var exp: JSONValue?, nbf: JSONValue?, iat: JSONValue?

        struct NotJSON: Error {}

        init(_ payload: [UInt8], maxDepth: Int) throws(NotJSON) {
            var claims = Claims()
            let read: Bool = payload.withUnsafeBytes { bytes in
                var scanner = JSONScanner(bytes: bytes, maxDepth: maxDepth)
                guard scanner.consume(UInt8(ascii: "{")) else { return false }
                if scanner.consume(UInt8(ascii: "}")) { return scanner.peek() == nil }
                repeat {
                    scanner.skipWhitespace()
                    guard let name = scanner.withStringBytes({ Name($0) }), scanner.consume(UInt8(ascii: ":")),
                          claims.read(name, &scanner) else { return false }
                } while scanner.consume(UInt8(ascii: ","))
                return scanner.consume(UInt8(ascii: "}")) && scanner.peek() == nil
            }
            guard read else { throw NotJSON() }
            self = claims
        }

        private init() {}

        enum Name {
            case requestBody, exp, nbf, iat, other
            init(_ bytes: UnsafeRawBufferPointer) {
                switch String(decoding: bytes, as: UTF8.self) {
                case "requestBody": self = .requestBody
                case "exp": self = .exp
                case "nbf": self = .nbf
                case "iat": self = .iat
                default: self = .other
                }
            }
        }

        /// Reads the member's value at the scanner.
        private mutating func read(_ name: Name, _ scanner: inout JSONScanner) -> Bool {
            switch name {
            case .requestBody:
                guard scanner.peek() == UInt8(ascii: "\"") else {
                    requestBody = .other
                    return scanner.skipValue(depth: 1)
                }
                switch scanner.stringContent() {
                case .plain(let range)?: requestBody = .string(Self.utf8(UnsafeRawBufferPointer(rebasing: scanner.bytes[range])))
                case .unescaped(let bytes)?:
                    // The usual SRT: its quotes escaped, so this array is already the body.
                    requestBody = .string(bytes.withUnsafeBytes(JSONScanner.isASCII) ? bytes : bytes.withUnsafeBytes(Self.utf8))
                case nil: return false
                }
                return true
            case .exp, .nbf, .iat:
                let value: JSONValue
                if let first = scanner.peek(), first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
                    guard let number = scanner.number() else { return false }
                    value = .number(scanner.text(number))
                } else {
                    guard scanner.skipValue(depth: 1) else { return false }
                    value = .null
                }
                switch name {
                case .exp: exp = value
                case .nbf: nbf = value
                default: iat = value
                }
                return true
            case .other:
                return scanner.skipValue(depth: 1)
            }
        }

        /// The text as valid UTF-8, as `String(decoding:)` would make it: ASCII as it stands
        /// (a request body is ASCII but for the rare escaped or raw non-ASCII character), else
        /// with invalid sequences replaced.
        private static func utf8(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
            JSONScanner.isASCII(bytes) ? Array(bytes) : Array(String(decoding: bytes, as: UTF8.self).utf8)
        }
    }

    /// An SRT as the Go SDK makes it: `requestBody`, `iat` = now, `exp` = now + 60 s.
    public static func make(requestBody: String, signer: JWSSigner, issuedAt: Int64, lifetime: Int64 = 60) throws(CryptoError) -> String {
        try signer.sign(claims: [
            ("requestBody", .string(requestBody)), ("iat", .integer(issuedAt)), ("exp", .integer(issuedAt + lifetime)),
        ])
    }

    /// `make` with the current system time.
    public static func make(requestBody: String, signer: JWSSigner) throws(CryptoError) -> String {
        try make(requestBody: requestBody, signer: signer, issuedAt: SystemAuthClock().now())
    }
}
