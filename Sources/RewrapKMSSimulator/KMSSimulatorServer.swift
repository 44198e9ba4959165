import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import RewrapLoopbackHTTP

/// The simulated KMS on an HTTP/1.1 socket (SwiftNIO), keep-alive on. Requests on one connection
/// are served in order; connections run concurrently. `GET /admin/counters` returns the
/// simulator's counters as JSON.
///
/// Two ways to stop: `beginGracefulShutdown()` stops accepting, closes idle connections and lets
/// each request in flight finish (its connection closes after the answer), and
/// `waitUntilFinished()` returns once the last one has; `shutdown()` closes everything at once.
public final class KMSSimulatorServer: Sendable {
    public let simulator: SimulatedKMS
    public let port: Int
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let serving: Task<Void, Never>
    private let connections: LoopbackConnections
    private static let maxBodyBytes = 1 << 20

    private init(simulator: SimulatedKMS, port: Int,
                 channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
                 serving: Task<Void, Never>, connections: LoopbackConnections) {
        self.simulator = simulator
        self.port = port
        self.channel = channel
        self.serving = serving
        self.connections = connections
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
        let registry = LoopbackConnections()
        let serving = Task<Void, Never> {
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection, simulator: simulator, registry: registry) }
                    }
                }
            }
        }
        return KMSSimulatorServer(simulator: simulator, port: boundPort, channel: channel, serving: serving, connections: registry)
    }

    /// Stops accepting and closes every connection.
    public func shutdown() async {
        cancel()
        await serving.value
    }

    /// `shutdown()` without waiting: for a cancellation handler.
    public func cancel() {
        _ = connections.beginDraining()
        channel.channel.close(promise: nil)
        serving.cancel()
    }

    /// Stops accepting new connections and closes the idle ones; a request in flight is answered,
    /// then its connection closes. Returns at once; `waitUntilFinished()` waits for the last one.
    public func beginGracefulShutdown() {
        for idle in connections.beginDraining() { idle.close(promise: nil) }
        channel.channel.close(promise: nil)
    }

    /// Whether `beginGracefulShutdown()`, `cancel()` or `shutdown()` was called.
    public var isShuttingDown: Bool { connections.isDraining }

    /// Returns when the server has stopped serving: after a shutdown, once every connection has
    /// closed (or at once if the listening socket failed).
    public func waitUntilFinished() async {
        await serving.value
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, simulator: SimulatedKMS,
        registry: LoopbackConnections
    ) async {
        let channel = connection.channel
        guard let id = registry.add(channel) else {
            // Accepted while the server was draining: not served.
            try? await channel.close()
            return
        }
        defer { registry.remove(id) }
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
                    // A request that arrives once draining has begun is not started.
                    guard registry.setBusy(id, true) else { return }
                    head = requestHead
                    body.removeAll(keepingCapacity: true)
                case .body(let buffer):
                    guard body.count + buffer.readableBytes <= maxBodyBytes else { return }
                    body.append(contentsOf: buffer.readableBytesView)
                case .end:
                    guard let requestHead = head else { continue }
                    if requestHead.method == .GET, requestHead.uri == "/admin/counters" {
                        let json = (try? JSONEncoder().encode(simulator.counters)).map(Array.init) ?? []
                        try await LoopbackResponse.write(outbound, status: 200, headers: [("Content-Type", "application/json")],
                                                         body: json, keepAlive: requestHead.isKeepAlive)
                        guard registry.setBusy(id, false) else { return }
                        continue
                    }
                    let reply = await simulator.handle(
                        method: requestHead.method.rawValue, path: requestHead.uri,
                        headers: requestHead.headers.map { ($0.name, $0.value) }, body: body, newConnection: served == 0)
                    served += 1
                    switch reply.disposition {
                    case .respond:
                        try await LoopbackResponse.write(outbound, status: reply.status, headers: reply.headers, body: reply.body,
                                                         keepAlive: requestHead.isKeepAlive)
                        // Draining: the answer is out, the connection closes.
                        guard registry.setBusy(id, false), requestHead.isKeepAlive else { return }
                    case .resetConnection:
                        // SO_LINGER 0: the close sends a reset, as a failed peer would.
                        if let socket = channel as? SocketOptionProvider {
                            try? await socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                        }
                        return
                    case .hang:
                        // Nothing is in flight any more: a graceful shutdown closes it.
                        hanging = true
                        guard registry.setBusy(id, false) else { return }
                    }
                }
            }
        }
    }
}
