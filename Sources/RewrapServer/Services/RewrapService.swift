import NIOCore
import RewrapEngine
import RewrapWire

/// `kas.AccessService/Rewrap` (kas-server.md §3, opentdf-rewrap.md §3–§5), in order: the
/// access token and proof, the SRT, the request body, the KAO queue bound, the engine, the
/// answer. Runs on the engine's threads (`KASServer` starts it there), so none of this CPU work
/// sits on an event loop or on Swift's cooperative pool.
struct RewrapService: Sendable {
    let engine: RewrapEngine
    let authentication: any RewrapAuthentication

    struct Outcome: Sendable {
        var body: Result<[UInt8], ConnectError>
        /// Added to the answer whatever it is (`DPoP-Nonce`).
        var headers: [(String, String)]
    }

    func rewrap(message: ByteBuffer, codec: Codec, facts: CallFacts, ticket: Admission.Ticket) async -> Outcome {
        let caller: Caller
        switch await authentication.authenticate(facts) {
        case .success(let authenticated): caller = authenticated
        case .failure(let error): return Outcome(body: .failure(error), headers: [])
        }
        let headers = authentication.responseHeaders()
        do throws(ConnectError) {
            let token = try RewrapRequestMessage.signedRequestToken(from: message, codec: codec)
            let body = try authentication.requestBody(fromSignedRequestToken: token, caller: caller)
            let request: UnsignedRewrapRequest
            do {
                request = try engine.decodeRequest(body)
            } catch {
                throw ConnectError(error)
            }
            let kaoCount = max(1, request.requests.reduce(0) { $0 + $1.keyAccessObjects.count })
            guard ticket.admitKAOs(kaoCount) else { throw ConnectError.queueFull }
            let response: RewrapResponse
            do {
                response = try await engine.rewrap(request, entity: caller.accessToken)
            } catch {
                throw ConnectError(error)
            }
            return Outcome(body: .success(codec == .proto ? response.protoBytes() : response.jsonBytes()), headers: headers)
        } catch {
            return Outcome(body: .failure(error), headers: headers)
        }
    }
}

extension ConnectError {
    /// The engine's request-level failures keep their code and message (opentdf-rewrap.md §4.4).
    init(_ error: RewrapRequestError) {
        let code: ConnectCode = switch error.code {
        case .invalidArgument: .invalidArgument
        case .resourceExhausted: .resourceExhausted
        case .unauthenticated: .unauthenticated
        case .permissionDenied: .permissionDenied
        case .internal: .internal
        }
        self.init(code, error.message)
    }
}
