import RewrapAuth

/// `--insecure-no-auth`: no access token, no DPoP, the SRT read without verifying its signature,
/// as the Go KAS reads it when no proof was validated (opentdf-rewrap.md §3.3). Only for
/// development on loopback: `KASServer` refuses it on any other address and logs it loudly.
public struct AuthenticationDisabled: RewrapAuthentication {
    private let clock: any AuthClock

    public init(clock: any AuthClock = SystemAuthClock()) { self.clock = clock }

    public func authenticate(_ facts: CallFacts) async -> Result<Caller, ConnectError> {
        .success(Caller(subject: "", accessToken: ""))
    }

    public func requestBody(fromSignedRequestToken token: String, caller: Caller) throws(ConnectError) -> [UInt8] {
        do {
            return try SignedRequestToken.requestBody(from: token, proofKey: nil, now: clock.now())
        } catch {
            throw ConnectError(error)
        }
    }

    public func responseHeaders() -> [(String, String)] { [] }
}
