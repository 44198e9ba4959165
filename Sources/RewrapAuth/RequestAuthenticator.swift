/// The request as the authenticator needs it.
public struct AuthenticationInput: Sendable {
    public var method: String            // "POST"
    public var authority: String         // Host / :authority as received
    public var procedurePath: String     // "/kas.AccessService/Rewrap" (routing prefix already stripped)
    public var authorization: [String]   // every Authorization header value, in order
    public var dpop: [String]            // every DPoP header value

    public init(method: String, authority: String, procedurePath: String, authorization: [String], dpop: [String]) {
        self.method = method
        self.authority = authority
        self.procedurePath = procedurePath
        self.authorization = authorization
        self.dpop = dpop
    }
}

/// An authenticated caller.
public struct AuthenticatedCaller: Sendable {
    public var subject: String           // token `sub` (audit actor)
    public var accessToken: String       // raw token (the PDP entity)
    public var proofKey: ProofKey?       // the validated DPoP proof's public key (for the SRT), nil without a proof
    /// `azp`, the client id.
    public var authorizedParty: String?

    public init(subject: String, accessToken: String, proofKey: ProofKey?, authorizedParty: String? = nil) {
        self.subject = subject
        self.accessToken = accessToken
        self.proofKey = proofKey
        self.authorizedParty = authorizedParty
    }
}

/// A refused request, as kas-server.md §4.6 answers it.
public struct AuthenticationFailure: Error, Sendable, CustomStringConvertible {
    public var httpStatus: Int           // 401 or 403
    public var code: String              // "unauthenticated" / "permission_denied"
    public var message: String           // "missing authorization header" / "unauthenticated" / "permission denied"
    /// `WWW-Authenticate` and `DPoP-Nonce` per §4.6. Complete for this response: when nonces
    /// are required it already holds the `DPoP-Nonce` that `responseHeaders()` gives (on every
    /// failure, as the platform's middleware sets it before checking), so a server sends these
    /// on a failure and `responseHeaders()` only on other responses.
    public var headers: [(String, String)]
    public var reason: String            // the §4.3 log text / why; for server logs and metrics labels; never the token

    public init(httpStatus: Int, code: String, message: String, headers: [(String, String)], reason: String) {
        self.httpStatus = httpStatus
        self.code = code
        self.message = message
        self.headers = headers
        self.reason = reason
    }

    public var description: String { "\(httpStatus) \(code): \(reason)" }
}

/// What the authenticator is configured with (`server.auth.*`, `security.unsafe.clock_skew`).
public struct AuthenticationSettings: Sendable {
    public var token: AccessTokenSettings
    public var dpop: DPoPSettings
    /// Skew for the SRT's time claims (default 1 min).
    public var requestTokenSkew: Int64

    public init(token: AccessTokenSettings, dpop: DPoPSettings = DPoPSettings(), requestTokenSkew: Int64 = 60) {
        self.token = token
        self.dpop = dpop
        self.requestTokenSkew = requestTokenSkew
    }
}

/// The authentication the server runs on every Rewrap (kas-server.md §4: access token, then
/// DPoP proof; the role check of §4.4 allows every authenticated caller and is omitted, as §4.4
/// permits), and the SRT check the handler runs (§4.5).
public final class RequestAuthenticator: Sendable {
    public let settings: AuthenticationSettings
    public let tokens: AccessTokenVerifier
    public let dpop: DPoPVerifier
    private let clock: any AuthClock

    public init(settings: AuthenticationSettings, keys: any JSONWebKeySetSource, clock: any AuthClock = SystemAuthClock(),
                tokenCache: VerifiedTokenCache? = VerifiedTokenCache()) {
        self.settings = settings
        self.clock = clock
        self.tokens = AccessTokenVerifier(settings: settings.token, keys: keys, clock: clock, cache: tokenCache)
        self.dpop = DPoPVerifier(settings: settings.dpop, clock: clock)
    }

    public func authenticate(_ input: AuthenticationInput) async -> Result<AuthenticatedCaller, AuthenticationFailure> {
        // §4.1: the first Authorization value; `DPoP ` or `Bearer `, case-sensitive, one space.
        guard let authorization = input.authorization.first else {
            return .failure(failure(message: "missing authorization header", reason: "missing authorization header"))
        }
        let raw: String
        if authorization.hasPrefix("DPoP ") {
            raw = String(authorization.dropFirst(5))
        } else if authorization.hasPrefix("Bearer ") {
            raw = String(authorization.dropFirst(7))
        } else {
            return .failure(failure(reason: "not of type bearer or dpop"))
        }
        let token: VerifiedAccessToken
        do {
            token = try await tokens.verify(raw)
        } catch {
            return .failure(failure(reason: "unauthenticated: \(error)"))
        }
        // §4.3: a proof is checked when the token has `cnf` or enforcement is on; a token without
        // `cnf` passes unproven otherwise, under either scheme (a `cnf` token under `Bearer` is
        // only logged by the platform, and still needs its proof).
        var proofKey: ProofKey?
        if token.hasConfirmation || settings.dpop.enforce {
            do {
                proofKey = try dpop.verify(
                    proofHeaders: input.dpop, token: token, method: input.method, authority: input.authority,
                    procedurePath: input.procedurePath)
            } catch {
                return .failure(dpopFailure(error))
            }
        }
        return .success(AuthenticatedCaller(
            subject: token.subject ?? "", accessToken: token.rawToken, proofKey: proofKey, authorizedParty: token.authorizedParty))
    }

    /// Headers every authenticated response carries (DPoP-Nonce when nonces are required), success or error.
    public func responseHeaders() -> [(String, String)] {
        guard let nonces = dpop.nonces else { return [] }
        return [("DPoP-Nonce", nonces.current())]
    }

    /// §4.5: the SRT's requestBody (UTF-8 bytes), checked as the spec says; the error's `detail` is the gRPC desc
    /// ("missing request body", "invalid request body", "could not parse token", "unable to verify request token")
    /// and its code invalid_argument (400) or unauthenticated (401).
    public func requestBody(fromSignedRequestToken token: String, caller: AuthenticatedCaller) throws(SignedRequestTokenError) -> [UInt8] {
        guard !caller.accessToken.isEmpty else { throw .missingAccessToken }
        return try SignedRequestToken.requestBody(
            from: token, proofKey: caller.proofKey, now: clock.now(), skew: settings.requestTokenSkew)
    }

    /// A 401; with nonces required it carries the current `DPoP-Nonce` (§4.3 "Nonce": every
    /// authenticated response, success or error).
    private func failure(message: String = "unauthenticated", headers: [(String, String)] = [], reason: String) -> AuthenticationFailure {
        AuthenticationFailure(httpStatus: 401, code: "unauthenticated", message: message, headers: headers + responseHeaders(),
                              reason: reason)
    }

    /// §4.6 rows 3–4 ([P] authn.go:674-706).
    private func dpopFailure(_ error: DPoPFailure) -> AuthenticationFailure {
        let headers: [(String, String)]
        switch error.kind {
        case .useNonce: headers = [("WWW-Authenticate", #"DPoP error="use_dpop_nonce""#)]
        case .invalidProof: headers = [("WWW-Authenticate", #"DPoP error="invalid_dpop_proof""#)]
        }
        return failure(headers: headers, reason: error.logText)
    }
}
