import RewrapCrypto
import RewrapWire
import Testing

/// JWS signatures, JWKs and thumbprints against published vectors (RFC 7515 Appendix A.2, A.3,
/// RFC 7638 §3.1) and vectors made by Python `cryptography` (JOSEVectors.swift).
@Suite struct JOSETests {
    static let rfc7515RSA = #"{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#
    static let rfc7515RS256 = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
    static let rfc7515EC = #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
    static let rfc7515ES256 = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

    /// Splits a compact JWS into (signing input, signature bytes).
    static func split(_ jws: String) -> ([UInt8], [UInt8]) {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        return (Array((parts[0] + "." + parts[1]).utf8), Base64.decode(parts[2], options: .base64URL)!)
    }

    static func verifies(_ jws: String, _ jwk: String, _ alg: JWSAlgorithm) throws -> Bool {
        let key = try PublicKey(jwkJSON: jwk)
        let (input, signature) = split(jws)
        return key.verifies(signature: signature, over: input, algorithm: alg)
    }

    @Test func rfc7515AppendixA2RS256() throws {
        #expect(try Self.verifies(Self.rfc7515RS256, Self.rfc7515RSA, .rs256))
        // The same bytes under the other RSA algorithms, and a flipped bit, fail.
        #expect(try !Self.verifies(Self.rfc7515RS256, Self.rfc7515RSA, .rs384))
        #expect(try !Self.verifies(Self.rfc7515RS256, Self.rfc7515RSA, .ps256))
        let key = try PublicKey(jwkJSON: Self.rfc7515RSA)
        var (input, signature) = Self.split(Self.rfc7515RS256)
        signature[10] ^= 1
        #expect(!key.verifies(signature: signature, over: input, algorithm: .rs256))
        signature[10] ^= 1
        input[input.count - 1] ^= 1
        #expect(!key.verifies(signature: signature, over: input, algorithm: .rs256))
    }

    @Test func rfc7515AppendixA3ES256() throws {
        #expect(try Self.verifies(Self.rfc7515ES256, Self.rfc7515EC, .es256))
        #expect(try !Self.verifies(Self.rfc7515ES256, Self.rfc7515EC, .es384))
        let key = try PublicKey(jwkJSON: Self.rfc7515EC)
        let (input, signature) = Self.split(Self.rfc7515ES256)
        // JWS ECDSA signatures are exactly 64 bytes for ES256; DER or truncated forms are refused.
        #expect(!key.verifies(signature: Array(signature.dropLast()), over: input, algorithm: .es256))
        #expect(!key.verifies(signature: signature + [0], over: input, algorithm: .es256))
        var tampered = signature
        tampered[40] ^= 0x80
        #expect(!key.verifies(signature: tampered, over: input, algorithm: .es256))
    }

    @Test func rfc7638Thumbprint() throws {
        let key = try PublicKey(jwkJSON: #"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#)
        #expect(try key.jwkThumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(try key.jwkJSON().hasPrefix(#"{"e":"AQAB","kty":"RSA","n":"0vx7ag"#))
    }

    @Test func ecJWKExportIsCanonical() throws {
        let key = try PublicKey(jwkJSON: Self.rfc7515EC)
        #expect(try key.jwkJSON() == #"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#)
        // Round trip through the exported text gives the same key.
        #expect(try PublicKey(jwkJSON: key.jwkJSON()).jwkThumbprint() == key.jwkThumbprint())
    }

    @Test func pythonCryptographyVectors() throws {
        #expect(JOSEVectors.signed.count == 5)
        for vector in JOSEVectors.signed {
            let alg = try #require(JWSAlgorithm(rawValue: vector.alg))
            #expect(try Self.verifies(vector.jws, vector.jwk, alg), "\(vector.alg)")
            var (input, signature) = Self.split(vector.jws)
            input[0] ^= 1
            let key = try PublicKey(jwkJSON: vector.jwk)
            #expect(!key.verifies(signature: signature, over: input, algorithm: alg), "\(vector.alg) tampered")
            signature[0] ^= 1
        }
    }

    static let keyFor: [JWSAlgorithm: KeyAlgorithm] = [
        .rs256: .rsa2048, .rs384: .rsa2048, .rs512: .rsa2048, .ps256: .rsa2048, .ps384: .rsa3072, .ps512: .rsa2048,
        .es256: .ecP256, .es384: .ecP384, .es512: .ecP521,
    ]

    @Test(arguments: JWSAlgorithm.allCases) func signVerifyRoundTrip(alg: JWSAlgorithm) throws {
        let key = try PrivateKey.generate(Self.keyFor[alg]!)
        let message = Array("header.payload".utf8)
        let signature = try key.signature(over: message, algorithm: alg)
        if case .ecdsa(let curve) = alg.family { #expect(signature.count == 2 * curve.coordinateByteCount) }
        let pub = try PublicKey(jwkJSON: key.publicKey.jwkJSON())
        #expect(pub.verifies(signature: signature, over: message, algorithm: alg))
        #expect(!pub.verifies(signature: signature, over: message + [0x2e], algorithm: alg))
        var tampered = signature
        tampered[tampered.count / 2] ^= 4
        #expect(!pub.verifies(signature: tampered, over: message, algorithm: alg))
        // Another key of the same kind does not verify it.
        let other = try PrivateKey.generate(Self.keyFor[alg]!).publicKey
        #expect(!other.verifies(signature: signature, over: message, algorithm: alg))
    }

    @Test func algorithmMustFitTheKey() throws {
        let p256 = try PrivateKey.generate(.ecP256)
        #expect(throws: CryptoError.self) { try p256.signature(over: [1], algorithm: .es384) }
        #expect(throws: CryptoError.self) { try p256.signature(over: [1], algorithm: .rs256) }
        let signature = try p256.signature(over: [1], algorithm: .es256)
        #expect(!p256.publicKey.verifies(signature: signature, over: [1], algorithm: .es512))
        #expect(JWSAlgorithm.inferred(for: .ecP384) == [.es384])
        #expect(JWSAlgorithm.inferred(for: .rsa4096).count == 6)
    }

    @Test func invalidECPointsAreRejected() throws {
        // RFC 7515's point with y changed in its last bytes: not on P-256. (The final character
        // carries 2 unused bits, so the change is one character earlier.)
        let off = #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5b0"}"#
        #expect(throws: CryptoError.invalidPoint) { try PublicKey(jwkJSON: off) }
        // Short coordinates (leading zero dropped), a P-256 point labelled P-384, all-zero coordinates.
        let short = #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
        #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: short) }
        let relabelled = Self.rfc7515EC.replacingOccurrences(of: "P-256", with: "P-384")
        #expect(throws: CryptoError.invalidPoint) { try PublicKey(jwkJSON: relabelled) }
        let zero = Base64.encodeURL([UInt8](repeating: 0, count: 32))
        #expect(throws: CryptoError.invalidPoint) {
            try PublicKey(jwkJSON: #"{"kty":"EC","crv":"P-256","x":"\#(zero)","y":"\#(zero)"}"#)
        }
        #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: #"{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}"#) }
    }

    @Test func jwkBoundsAndPrivateMembers() throws {
        // A private JWK is refused where a public key is required.
        let withD = Self.rfc7515EC.replacingOccurrences(of: "}", with: #","d":"jpsQnnGQmL-YBIffH1136cLNYjhmJ9m0jMdGI0DL6O0"}"#)
        #expect(throws: CryptoError.invalidKey("JWK carries private key members")) { try PublicKey(jwkJSON: withD) }
        for member in ["p", "q", "dp", "dq", "qi"] {
            let json = Self.rfc7515RSA.replacingOccurrences(of: "}", with: #","\#(member)":"AQAB"}"#)
            #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: json) }
        }
        // A 1024-bit modulus is below the 2048-bit floor; padding or the standard alphabet is not base64url.
        let small = try #require(Base64.decode(Self.rfc7515RSA.split(separator: "\"")[7], options: .base64URL))
        let n1024 = Base64.encodeURL(Array(small.prefix(128)).map { $0 | 1 })
        #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: #"{"kty":"RSA","n":"\#(n1024)","e":"AQAB"}"#) }
        #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: Self.rfc7515RSA.replacingOccurrences(of: "AQAB", with: "AQAB=")) }
        #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: Self.rfc7515RSA.replacingOccurrences(of: "-", with: "+")) }
        #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: #"{"kty":"oct","k":"AAAA"}"#) }
        #expect(throws: CryptoError.self) { try PublicKey(jwkJSON: "[]") }
    }

    @Test func base64URLUnpadded() {
        #expect(Base64.encodeURL([0xfb, 0xff]) == "-_8")
        #expect(Base64.encodeURL([UInt8]()) == "")
        #expect(Base64.decode("-_8", options: .base64URL) == [0xfb, 0xff])
        #expect(Base64.decode("+/8", options: .base64URL) == nil)
        #expect(Base64.decode("-_8=", options: .base64URL) == nil)
    }
}
