import RewrapAuth
import RewrapCrypto
import RewrapWire
import Testing

/// kas-server.md §4.1, §4.2 and §4.6 rows 1–2, through the façade the server calls.
@Suite struct AccessTokenTests {
    let issuer: Issuer
    init() throws { issuer = try Issuer() }

    func authenticate(_ authorization: [String], dpop: [String] = []) async -> Result<AuthenticatedCaller, AuthenticationFailure> {
        await issuer.authenticator().authenticate(AuthenticationInput(
            method: "POST", authority: "kas.test", procedurePath: Client.procedure, authorization: authorization, dpop: dpop))
    }

    func expectUnauthenticated(_ authorization: [String], _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let failure = await authenticate(authorization).failure
        #expect(failure?.httpStatus == 401, sourceLocation: sourceLocation)
        #expect(failure?.code == "unauthenticated", sourceLocation: sourceLocation)
        #expect(failure?.message == "unauthenticated", sourceLocation: sourceLocation)
        #expect(failure?.headers.isEmpty == true, sourceLocation: sourceLocation)
        #expect(failure?.reason.contains(reason) == true, "\(failure?.reason ?? "accepted")", sourceLocation: sourceLocation)
    }

    @Test func bearerTokenWithoutCnfIsAccepted() async throws {
        let token = try issuer.token()
        let caller = try #require(await authenticate(["Bearer \(token)"]).success)
        #expect(caller.subject == "alice")
        #expect(caller.accessToken == token)
        #expect(caller.proofKey == nil)
        #expect(caller.authorizedParty == "opentdf")
        // The DPoP scheme with a cnf-less token and enforcement off: accepted unproven (§4.3).
        #expect(await authenticate(["DPoP \(token)"]).success != nil)
        // EC-signed tokens verify under the EC key (alg inferred from the curve).
        #expect(await authenticate(["Bearer \(try issuer.token(kid: "ec-1", key: issuer.ec, alg: .es256))"]).success != nil)
        // PS256 is among the algorithms inferred for an RSA key.
        #expect(await authenticate(["Bearer \(try issuer.token(alg: .ps256))"]).success != nil)
    }

    @Test func missingHeaderAndOtherSchemes() async throws {
        let failure = await authenticate([]).failure
        #expect(failure?.httpStatus == 401)
        #expect(failure?.message == "missing authorization header")
        let token = try issuer.token()
        await expectUnauthenticated(["Basic b3BlbnRkZjpzZWNyZXQ="], "not of type bearer or dpop")
        await expectUnauthenticated(["bearer \(token)"], "not of type bearer or dpop")  // case-sensitive
        await expectUnauthenticated(["Bearer  \(token)"], "malformed")                  // one space
        // Only the first Authorization value counts.
        await expectUnauthenticated(["Basic x", "Bearer \(token)"], "not of type bearer or dpop")
    }

    @Test func badSignatures() async throws {
        let token = try issuer.token()
        var parts = token.split(separator: ".").map(String.init)
        var signature = try #require(Base64.decode(parts[2], options: .base64URL))
        signature[3] ^= 1
        parts[2] = Base64.encodeURL(signature)
        await expectUnauthenticated(["Bearer \(parts.joined(separator: "."))"], "signature invalid")
        // Signed by a key not in the JWKS under a kid that is.
        let stranger = try PrivateKey.generate(.rsa2048)
        await expectUnauthenticated(["Bearer \(try issuer.token(key: stranger))"], "signature invalid")
        // Header alg that the key does not allow: an EC key's kid with RS256.
        await expectUnauthenticated(["Bearer \(try issuer.token(kid: "ec-1", key: issuer.rsa, alg: .rs256))"], "not allowed")
        await expectUnauthenticated(["Bearer \(try issuer.token(kid: "rsa-1", key: issuer.ec, alg: .es256))"], "not allowed")
        await expectUnauthenticated(["Bearer not-a-jwt"], "malformed")
    }

    @Test func algNoneAndHS256AreRefused() async throws {
        let claims = JWSSigner.json([("iss", .string(Issuer.url)), ("aud", .string(Issuer.audience)), ("sub", .string("mallory"))])
        let none = Base64.encodeURL(Array(#"{"alg":"none","kid":"rsa-1"}"#.utf8)) + "." + Base64.encodeURL(claims) + "."
        await expectUnauthenticated(["Bearer \(none)"], "algorithm none not allowed")
        // HS256 keyed with the RSA public key's bytes (the classic confusion attack, RFC 8725 §2.1).
        let input = Base64.encodeURL(Array(#"{"alg":"HS256","kid":"rsa-1"}"#.utf8)) + "." + Base64.encodeURL(claims)
        let secret = Array(try issuer.rsa.publicKey.pem().utf8)
        let mac = hmacSHA256(key: secret, message: Array(input.utf8))
        await expectUnauthenticated(["Bearer \(input).\(Base64.encodeURL(mac))"], "algorithm HS256 not allowed")
    }

    @Test func keyIDRequiredAndKnown() async throws {
        await expectUnauthenticated(["Bearer \(try issuer.token(kid: nil))"], "no `kid`")
        await expectUnauthenticated(["Bearer \(try issuer.token(kid: "rsa-2"))"], "no JWKS key with kid rsa-2")
    }

    @Test func issuerAndAudience() async throws {
        await expectUnauthenticated(["Bearer \(try issuer.token([("iss", .string(Issuer.url + "/"))]))"], "`iss`")
        await expectUnauthenticated(["Bearer \(try issuer.token(removing: ["iss"]))"], "`iss`")
        await expectUnauthenticated(["Bearer \(try issuer.token([("aud", .string("http://other"))]))"], "`aud`")
        await expectUnauthenticated(["Bearer \(try issuer.token(removing: ["aud"]))"], "`aud`")
        await expectUnauthenticated(["Bearer \(try issuer.token([("aud", .strings(["a", "b"]))]))"], "`aud`")
        // An array containing the audience passes.
        let multi = try issuer.token([("aud", .strings(["account", Issuer.audience]))])
        #expect(await authenticate(["Bearer \(multi)"]).success != nil)
    }

    /// §4.2 step 4 with the default 60 s skew, at the exact boundaries.
    @Test func timeClaimsWithSkew() async throws {
        let now = issuer.clock.now()
        // exp: accepted while now < exp + skew.
        #expect(await authenticate(["Bearer \(try issuer.token([("exp", .integer(now - 59))]))"]).success != nil)
        await expectUnauthenticated(["Bearer \(try issuer.token([("exp", .integer(now - 60))]))"], "expired")
        // nbf: accepted once now ≥ nbf − skew.
        #expect(await authenticate(["Bearer \(try issuer.token([("nbf", .integer(now + 60))]))"]).success != nil)
        await expectUnauthenticated(["Bearer \(try issuer.token([("nbf", .integer(now + 61))]))"], "not yet valid")
        // iat in the future beyond skew.
        #expect(await authenticate(["Bearer \(try issuer.token([("iat", .integer(now + 60))]))"]).success != nil)
        await expectUnauthenticated(["Bearer \(try issuer.token([("iat", .integer(now + 61))]))"], "issued in the future")
        // Time claims are optional, but must be numbers when present.
        #expect(await authenticate(["Bearer \(try issuer.token(removing: ["exp", "iat"]))"]).success != nil)
        await expectUnauthenticated(["Bearer \(try issuer.token([("exp", .string("tomorrow"))]))"], "wrong type")
    }

    @Test func oversizedTokenIsRefusedBeforeParsing() async throws {
        let padding = String(repeating: "a", count: 70_000)
        await expectUnauthenticated(["Bearer \(try issuer.token([("pad", .string(padding))]))"], "longer than 65536")
    }
}

/// HMAC-SHA256 written out (RFC 2104) so the test can forge an HS256 token without an HMAC API.
func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var block = key.count > 64 ? sha256(key) : key
    block += [UInt8](repeating: 0, count: 64 - block.count)
    let inner = sha256(block.map { $0 ^ 0x36 } + message)
    return sha256(block.map { $0 ^ 0x5c } + inner)
}

func sha256(_ bytes: [UInt8]) -> [UInt8] { CryptoPrimitives.sha256(bytes) }
