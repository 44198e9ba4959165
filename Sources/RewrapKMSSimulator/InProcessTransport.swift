import RewrapAWSWire

/// Delivers a KMS client's requests straight to a `SimulatedKMS` in the same process: the same
/// bytes, headers and signatures as over HTTP, minus the socket. A reset surfaces as a
/// connection error and a hang as a timeout, as they would on the wire.
public struct InProcessKMSTransport: KMSTransport {
    public let simulator: SimulatedKMS

    public init(simulator: SimulatedKMS) { self.simulator = simulator }

    public func send(_ request: KMSHTTPRequest) async throws(KMSTransportError) -> KMSHTTPResponse {
        let simulator = self.simulator
        let outcome = await withTaskGroup(of: Result<KMSHTTPResponse, KMSTransportError>?.self) { group in
            group.addTask {
                let reply = await simulator.handle(method: "POST", path: "/", headers: request.headers, body: request.body,
                                                   newConnection: false)
                switch reply.disposition {
                case .respond: return .success(KMSHTTPResponse(status: reply.status, headers: reply.headers, body: reply.body))
                case .resetConnection: return .failure(.connection("connection reset by peer"))
                case .hang:
                    try? await Task.sleep(for: .seconds(3600))
                    return nil
                }
            }
            group.addTask {
                try? await Task.sleep(for: request.timeout)
                return .failure(.timeout)
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(.timeout)
        }
        return try outcome.get()
    }
}
