import RewrapWire

/// `--insecure-no-auth`: no access token, no DPoP, the SRT read without verifying its signature,
/// as the Go KAS reads it when no proof was validated (opentdf-rewrap.md §3.3). Only for
/// development on loopback: `KASServer` refuses it on any other address and logs it loudly.
public struct AuthenticationDisabled: RewrapAuthentication {
    public init() {}

    public func authenticate(_ facts: CallFacts) async -> Result<Caller, ConnectError> {
        .success(Caller(subject: "", accessToken: ""))
    }

    public func requestBody(fromSignedRequestToken token: String, caller: Caller) throws(ConnectError) -> [UInt8] {
        try UnverifiedSignedRequestToken.requestBody(token)
    }

    public func responseHeaders() -> [(String, String)] { [] }
}

/// The SRT's claims without its signature: compact JWS `header.payload.signature`, the
/// `requestBody` claim a string (kas-server.md §4.5 messages).
enum UnverifiedSignedRequestToken {
    static let maxTokenBytes = 16 << 20

    static func requestBody(_ token: String) throws(ConnectError) -> [UInt8] {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard token.utf8.count <= maxTokenBytes, parts.count == 3,
              let payload = Base64.decode(Substring(token)[parts[1].startIndex..<parts[1].endIndex], options: .protoJSON),
              let claims = JSONValue.parse(payload), case .object = claims else {
            throw ConnectError.request(.unauthenticated, grpcName: "Unauthenticated", detail: "could not parse token")
        }
        switch claims.member("requestBody") {
        case .string(let body)?: return Array(body.utf8)
        case nil, .null?: throw ConnectError.request(.invalidArgument, grpcName: "InvalidArgument", detail: "missing request body")
        default: throw ConnectError.request(.invalidArgument, grpcName: "InvalidArgument", detail: "invalid request body")
        }
    }
}
