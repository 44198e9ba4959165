import Logging
import RewrapAuth

/// Real authentication: RewrapAuth's `RequestAuthenticator` (access token against the OIDC
/// issuer, DPoP, the SRT) behind the server's seam. Failures become the §4.6 answers (status,
/// message, `WWW-Authenticate`, `DPoP-Nonce`); the reason goes to the log, never to the client.
public struct OIDCAuthentication: RewrapAuthentication {
    public let authenticator: RequestAuthenticator
    private let logger: Logger

    public init(authenticator: RequestAuthenticator, logger: Logger = Logger(label: "rewrap.auth")) {
        self.authenticator = authenticator
        self.logger = logger
    }

    public func authenticate(_ facts: CallFacts) async -> Result<Caller, ConnectError> {
        let input = AuthenticationInput(method: facts.method, authority: facts.authority, procedurePath: facts.procedurePath,
                                        authorization: facts.authorization, dpop: facts.dpop)
        switch await authenticator.authenticate(input) {
        case .success(let caller):
            return .success(Caller(subject: caller.subject, accessToken: caller.accessToken, context: caller))
        case .failure(let failure):
            logger.info("authentication failed", metadata: ["reason": "\(failure.reason)", "requestID": "\(facts.requestID)"])
            let code = ConnectCode(rawValue: failure.code) ?? .unauthenticated
            // The failure already carries `DPoP-Nonce` when nonces are on (RewrapAuth), so
            // `responseHeaders()` is not added to it.
            return .failure(ConnectError(code, failure.message, headers: failure.headers))
        }
    }

    public func requestBody(fromSignedRequestToken token: String, caller: Caller) throws(ConnectError) -> [UInt8] {
        guard let authenticated = caller.context as? AuthenticatedCaller else {
            throw ConnectError(SignedRequestTokenError.missingAccessToken)
        }
        do {
            return try authenticator.requestBody(fromSignedRequestToken: token, caller: authenticated)
        } catch {
            throw ConnectError(error)
        }
    }

    public func responseHeaders() -> [(String, String)] { authenticator.responseHeaders() }
}

extension ConnectError {
    /// An SRT failure in the Go KAS's rendering (kas-server.md §4.5):
    /// `request error\nrpc error: code = Unauthenticated desc = unable to verify request token`.
    init(_ error: SignedRequestTokenError) {
        let code = ConnectCode(rawValue: error.code) ?? .unauthenticated
        let grpcName = code == .invalidArgument ? "InvalidArgument" : "Unauthenticated"
        self = .request(code, grpcName: grpcName, detail: error.detail)
    }
}
