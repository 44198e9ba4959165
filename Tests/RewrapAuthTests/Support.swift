import RewrapAuth
import RewrapCrypto
import Testing

/// An issuer for the tests: one RSA and one EC signing key in a JWKS, tokens made on demand, and
/// a client DPoP key. Keys are generated per fixture (RFC vectors are in RewrapCryptoTests).
final class Issuer: Sendable {
    static let url = "https://idp.test/realms/opentdf"
    static let audience = "http://localhost:8080"
    let rsa: PrivateKey
    let ec: PrivateKey
    let clock: ManualAuthClock
    let keys: StaticKeySetSource

    init(clock: ManualAuthClock = ManualAuthClock()) throws {
        rsa = try PrivateKey.generate(.rsa2048)
        ec = try PrivateKey.generate(.ecP256)
        self.clock = clock
        keys = StaticKeySetSource(try Self.set([("rsa-1", rsa), ("ec-1", ec)], generation: 1))
    }

    static func set(_ keys: [(String, PrivateKey)], generation: UInt64) throws -> JSONWebKeySet {
        JSONWebKeySet(keys: try keys.map { try JSONWebKeySet.Key(kid: $0.0, key: $0.1.publicKey) }, generation: generation)
    }

    /// The standard claims, then `extra` (later names win on lookup), signed RS256 with kid rsa-1.
    func token(_ extra: [(String, JOSEValue)] = [], removing: Set<String> = [], kid: String? = "rsa-1",
               key: PrivateKey? = nil, alg: JWSAlgorithm = .rs256) throws -> String {
        let now = clock.now()
        var claims: [(String, JOSEValue)] = [
            ("iss", .string(Self.url)), ("aud", .string(Self.audience)), ("sub", .string("alice")), ("azp", .string("opentdf")),
            ("iat", .integer(now)), ("exp", .integer(now + 300)),
        ]
        claims.removeAll { removing.contains($0.0) }
        claims += extra
        return try JWSSigner(key: key ?? rsa, algorithm: alg, keyID: kid).sign(claims: claims)
    }

    func settings(dpop: DPoPSettings = DPoPSettings()) -> AuthenticationSettings {
        AuthenticationSettings(token: AccessTokenSettings(issuer: Self.url, audience: Self.audience), dpop: dpop)
    }

    func authenticator(dpop: DPoPSettings = DPoPSettings(), cache: VerifiedTokenCache? = VerifiedTokenCache()) -> RequestAuthenticator {
        RequestAuthenticator(settings: settings(dpop: dpop), keys: keys, clock: clock, tokenCache: cache)
    }
}

/// A client with a DPoP key, making requests to the KAS at `authority`.
struct Client {
    static let procedure = "/kas.AccessService/Rewrap"
    let proofs: DPoPProofSigner
    var authority = "kas.test:8443"

    init(_ algorithm: KeyAlgorithm = .ecP256, alg: JWSAlgorithm? = nil) throws {
        proofs = try DPoPProofSigner(key: PrivateKey.generate(algorithm), algorithm: alg)
    }

    var url: String { "https://\(authority)\(Self.procedure)" }

    func input(token: String, scheme: String = "DPoP", proofs dpop: [String]) -> AuthenticationInput {
        AuthenticationInput(method: "POST", authority: authority, procedurePath: Self.procedure,
                            authorization: ["\(scheme) \(token)"], dpop: dpop)
    }

    func proof(token: String?, clock: ManualAuthClock, method: String = "POST", url: String? = nil,
               nonce: String? = nil, jti: String? = nil, iat: Int64? = nil) throws -> String {
        try proofs.proof(method: method, url: url ?? self.url, accessToken: token, nonce: nonce, jti: jti,
                         issuedAt: iat ?? clock.now())
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}

func header(_ failure: AuthenticationFailure?, _ name: String) -> String? {
    failure?.headers.first { $0.0 == name }?.1
}
