import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import RewrapCrypto
import RewrapGzip
import RewrapProto
import RewrapWire
import SwiftProtobuf
import Synchronization

/// A KAS double on 127.0.0.1 for the load generator's tests: it answers Rewrap itself, in one of
/// the ways a measurement must notice.
final class FakeKAS: Sendable {
    enum Behaviour: Sendable {
        /// Every KAO permitted, with a fresh random "DEK" RSA-OAEP-wrapped to the request's client
        /// key: it opens, but it is not the DEK the generator wrapped.
        case wrongDEKs
        /// An empty 200 answer at once, except request number `stallAt` (0-based), answered only
        /// after `stall`.
        case emptyAnswers(stallAt: Int, stall: TimeAmount)
    }

    let port: Int
    let requests = Atomic<Int>(0)
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    init(_ behaviour: Behaviour) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let box = Box()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(behaviour: behaviour, owner: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.group = group
        self.channel = channel
        port = channel.localAddress?.port ?? 0
        box.kas.withLock { $0 = self }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }

    /// Lets the handlers count on the server that made them.
    private final class Box: Sendable {
        let kas = Mutex<FakeKAS?>(nil)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let behaviour: Behaviour
        let owner: Box
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(behaviour: Behaviour, owner: Box) {
            self.behaviour = behaviour
            self.owner = owner
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                guard let head else { return }
                let number = owner.kas.withLock { $0?.requests.wrappingAdd(1, ordering: .relaxed).oldValue } ?? 0
                let answer: [UInt8]
                var delay = TimeAmount.zero
                switch behaviour {
                case .wrongDEKs:
                    answer = (try? Self.wrongAnswer(head: head, body: body)) ?? []
                case .emptyAnswers(let stallAt, let stall):
                    answer = RewrapResponse(responses: []).protoBytes()
                    if number == stallAt { delay = stall }
                }
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let respond = { @Sendable in
                    let context = bound.value
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/proto")
                    headers.add(name: "Content-Length", value: String(answer.count))
                    context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                                  promise: nil)
                    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: answer)))), promise: nil)
                    context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
                }
                if delay == .zero { respond() } else { context.eventLoop.scheduleTask(in: delay, respond) }
            }
        }

        /// Reads the SRT's request body (no signature check: a double) and permits every KAO with
        /// a random key wrapped to the client.
        static func wrongAnswer(head: HTTPRequestHead, body: ByteBuffer) throws -> [UInt8] {
            var plain = body
            if head.headers.first(name: "Content-Encoding") == "gzip" {
                plain = try Gzip.decompress(body, limit: 16 << 20, allocator: ByteBufferAllocator())
            }
            let request = try Kas_RewrapRequest(serializedBytes: Array(plain.readableBytesView))
            let parts = request.signedRequestToken.split(separator: ".")
            guard parts.count == 3, let payload = Base64.decode(parts[1], options: .base64URL) else { return [] }
            struct Claims: Decodable { var requestBody: String }
            let claims = try JSONDecoder().decode(Claims.self, from: Data(payload))
            let unsigned = try ProtoJSON.decode(UnsignedRewrapRequest.self, from: Array(claims.requestBody.utf8))
            let client = try PublicKey(pem: unsigned.clientPublicKey)
            let worker = CryptoWorker()
            var responses: [PolicyRewrapResult] = []
            for policy in unsigned.requests {
                var results: [KeyAccessRewrapResult] = []
                for kao in policy.keyAccessObjects {
                    let key = try CryptoPrimitives.randomBytes(count: 32)
                    let wrapped = try key.withUnsafeBytes { try worker.rsaOAEPEncrypt($0, to: client) }
                    results.append(KeyAccessRewrapResult(keyAccessObjectId: kao.keyAccessObjectId, outcome: .permit(kasWrappedKey: wrapped)))
                }
                responses.append(PolicyRewrapResult(policyId: policy.policy?.id ?? "", results: results))
            }
            return RewrapResponse(responses: responses).protoBytes()
        }
    }
}
