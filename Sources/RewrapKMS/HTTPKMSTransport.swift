import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RewrapAWSWire

/// KMS requests over HTTP/1.1 with a keep-alive connection pool (AsyncHTTPClient), to AWS KMS or
/// to the simulator on loopback. Call `shutdown()` before releasing it.
public final class HTTPKMSTransport: KMSTransport {
    private let client: HTTPClient
    private let url: String
    /// Largest response body accepted.
    private static let maxResponseBytes = 1 << 20

    /// `maxConnections`: connections kept to the endpoint (at most one request each at a time).
    public init(endpoint: URL, maxConnections: Int = 64) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        url = endpoint.absoluteString.hasSuffix("/") ? endpoint.absoluteString : endpoint.absoluteString + "/"
    }

    public func shutdown() async throws { try await client.shutdown() }

    public func send(_ request: KMSHTTPRequest) async throws(KMSTransportError) -> KMSHTTPResponse {
        var http = HTTPClientRequest(url: url)
        http.method = .POST
        for (name, value) in request.headers where name.lowercased() != "host" {
            http.headers.add(name: name, value: value)
        }
        http.body = .bytes(ByteBuffer(bytes: request.body))
        let (seconds, attoseconds) = request.timeout.components
        let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        do {
            let response = try await client.execute(http, timeout: timeout)
            let body = try await response.body.collect(upTo: Self.maxResponseBytes)
            return KMSHTTPResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                   body: Array(body.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout
        } catch {
            throw .connection(String(describing: error))
        }
    }
}
