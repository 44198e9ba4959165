import RewrapAuth
import RewrapCrypto
import RewrapWire

/// A minimal OpenID issuer for local use and tests (`rewrap dev-idp`): discovery
/// (OpenID Connect Discovery 1.0 §3), a JWKS (RFC 7517 §5) and a client-credentials token
/// endpoint (RFC 6749 §4.4) that binds tokens to a DPoP key when the request carries a proof
/// (RFC 9449 §5, §6.1 `cnf.jkt`). Keys live in memory and are generated at start. Not for
/// production: no persistence, no consent, no refresh tokens.
public final class DevIdentityProvider: Sendable {
    public struct Configuration: Sendable {
        /// Client id → secret.
        public var clients: [String: String]
        public var audience: String
        /// RS256 (RSA-2048 key) or ES256 (P-256 key).
        public var algorithm: JWSAlgorithm
        /// Seconds an access token lives.
        public var tokenLifetime: Int64

        public init(clients: [String: String] = ["opentdf": "secret"], audience: String = "http://localhost:8080",
                    algorithm: JWSAlgorithm = .rs256, tokenLifetime: Int64 = 300) {
            self.clients = clients
            self.audience = audience
            self.algorithm = algorithm
            self.tokenLifetime = tokenLifetime
        }
    }

    /// A response to one HTTP request.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
    }

    public let issuer: String
    public let configuration: Configuration
    public let keyID: String
    private let signer: JWSSigner
    private let jwksBody: [UInt8]
    private let discoveryBody: [UInt8]
    private let proofs: DPoPVerifier
    private let clock: any AuthClock

    /// Largest token request body read (a form with an id and a secret).
    public static let maxRequestBytes = 16 << 10

    public var tokenEndpoint: String { issuer + "/token" }

    public init(issuer: String, configuration: Configuration, clock: any AuthClock = SystemAuthClock()) throws(CryptoError) {
        let key: PrivateKey
        switch configuration.algorithm.family {
        case .pkcs1, .pss: key = try PrivateKey.generate(.rsa2048)
        case .ecdsa(let curve): key = try PrivateKey.generate(.ec(curve))
        }
        self.issuer = issuer
        self.configuration = configuration
        self.clock = clock
        let thumbprint = try key.publicKey.jwkThumbprint()
        keyID = "dev-" + thumbprint.prefix(12)
        signer = try JWSSigner(key: key, algorithm: configuration.algorithm, keyID: keyID)
        let jwk = String(try key.publicKey.jwkJSON().dropLast())
        jwksBody = Array(#"{"keys":[\#(jwk),"kid":"\#(keyID)","use":"sig","alg":"\#(configuration.algorithm.rawValue)"}]}"#.utf8)
        discoveryBody = JWSSigner.json([
            ("issuer", .string(issuer)),
            ("jwks_uri", .string(issuer + "/jwks")),
            ("token_endpoint", .string(issuer + "/token")),
            ("grant_types_supported", .strings(["client_credentials"])),
            ("token_endpoint_auth_methods_supported", .strings(["client_secret_basic", "client_secret_post"])),
            ("id_token_signing_alg_values_supported", .strings([configuration.algorithm.rawValue])),
            ("dpop_signing_alg_values_supported", .strings(JWSAlgorithm.allCases.map(\.rawValue))),
        ])
        // Proofs on the token request: typ, alg, jwk, signature, htm, htu, iat (RFC 9449 §4.3).
        proofs = DPoPVerifier(settings: DPoPSettings(dpopSkew: 300, replayCacheCapacity: 100_000), clock: clock)
    }

    /// Routes one request. `path` is the request target as received (a query is ignored).
    public func handle(method: String, path: String, headers: [(String, String)], body: [UInt8]) -> Reply {
        let route = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        switch (method, route) {
        case ("GET", "/.well-known/openid-configuration"):
            return json(200, discoveryBody)
        case ("GET", "/jwks"):
            return json(200, jwksBody)
        case ("POST", "/token"):
            return token(headers: headers, body: body)
        case (_, "/.well-known/openid-configuration"), (_, "/jwks"), (_, "/token"):
            return Reply(status: 405, headers: [("Allow", route == "/token" ? "POST" : "GET")], body: [])
        default:
            return json(404, Array(#"{"error":"not_found"}"#.utf8))
        }
    }

    private func token(headers: [(String, String)], body: [UInt8]) -> Reply {
        let form = FormURLEncoded.parse(body)
        guard form["grant_type"] == "client_credentials" else {
            return oauthError(400, "unsupported_grant_type", "only client_credentials is supported")
        }
        // RFC 6749 §2.3.1: HTTP Basic (id and secret form-urlencoded inside) or the form body.
        var id = form["client_id"], secret = form["client_secret"]
        let basic = Self.header(headers, "Authorization").flatMap(Self.basicCredentials)
        if let basic { (id, secret) = basic }
        guard let id, let secret, let expected = configuration.clients[id], Self.constantTimeEqual(secret, expected) else {
            var reply = oauthError(401, "invalid_client", "unknown client or wrong secret")
            if basic != nil { reply.headers.append(("WWW-Authenticate", #"Basic realm="dev-idp""#)) }
            return reply
        }
        let dpopHeaders = headers.filter { $0.0.lowercased() == "dpop" }.map(\.1)
        var thumbprint: String?
        if !dpopHeaders.isEmpty {
            guard dpopHeaders.count == 1 else { return oauthError(400, "invalid_dpop_proof", "more than one DPoP header") }
            do {
                thumbprint = try proofs.verifyProof(dpopHeaders[0], method: "POST", expectedURLs: [tokenEndpoint]).thumbprint
            } catch {
                return oauthError(400, "invalid_dpop_proof", error.logText)
            }
        }
        let now = clock.now()
        var claims: [(String, JOSEValue)] = [
            ("iss", .string(issuer)), ("aud", .string(configuration.audience)), ("sub", .string(id)), ("azp", .string(id)),
            ("iat", .integer(now)), ("exp", .integer(now + configuration.tokenLifetime)),
        ]
        guard let jti = try? CryptoPrimitives.randomBytes(count: 16) else { return oauthError(500, "server_error", "no randomness") }
        claims.append(("jti", .string(Hex.lowercaseString(jti))))
        if let thumbprint { claims.append(("cnf", .object([("jkt", .string(thumbprint))]))) }
        guard let token = try? signer.sign(claims: claims, extraHeader: [("typ", .string("at+jwt"))]) else {
            return oauthError(500, "server_error", "signing failed")
        }
        var reply = json(200, JWSSigner.json([
            ("access_token", .string(token)), ("token_type", .string(thumbprint == nil ? "Bearer" : "DPoP")),
            ("expires_in", .integer(configuration.tokenLifetime)),
        ]))
        reply.headers.append(("Cache-Control", "no-store"))
        return reply
    }

    private func json(_ status: Int, _ body: [UInt8]) -> Reply {
        Reply(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// RFC 6749 §5.2 error response.
    private func oauthError(_ status: Int, _ error: String, _ description: String) -> Reply {
        var reply = json(status, JWSSigner.json([("error", .string(error)), ("error_description", .string(description))]))
        reply.headers.append(("Cache-Control", "no-store"))
        return reply
    }

    private static func header(_ headers: [(String, String)], _ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    private static func basicCredentials(_ value: String) -> (String?, String?)? {
        guard value.lowercased().hasPrefix("basic "),
              let decoded = Base64.decode(value.dropFirst(6).trimmingSpaces, options: .strictStandard),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        return (FormURLEncoded.decode(Array(decoded[..<colon])), FormURLEncoded.decode(Array(decoded[(colon + 1)...])))
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).withUnsafeBytes { x in Array(b.utf8).withUnsafeBytes { y in CryptoPrimitives.constantTimeEquals(x, y) } }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5.1): `&`-separated `name=value`, `+` for
/// space, percent-escapes. Names repeated: the first wins (RFC 6749 §3.1 forbids repeats).
enum FormURLEncoded {
    static func parse(_ body: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(Array(parts[0])), out[name] == nil else { continue }
            out[name] = parts.count > 1 ? decode(Array(parts[1])) : ""
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) -> String? {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "+"):
                out.append(0x20)
                index += 1
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.count, let high = Hex.value(of: bytes[index + 1]), let low = Hex.value(of: bytes[index + 2]) else {
                    return nil
                }
                out.append(high << 4 | low)
                index += 3
            default:
                out.append(bytes[index])
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
