import NIOCore
import NIOHTTP1

/// A complete answer: status, headers, body. `Content-Length` is added when written.
struct ServerResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer?
    /// Close the connection after this answer (an unread body, a protocol violation, shutdown).
    var closeConnection = false
    /// The Connect code of an error answer (metrics).
    var code: ConnectCode?

    init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A Connect error answer (kas-server.md §2.6): JSON, never compressed.
    static func error(_ error: ConnectError, call: ConnectCall?, allocator: ByteBufferAllocator) -> ServerResponse {
        var headers = call?.responseHeaders(success: false) ?? {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Accept-Encoding", value: "gzip")
            return headers
        }()
        for (name, value) in error.headers { headers.add(name: name, value: value) }
        var answer = ServerResponse(status: HTTPResponseStatus(statusCode: error.code.httpStatus), headers: headers,
                                    body: allocator.buffer(bytes: error.body))
        answer.code = error.code
        return answer
    }

    /// Go's `http.NotFound`: what an unknown path gets, which Connect clients read as `unimplemented`.
    static func notFound(allocator: ByteBufferAllocator) -> ServerResponse {
        ServerResponse(status: .notFound, headers: ["Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"],
                       body: allocator.buffer(string: "404 page not found\n"))
    }
}
