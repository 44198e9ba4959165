import RewrapAuth
import RewrapCrypto
import RewrapWire

/// A signed request token made fresh per request at the cost of one signature, from a payload
/// prepared before the run.
///
/// The SRT's payload is `{"requestBody":"…escaped request JSON…","iat":…,"exp":…}`. Its long,
/// fixed head is padded with JSON whitespace to a multiple of three bytes, so its base64url
/// encoding never changes and is made once; a send encodes only the ~35-byte tail with the times,
/// then signs. (A batch-64 request body is ~40 KB: escaping and encoding it per request would
/// cost the generator more than the signature.) The result is an ordinary compact JWS that any
/// verifier reads as `SignedRequestToken.make` would have written it.
package struct PreparedSRT: Sendable {
    /// base64url(header) "." base64url(padded payload head)
    private let signingInputHead: String
    private let key: PrivateKey
    private let algorithm: JWSAlgorithm
    private let lifetime: Int64

    package init(requestBody: String, key: PrivateKey, algorithm: JWSAlgorithm, lifetime: Int64 = 60) {
        var head = JSONWriter(capacity: requestBody.utf8.count + requestBody.utf8.count / 8 + 32)
        head.raw("{")
        head.key("requestBody")
        head.string(requestBody)
        head.raw(",")
        var bytes = head.bytes
        while bytes.count % 3 != 0 { bytes.append(UInt8(ascii: " ")) }
        signingInputHead = Base64.encodeURL(JWSSigner.json([("alg", .string(algorithm.rawValue))])) + "." + Base64.encodeURL(bytes)
        self.key = key
        self.algorithm = algorithm
        self.lifetime = lifetime
    }

    /// The token for a request issued at `issuedAt` (Unix seconds).
    package func token(issuedAt: Int64) throws(CryptoError) -> String {
        let tail = "\"iat\":\(issuedAt),\"exp\":\(issuedAt + lifetime)}"
        let input = signingInputHead + Base64.encodeURL(Array(tail.utf8))
        let signature = try key.signature(over: Array(input.utf8), algorithm: algorithm)
        return input + "." + Base64.encodeURL(signature)
    }
}
