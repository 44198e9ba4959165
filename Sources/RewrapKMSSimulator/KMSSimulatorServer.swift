import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The simulated KMS on an HTTP/1.1 socket (SwiftNIO), keep-alive on. Requests on one connection
/// are served in order; connections run concurrently. `GET /admin/counters` returns the
/// simulator's counters as JSON.
public final class KMSSimulatorServer: Sendable {
    public let simulator: SimulatedKMS
    public let port: Int
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let serving: Task<Void, Never>
    private static let maxBodyBytes = 1 << 20

    private init(simulator: SimulatedKMS, port: Int,
                 channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
                 serving: Task<Void, Never>) {
        self.simulator = simulator
        self.port = port
        self.channel = channel
        self.serving = serving
    }

    /// Binds `host:port` (port 0 picks a free one) and starts serving.
    public static func start(simulator: SimulatedKMS, host: String = "127.0.0.1", port: Int = 0) async throws -> KMSSimulatorServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: child)
                }
            }
        let boundPort = channel.channel.localAddress?.port ?? port
        let serving = Task<Void, Never> {
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection, simulator: simulator) }
                    }
                }
            }
        }
        return KMSSimulatorServer(simulator: simulator, port: boundPort, channel: channel, serving: serving)
    }

    /// Stops accepting and closes every connection.
    public func shutdown() async {
        try? await channel.channel.close()
        serving.cancel()
        await serving.value
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, simulator: SimulatedKMS
    ) async {
        let channel = connection.channel
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            var served = 0
            var hanging = false
            for try await part in inbound {
                // A hung request never gets an answer; the client gives up and closes.
                if hanging { continue }
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.removeAll(keepingCapacity: true)
                case .body(let buffer):
                    guard body.count + buffer.readableBytes <= maxBodyBytes else { return }
                    body.append(contentsOf: buffer.readableBytesView)
                case .end:
                    guard let requestHead = head else { continue }
                    if requestHead.method == .GET, requestHead.uri == "/admin/counters" {
                        let json = (try? JSONEncoder().encode(simulator.counters)).map(Array.init) ?? []
                        try await write(outbound, status: 200, headers: [("Content-Type", "application/json")], body: json,
                                        keepAlive: requestHead.isKeepAlive)
                        continue
                    }
                    let reply = await simulator.handle(
                        method: requestHead.method.rawValue, path: requestHead.uri,
                        headers: requestHead.headers.map { ($0.name, $0.value) }, body: body, newConnection: served == 0)
                    served += 1
                    switch reply.disposition {
                    case .respond:
                        try await write(outbound, status: reply.status, headers: reply.headers, body: reply.body, keepAlive: requestHead.isKeepAlive)
                        if !requestHead.isKeepAlive { return }
                    case .resetConnection:
                        // SO_LINGER 0: the close sends a reset, as a failed peer would.
                        if let socket = channel as? SocketOptionProvider {
                            try? await socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                        }
                        return
                    case .hang:
                        hanging = true
                    }
                }
            }
        }
    }

    private static func write(
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
