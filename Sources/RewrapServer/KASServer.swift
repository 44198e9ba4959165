import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Prometheus
import RewrapEngine
import CoreMetrics
import ServiceLifecycle
import Synchronization

/// The Connect-RPC KAS (kas-server.md): one port for HTTP/1.1 and h2c, or TLS with ALPN `h2`
/// and `http/1.1`; AccessService and health on it. A swift-service-lifecycle `Service`: `run()`
/// serves until graceful shutdown (SIGTERM under a `ServiceGroup`), then stops accepting,
/// lets in-flight requests finish within `shutdownGrace`, closes the rest and returns.
public final class KASServer: Service, Sendable {
    public let configuration: ServerConfiguration
    private let processor: RequestProcessor
    private let health: HealthService
    private let logger: Logger
    private let tlsContext: NIOSSLContext?
    private let bound = Mutex<(channel: Channel?, waiters: [CheckedContinuation<Int, any Error>])>((nil, []))
    private let connections = OpenConnections()
    /// Set when graceful shutdown begins: a connection set up after it answers its first
    /// request with `Connection: close` (its quiesce event may reach it before its pipeline).
    private let draining = Atomic<Bool>(false)

    public enum StartError: Error, CustomStringConvertible {
        case authenticationOffOnNonLoopback(String)
        case tls(String)

        public var description: String {
            switch self {
            case .authenticationOffOnNonLoopback(let host):
                return "authentication can be switched off only on a loopback address (127.0.0.1, ::1, localhost), not \(host)"
            case .tls(let detail): return "TLS: \(detail)"
            }
        }
    }

    /// Where the server's metrics go: a swift-metrics factory, the Prometheus registry `/metrics`
    /// serves (nil: no `/metrics`), and totals sampled at each scrape (key cache, KMS clients).
    public struct Metrics: Sendable {
        public var factory: any MetricsFactory
        public var prometheus: PrometheusCollectorRegistry?
        public var samplers: [ServerMetrics.Sampler]

        public init(factory: any MetricsFactory, prometheus: PrometheusCollectorRegistry? = nil, samplers: [ServerMetrics.Sampler] = []) {
            self.factory = factory
            self.prometheus = prometheus
            self.samplers = samplers
        }

        /// Prometheus on `/metrics`.
        public static func prometheus(samplers: [ServerMetrics.Sampler] = []) -> Metrics {
            let registry = PrometheusCollectorRegistry()
            return Metrics(factory: PrometheusMetricsFactory(registry: registry), prometheus: registry, samplers: samplers)
        }
    }

    /// `authentication: nil` switches authentication off: refused unless `host` is loopback,
    /// and logged loudly at start. Audit records (one per KAO, at `notice`) go to `auditLogger`,
    /// by default `rewrap.audit` through `logger`'s handler.
    public init(configuration: ServerConfiguration, engine: RewrapEngine, publicKeys: any PublicKeyDirectory,
                authentication: (any RewrapAuthentication)?, metrics: Metrics? = nil,
                logger: Logger = Logger(label: "rewrap.serve"), auditLogger: Logger? = nil) throws(StartError) {
        self.configuration = configuration
        self.logger = logger
        if authentication == nil && !Self.isLoopback(configuration.host) {
            throw .authenticationOffOnNonLoopback(configuration.host)
        }
        if let tls = configuration.tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChainPath).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
                var settings = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
                settings.applicationProtocols = ["h2", "http/1.1"]
                settings.minimumTLSVersion = .tlsv12
                tlsContext = try NIOSSLContext(configuration: settings)
            } catch {
                throw .tls("cannot load \(tls.certificateChainPath) / \(tls.privateKeyPath): \(error)")
            }
        } else {
            tlsContext = nil
        }
        let health = HealthService()
        self.health = health
        processor = RequestProcessor(configuration: configuration, engine: engine, directory: publicKeys, connections: connections,
                                     authentication: authentication ?? AuthenticationDisabled(), health: health, metrics: metrics,
                                     logger: logger, audit: auditLogger ?? Self.auditLogger(beside: logger))
        if authentication == nil {
            logger.warning("AUTHENTICATION IS OFF (--insecure-no-auth): any local process can rewrap with this KAS's keys; development only")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The bound port, once listening (port 0 picks one).
    public func listeningPort() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            bound.withLock { state in
                if let port = state.channel?.localAddress?.port {
                    continuation.resume(returning: port)
                } else {
                    state.waiters.append(continuation)
                }
            }
        }
    }

    public func run() async throws {
        let group = Self.eventLoops(configuration.eventLoops)
        let quiesce = ServerQuiescingHelper(group: group)
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // One accept pass empties the queue (AcceptQueueDrain waits for one).
                .serverChannelOption(.maxMessagesPerRead, value: 256)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                        try channel.pipeline.syncOperations.addHandler(AcceptQueueDrain())
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { [self] child in
                    child.eventLoop.makeCompletedFuture { try self.initialize(child) }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
            // Behind NIO's accept handler, which the bootstrap added after the initializer.
            try await channel.eventLoop.submit {
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(try sync.handler(type: AcceptQueueDrain.self).deliveryCounter(), position: .last)
            }.get()
        } catch {
            fail(error)
            throw error
        }
        let waiters = bound.withLock { state in
            state.channel = channel
            defer { state.waiters = [] }
            return state.waiters
        }
        let port = channel.localAddress?.port ?? configuration.port
        for waiter in waiters { waiter.resume(returning: port) }
        logger.info("listening", metadata: [
            "address": "\(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(port)\(configuration.normalizedPrefix)",
            "protocols": "\(configuration.tls == nil ? "HTTP/1.1, h2c (prior knowledge)" : "HTTP/1.1, h2 (ALPN)")",
            "event_loops": "\(configuration.eventLoops)", "engine_threads": "\(processor.threads.count)",
        ])

        let drained = group.any().makePromise(of: Void.self)
        let connections = self.connections
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await channel.closeFuture.get()
                // The listener closes when shutdown begins; the connections finish after it.
                if self.draining.load(ordering: .acquiring) { try? await drained.futureResult.get() }
            } onGracefulShutdown: { [self] in
                self.draining.store(true, ordering: .releasing)
                health.beginDraining()
                logger.info("shutting down: no new connections; in-flight requests get \(configuration.timeouts.shutdownGrace)")
                // The listener closes right after an accept pass (AcceptQueueDrain); every
                // connection accepted is told to finish (ChannelShouldQuiesceEvent).
                channel.eventLoop.execute {
                    let sync = channel.pipeline.syncOperations
                    guard let context = try? sync.context(handlerType: AcceptQueueDrain.self),
                          let acceptQueue = try? sync.handler(type: AcceptQueueDrain.self) else {
                        return quiesce.initiateShutdown(promise: drained)
                    }
                    acceptQueue.closeAfterDraining(context) { quiesce.initiateShutdown(promise: drained) }
                }
                // Past the grace period, whatever is still open is closed.
                group.any().scheduleTask(in: TimeAmount(configuration.timeouts.shutdownGrace)) {
                    connections.closeAll()
                    drained.succeed()
                }
            }
        } onCancel: {
            channel.close(promise: nil)
            connections.closeAll()
            drained.succeed()
        }
        logger.info("stopped")
    }

    /// The audit records' logger when the host gives none: `rewrap.audit` through the server
    /// logger's handler (so its format and destination), at the server logger's level.
    static func auditLogger(beside logger: Logger) -> Logger {
        var audit = Logger(label: "rewrap.audit", factory: { _ in logger.handler })
        audit.logLevel = logger.logLevel
        return audit
    }

    /// The process's event loops, one group per size asked for, kept for the process's life as
    /// NIO's own singleton group is: work a stopping server still completes (an answer from the
    /// engine's threads, a connection's last close) must find its loop running.
    private static let groups = Mutex<[Int: MultiThreadedEventLoopGroup]>([:])

    static func eventLoops(_ count: Int) -> MultiThreadedEventLoopGroup {
        groups.withLock { groups in
            if let group = groups[count] { return group }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: count)
            groups[count] = group
            return group
        }
    }

    private func fail(_ error: any Error) {
        let waiters = bound.withLock { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// A new connection: the connection cap, TLS or the plaintext sniffer, then HTTP/1.1 or HTTP/2.
    private func initialize(_ channel: Channel) throws {
        guard connections.add(channel) <= configuration.limits.maxConnections else {
            channel.close(promise: nil)
            return
        }
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(ConnectionSetupDeadline(timeout: TimeAmount(configuration.timeouts.readHeader)))
        if let tlsContext {
            try sync.addHandler(NIOSSLServerHandler(context: tlsContext))
            try sync.addHandler(ApplicationProtocolNegotiationHandler { [self] result, channel in
                channel.eventLoop.makeCompletedFuture {
                    if case .negotiated("h2") = result {
                        try self.configureHTTP2(channel)
                    } else {
                        try self.configureHTTP1(channel)
                    }
                }
            })
        } else {
            try sync.addHandler(ProtocolSniffer(quiesced: draining.load(ordering: .acquiring)) { [self] channel, detected in
                switch detected {
                case .http1: try self.configureHTTP1(channel)
                case .http2: try self.configureHTTP2(channel)
                }
            })
        }
    }

    private func configureHTTP1(_ channel: Channel) throws {
        let sync = channel.pipeline.syncOperations
        sync.removeHandler(context: try sync.context(handlerType: ConnectionSetupDeadline.self), promise: nil)
        // Before NIO's HTTP handlers: they would consume the shutdown event (see the translator).
        try sync.addHandler(HTTP1ShutdownTranslator())
        // No outbound header validation: every response header is a constant of ours or a value
        // we made (DPoP-Nonce, content lengths), never client text, so NIO's per-response scan
        // for CR/LF (~2 % of a batch-1 Rewrap's server CPU, perf) checks nothing.
        try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true, withOutboundHeaderValidation: false)
        try sync.addHandler(HTTPRequestHandler(processor: processor, isHTTP2Stream: false,
                                               quiescing: draining.load(ordering: .acquiring)))
    }

    private func configureHTTP2(_ channel: Channel) throws {
        let sync = channel.pipeline.syncOperations
        sync.removeHandler(context: try sync.context(handlerType: ConnectionSetupDeadline.self), promise: nil)
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.limits.maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 20),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
        ]
        let processor = self.processor
        // An HTTP/2 connection with no frames for the idle timeout is closed.
        try sync.addHandler(IdleStateHandler(readTimeout: TimeAmount(configuration.timeouts.idle)))
        try sync.addHandler(CloseOnIdle())
        _ = try sync.configureHTTP2Pipeline(mode: .server, connectionConfiguration: connection,
                                            streamConfiguration: NIOHTTP2Handler.StreamConfiguration()) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try stream.pipeline.syncOperations.addHandler(HTTPRequestHandler(processor: processor, isHTTP2Stream: true))
            }
        }
    }
}

/// The open connections: counted for the connection cap, closed together when the shutdown
/// grace period ends.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// Registers `channel` until it closes; the number open, this one included.
    func add(_ channel: any Channel) -> Int {
        let id = ObjectIdentifier(channel)
        let count = channels.withLock { open in
            open[id] = channel
            return open.count
        }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: id) } }
        return count
    }

    var count: Int { channels.withLock { $0.count } }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// Closes a connection on `IdleStateHandler`'s read-idle event.
final class CloseOnIdle: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
