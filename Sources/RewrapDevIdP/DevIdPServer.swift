import NIOCore
import NIOHTTP1
import NIOPosix
import RewrapAuth
import RewrapCrypto
import RewrapLoopbackHTTP

/// Why the dev IdP would not start.
public enum DevIdPError: Error, Sendable, CustomStringConvertible {
    case notLoopback(String)

    public var description: String {
        switch self {
        case .notLoopback(let host):
            return "--host \(host) is not a loopback address; the dev IdP issues tokens to anyone who asks, so it binds only to 127.0.0.1, ::1 or localhost"
        }
    }
}

/// `DevIdentityProvider` on an HTTP/1.1 socket (SwiftNIO), as `KMSSimulatorServer` serves the
/// simulated KMS: keep-alive, requests on a connection in order, connections concurrent.
/// `beginGracefulShutdown()` stops accepting and lets requests in flight finish; `cancel()`
/// closes everything.
public final class DevIdPServer: Sendable {
    public let provider: DevIdentityProvider
    public let port: Int
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let serving: Task<Void, Never>
    private let open: LoopbackConnections

    private init(provider: DevIdentityProvider, port: Int,
                 channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
                 serving: Task<Void, Never>, open: LoopbackConnections) {
        self.provider = provider
        self.port = port
        self.channel = channel
        self.serving = serving
        self.open = open
    }

    /// Whether `host` names the loopback interface.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.") && host.split(separator: ".").count == 4
    }

    /// Binds `host:port` (port 0: any free port), then makes the provider with the issuer URL
    /// the bound port gives, and serves.
    public static func start(host: String = "127.0.0.1", port: Int = 0,
                             configuration: DevIdentityProvider.Configuration) async throws -> DevIdPServer {
        guard isLoopback(host) else { throw DevIdPError.notLoopback(host) }
        let bindHost = host == "[::1]" ? "::1" : host
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: bindHost, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: child)
                }
            }
        let boundPort = channel.channel.localAddress?.port ?? port
        let authority = bindHost.contains(":") ? "[\(bindHost)]:\(boundPort)" : "\(bindHost):\(boundPort)"
        let provider: DevIdentityProvider
        do {
            provider = try DevIdentityProvider(issuer: "http://\(authority)", configuration: configuration)
        } catch {
            try? await channel.channel.close()
            throw error
        }
        let open = LoopbackConnections()
        let serving = Task<Void, Never> {
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection, provider: provider, open: open) }
                    }
                }
            }
        }
        return DevIdPServer(provider: provider, port: boundPort, channel: channel, serving: serving, open: open)
    }

    public var isShuttingDown: Bool { open.isDraining }

    public func beginGracefulShutdown() {
        for idle in open.beginDraining() { idle.close(promise: nil) }
        channel.channel.close(promise: nil)
    }

    public func cancel() {
        _ = open.beginDraining()
        channel.channel.close(promise: nil)
        serving.cancel()
    }

    public func waitUntilFinished() async { await serving.value }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, provider: DevIdentityProvider, open: LoopbackConnections
    ) async {
        let channel = connection.channel
        guard let id = open.add(channel) else {
            try? await channel.close()
            return
        }
        defer { open.remove(id) }
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    guard open.setBusy(id, true) else { return }
                    head = requestHead
                    body.removeAll(keepingCapacity: true)
                    // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` (libcurl does for
                    // POST bodies) may wait for the interim response before sending the body.
                    if requestHead.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .continue)))
                    }
                case .body(let buffer):
                    // Bounded: a larger request is not read, the connection closes.
                    guard body.count + buffer.readableBytes <= DevIdentityProvider.maxRequestBytes else { return }
                    body.append(contentsOf: buffer.readableBytesView)
                case .end:
                    guard let requestHead = head else { continue }
                    let reply = provider.handle(method: requestHead.method.rawValue, path: requestHead.uri,
                                                headers: requestHead.headers.map { ($0.name, $0.value) }, body: body)
                    try await LoopbackResponse.write(outbound, status: reply.status, headers: reply.headers, body: reply.body,
                                                     keepAlive: requestHead.isKeepAlive)
                    guard open.setBusy(id, false), requestHead.isKeepAlive else { return }
                }
            }
        }
    }
}
