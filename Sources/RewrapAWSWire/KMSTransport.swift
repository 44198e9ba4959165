/// The transport seam between the KMS client and whatever carries its bytes: AsyncHTTPClient in
/// production (`RewrapKMS.HTTPKMSTransport`), the simulator in process in tests
/// (`RewrapKMSSimulator.InProcessKMSTransport`). It lives with the wire model so the simulator
/// can serve it without linking the client.
/// One HTTP exchange with a KMS endpoint. The client builds and signs requests; a transport
/// only moves bytes (over HTTP with keep-alive in production, in process in unit tests).
public protocol KMSTransport: Sendable {
    func send(_ request: KMSHTTPRequest) async throws(KMSTransportError) -> KMSHTTPResponse
}

public struct KMSHTTPRequest: Sendable {
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// How long this attempt may take.
    public var timeout: Duration

    public init(headers: [(String, String)], body: [UInt8], timeout: Duration) {
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct KMSHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
}

public enum KMSTransportError: Error, Sendable, Equatable {
    /// Connection refused, reset or closed before an answer.
    case connection(String)
    case timeout
}
