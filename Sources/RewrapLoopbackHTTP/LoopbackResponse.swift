import NIOCore
import NIOHTTP1

/// One complete HTTP/1.1 answer of a loopback server: head with `Content-Length` and
/// `Connection`, body, end.
package enum LoopbackResponse {
    package static func write(
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, status: Int,
        headers: [(String, String)], body: [UInt8], keepAlive: Bool
    ) async throws {
        var httpHeaders = HTTPHeaders(headers)
        httpHeaders.replaceOrAdd(name: "Content-Length", value: String(body.count))
        httpHeaders.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status),
                                                        headers: httpHeaders)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
        try await outbound.write(.end(nil))
    }
}
