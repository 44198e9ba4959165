import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// A loop's connections: HTTP/1.1 keep-alive (one request at a time each), or HTTP/2 — h2c with
/// prior knowledge on http, h2 by ALPN on https — with one stream per request, the in-flight
/// slots spread over a few connections. Opened before the clock starts; reopened when the KAS
/// closes one during the run.
extension LoadLoop {
    /// Opens every connection before the clock starts; fails with the first that cannot connect.
    func connect() -> EventLoopFuture<Void> {
        loop.flatSubmit {
            let opened = self.plan.http2 ? self.sessions.map { self.open($0) } : self.connections.map { self.open($0) }
            return EventLoopFuture.andAllSucceed(opened, on: self.loop)
        }
    }

    /// The run will not start (a connection failed): closes what opened and settles the result.
    func abandon(_ error: any Error) {
        loop.execute {
            self.finished = true
            self.closeAll()
            self.done.fail(error)
        }
    }

    func closeAll() {
        for connection in connections { connection.channel?.close(promise: nil) }
        for session in sessions { session.channel?.close(promise: nil) }
    }

    private func bootstrap() -> ClientBootstrap {
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
    }

    private func addTLS(_ channel: any Channel, _ target: LoadTarget) throws {
        guard target.tls, let tls else { return }
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: target.serverName))
    }

    // MARK: HTTP/1.1

    func open(_ connection: Connection) -> EventLoopFuture<Void> {
        let target = plan.targets[connection.target]
        return bootstrap()
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.addTLS(channel, target)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(AnswerReader(owner: self, connection: connection))
                }
            }
            .connect(host: target.host, port: target.port)
            .map { channel in
                connection.channel = channel
                connection.failedConnects = 0
                self.release(connection)
            }
            .flatMapErrorThrowing { error in
                throw LoadError("cannot connect to \(target): \(error)")
            }
    }

    /// `channel` of `connection` closed (by the server, an error, our timeout, or — HTTP/2 — the
    /// end of its stream): a request still on it fails; an HTTP/1.1 connection is reopened
    /// unless the run is over, an HTTP/2 slot just takes the next request on a new stream.
    func closed(_ connection: Connection, channel: any Channel) {
        guard connection.channel === channel else { return }  // an earlier stream of this slot
        connection.channel = nil
        if let exchange = connection.exchange {
            connection.exchange = nil
            finish(exchange, failure: connection.timedOut ? "timeout" : "connection closed",
                   sample: connection.timedOut ? "no answer within \(plan.timeout) s of the intended send time"
                                               : "the server closed the \(connection.session == nil ? "connection" : "stream") before answering")
        }
        connection.timedOut = false
        if connection.session != nil {
            if !finished { release(connection) }
            return
        }
        idle.removeAll { $0 === connection }
        guard !finished else { return }
        let delay: TimeAmount = connection.failedConnects == 0 ? .zero : .milliseconds(100)
        loop.scheduleTask(in: delay) {
            guard !self.finished else { return }
            self.result.reconnects += 1
            self.open(connection).whenFailure { _ in
                connection.failedConnects += 1
                self.reopenFailed(connection)
            }
        }
    }

    /// A reopen failed: try again shortly (requests wait meanwhile, and time out if it lasts).
    private func reopenFailed(_ connection: Connection) {
        guard !finished else { return }
        loop.scheduleTask(in: .milliseconds(100)) {
            guard !self.finished else { return }
            self.open(connection).whenFailure { _ in self.reopenFailed(connection) }
        }
    }

    func release(_ connection: Connection) {
        if let next = takePending() { send(next, on: connection) } else { idle.append(connection) }
        checkDone()
    }

    // MARK: HTTP/2

    func open(_ session: Session) -> EventLoopFuture<Void> {
        let target = plan.targets[session.target]
        return bootstrap()
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.addTLS(channel, target)
                    session.multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        // The KAS pushes nothing; a stream it opens is refused.
                        stream.close()
                    }
                }
            }
            .connect(host: target.host, port: target.port)
            .map { channel in
                session.channel = channel
                session.failedConnects = 0
                channel.closeFuture.whenComplete { _ in self.sessionClosed(session) }
                // Its slots start (or resume) taking requests.
                for connection in self.connections where connection.session === session && connection.exchange == nil {
                    self.idle.removeAll { $0 === connection }
                    self.release(connection)
                }
            }
            .flatMapErrorThrowing { error in
                throw LoadError("cannot connect to \(target): \(error)")
            }
    }

    /// An HTTP/2 connection closed: its streams' requests fail as their streams close; its slots
    /// wait for it to be reopened.
    private func sessionClosed(_ session: Session) {
        session.channel = nil
        session.multiplexer = nil
        idle.removeAll { $0.session === session }
        guard !finished else { return }
        let delay: TimeAmount = session.failedConnects == 0 ? .zero : .milliseconds(100)
        loop.scheduleTask(in: delay) {
            guard !self.finished else { return }
            self.result.reconnects += 1
            self.open(session).whenFailure { _ in
                session.failedConnects += 1
                self.sessionClosed(session)
            }
        }
    }

    // MARK: writing a request

    func write(head: HTTPRequestHead, body: ByteBuffer, on connection: Connection) {
        guard let session = connection.session else {
            guard let channel = connection.channel else { return }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return
        }
        guard let multiplexer = session.multiplexer else { return }
        let tls = plan.targets[connection.target].tls
        let created = loop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: created) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: tls ? .https : .http))
                try stream.pipeline.syncOperations.addHandler(AnswerReader(owner: self, connection: connection))
            }
        }
        created.futureResult.whenComplete { result in
            switch result {
            case .success(let stream):
                connection.channel = stream
                stream.write(HTTPClientRequestPart.head(head), promise: nil)
                stream.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
                stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            case .failure(let error):
                if let exchange = connection.exchange {
                    connection.exchange = nil
                    self.finish(exchange, failure: "stream refused", sample: "\(error)")
                }
                self.release(connection)
            }
        }
    }
}
