import Foundation

/// What the server knows of a Rewrap call when it authenticates it (kas-server.md §4).
public struct CallFacts: Sendable {
    public var method: String
    /// `Host` or `:authority` as received.
    public var authority: String
    /// The procedure path without the routing prefix (`/kas.AccessService/Rewrap`): what `htu` names.
    public var procedurePath: String
    public var authorization: [String]
    public var dpop: [String]
    /// For the audit record: `X-Request-Id` when it is a UUID, else a fresh one; the
    /// `User-Agent`; the peer's address.
    public var requestID: String
    public var userAgent: String
    public var remoteIP: String

    public init(method: String, authority: String, procedurePath: String, authorization: [String], dpop: [String],
                requestID: String? = nil, userAgent: String = "", remoteIP: String = "") {
        self.method = method
        self.authority = authority
        self.procedurePath = procedurePath
        self.authorization = authorization
        self.dpop = dpop
        self.requestID = requestID ?? RequestID.make(from: nil)
        self.userAgent = userAgent
        self.remoteIP = remoteIP
    }
}

/// Who called, once authenticated.
public struct Caller: Sendable {
    /// Token `sub`: the audit actor.
    public var subject: String
    /// The raw access token: the entity the PDP is asked about (opentdf-rewrap.md §3.6).
    public var accessToken: String
    /// Whatever the authentication needs again for the SRT (the validated DPoP proof's key).
    public var context: (any Sendable)?

    public init(subject: String, accessToken: String, context: (any Sendable)? = nil) {
        self.subject = subject
        self.accessToken = accessToken
        self.context = context
    }
}

/// The server's authentication seam: the access token and DPoP proof before the handler, the
/// Signed Request Token inside it (kas-server.md §4.1–§4.5).
public protocol RewrapAuthentication: Sendable {
    /// §4.1–§4.3; a failure is the complete §4.6 answer (status, message, headers).
    func authenticate(_ facts: CallFacts) async -> Result<Caller, ConnectError>
    /// §4.5: the SRT's `requestBody` claim as bytes.
    func requestBody(fromSignedRequestToken token: String, caller: Caller) throws(ConnectError) -> [UInt8]
    /// Headers every authenticated answer carries, success or error (`DPoP-Nonce`).
    func responseHeaders() -> [(String, String)]
}
