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
        do {
            jws = try CompactJWS(parsing: token, maxLength: maxTokenBytes)
        } catch {
            throw .couldNotParse
        }
        guard let body = jws.claims[exact: "requestBody"] else { throw .missingRequestBody }
        guard let text = body.stringValue else { throw .invalidRequestBody }
        // Time claims only when present ([P] rewrap.go:242-257): an SRT without `exp` never expires.
        // A present but non-numeric time claim fails as the JOSE library's validation does. The
        // error depends on the path the Go KAS takes (opentdf-rewrap.md §4.4): unverified parse
        // without a proof ⇒ `could not parse token`, verification under the proof key ⇒
        // `unable to verify request token`.
        let timeError: SignedRequestTokenError = proofKey == nil ? .couldNotParse : .unableToVerify
        for name in ["exp", "nbf", "iat"] where jws.claims[exact: name] != nil && jws.claims[exact: name]?.numericDate == nil {
            throw timeError
        }
        if let exp = jws.claims[exact: "exp"]?.numericDate, now >= exp + skew { throw timeError }
        if let nbf = jws.claims[exact: "nbf"]?.numericDate, now < nbf - skew { throw timeError }
        if let iat = jws.claims[exact: "iat"]?.numericDate, now < iat - skew { throw timeError }
        if let proofKey {
            guard let alg = jws.algorithmName.flatMap(JWSAlgorithm.init(rawValue:)), jws.verifies(with: proofKey.key, algorithm: alg) else {
                throw .unableToVerify
            }
        }
        return Array(text.utf8)
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
