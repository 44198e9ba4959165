import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// A fetched HTTP response, its body already bounded.
public struct HTTPFetchResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

public enum HTTPFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body exceeded the caller's bound (nothing past it was read).
    case tooLarge(limit: Int)
    /// Connection, TLS, timeout or protocol failure; the text is the transport's.
    case transport(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): return "response body larger than \(limit) bytes"
        case .transport(let why): return why
        }
    }
}

/// `GET url` → status, headers, body (at most `maxBytes`): the one network call the OIDC key
/// source makes, behind a protocol so tests use a fake.
public protocol HTTPFetching: Sendable {
    func get(_ url: String, maxBytes: Int) async throws(HTTPFetchError) -> HTTPFetchResponse
}

/// `HTTPFetching` on AsyncHTTPClient.
public struct AsyncHTTPFetcher: HTTPFetching {
    public let client: HTTPClient
    public let timeout: TimeAmount

    public init(client: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.client = client
        self.timeout = timeout
    }

    public func get(_ url: String, maxBytes: Int) async throws(HTTPFetchError) -> HTTPFetchResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        do {
            let response = try await client.execute(request, timeout: timeout)
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBytes {
                throw HTTPFetchError.tooLarge(limit: maxBytes)
            }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: maxBytes)
            } catch is NIOTooManyBytesError {
                throw HTTPFetchError.tooLarge(limit: maxBytes)
            }
            return HTTPFetchResponse(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: Array(buffer: body))
        } catch let error as HTTPFetchError {
            throw error
        } catch {
            throw .transport(String(describing: error))
        }
    }
}
