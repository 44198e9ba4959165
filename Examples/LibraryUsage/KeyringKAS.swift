// The README's "Using the library" example, compiled by every build and run by the CLI tests
// (`rewrap-examples keyring`). Keep the README's code block identical to the marked region.
import RewrapEngine
import RewrapKeyRing

// README: keyring example begin
/// A policy decision point: permits everything except policies that carry a `secret` attribute.
struct MyPDP: RewrapAuthorizer {
    func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
        request.resources.map { resource in
            resource.attributeFQNs.contains { $0.hasSuffix("/value/secret") } ? .deny : .permit
        }
    }
}

/// At start-up: keys are parsed once, here (a keyring file uses OpenTDF's field names).
func makeKeyringEngine(keyringFile: String) throws -> RewrapEngine {
    RewrapEngine(keys: try KeyRing.load(file: keyringFile), authorizer: MyPDP())
}

/// In the KAS's Rewrap handler, after it verified the access token and the SRT.
func handleRewrap(engine: RewrapEngine, requestBody: [UInt8], accessToken: String) async -> (status: Int, body: [UInt8]) {
    do {
        return (200, try await engine.rewrap(json: requestBody, entity: accessToken))   // a kas.RewrapResponse
    } catch {
        // A request-level failure: the Connect error envelope, with its HTTP status.
        return (error.code.httpStatus, Array(error.connectJSON.utf8))
    }
}
// README: keyring example end
