import Foundation
import NIOCore
import NIOHTTP1
import RewrapGzip
import RewrapProto
import RewrapWire
import SwiftProtobuf

/// Collects one HTTP answer (head and body) on a load connection and hands it to the loop.
final class AnswerReader: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    /// Answers larger than this are refused as a failure (a batch-1000 answer is ~200 KB).
    static let bodyLimit = 64 << 20

    private let owner: LoadLoop
    private let connection: LoadLoop.Connection
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?

    init(owner: LoadLoop, connection: LoadLoop.Connection) {
        self.owner = owner
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
            if (body?.readableBytes ?? 0) > Self.bodyLimit { context.close(promise: nil) }
        case .end:
            guard let head else { return }
            self.head = nil
            let answer = body
            body = nil
            owner.answered(connection, head: head, body: answer)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        owner.closed(connection, channel: context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: reading answers

    /// The body, inflated when the server gzipped it.
    static func plainBody(head: HTTPResponseHead, body: ByteBuffer?) -> ByteBuffer? {
        guard let body else { return nil }
        guard head.headers.first(name: "Content-Encoding")?.lowercased() == "gzip" else { return body }
        return try? Gzip.decompress(body, limit: bodyLimit, allocator: ByteBufferAllocator())
    }

    /// A 200 answer as the wire model; nil if it does not decode (every KAO then counts as an
    /// unexpected outcome). Protobuf goes through swift-protobuf's generated decoder, an
    /// implementation independent of the server's writer.
    static func decode(head: HTTPResponseHead, body: ByteBuffer?, encoding: LoadPlan.Encoding) -> RewrapResponse? {
        guard let plain = plainBody(head: head, body: body) else { return nil }
        let bytes = Array(plain.readableBytesView)
        switch encoding {
        case .json:
            return try? ProtoJSON.decode(RewrapResponse.self, from: bytes)
        case .proto:
            guard let message = try? Kas_RewrapResponse(serializedBytes: bytes) else { return nil }
            return RewrapResponse(
                sessionPublicKey: message.sessionPublicKey,
                responses: message.responses.map { policy in
                    PolicyRewrapResult(policyId: policy.policyID, results: policy.results.map { result in
                        let outcome: KeyAccessRewrapResult.Outcome
                        if case .kasWrappedKey(let key)? = result.result {
                            outcome = .permit(kasWrappedKey: [UInt8](key))
                        } else {
                            outcome = .fail(error: result.error)
                        }
                        return KeyAccessRewrapResult(keyAccessObjectId: result.keyAccessObjectID, outcome: outcome)
                    })
                },
                entityWrappedKey: [UInt8](message.entityWrappedKey))
        }
    }

    /// A failure's kind ("HTTP 503 unavailable": status and Connect code) and a sample message
    /// (the Connect error's `message`, which a KAS never fills with a secret).
    static func failureKind(head: HTTPResponseHead, body: ByteBuffer?) -> (kind: String, sample: String) {
        var kind = "HTTP \(head.status.code)"
        var sample = "\(head.status.code) \(head.status.reasonPhrase)"
        if let plain = plainBody(head: head, body: body), plain.readableBytes > 0, plain.readableBytes < 1 << 16 {
            struct ConnectError: Decodable { var code: String?; var message: String? }
            if let error = try? JSONDecoder().decode(ConnectError.self, from: Data(plain.readableBytesView)), let code = error.code {
                kind += " " + code
                sample = code + (error.message.map { ": " + $0 } ?? "")
            }
        }
        if let challenge = head.headers.first(name: "WWW-Authenticate") { sample += " (WWW-Authenticate: \(challenge.prefix(200)))" }
        return (kind, sample)
    }
}
