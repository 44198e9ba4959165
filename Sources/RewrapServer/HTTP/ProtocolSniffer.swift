import NIOCore

/// One plaintext port for HTTP/1.1 and h2c with prior knowledge (kas-server.md §1.4): the first
/// 24 bytes decide. They are held until they either match the HTTP/2 connection preface or stop
/// matching it (usually at the first byte: `P` vs `G`/`P`OST — the second byte, `R` vs `O`,
/// settles POST), then the pipeline for that protocol is installed and the held bytes replayed.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Detected { case http1, http2 }

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private var held: ByteBuffer?
    /// Graceful shutdown began before the protocol was known.
    private var quiesced = false
    private let configure: (Channel, Detected) throws -> Void

    /// `quiesced`: the server is already shutting down (the connection's quiesce event may
    /// have been fired before this pipeline existed).
    init(quiesced: Bool = false, configure: @escaping (Channel, Detected) throws -> Void) {
        self.quiesced = quiesced
        self.configure = configure
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if held == nil {
            held = bytes
        } else {
            held!.writeBuffer(&bytes)
        }
        guard let decided = decide(held!) else { return }
        do {
            try configure(context.channel, decided)
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        let replay = held!
        held = nil
        context.fireChannelRead(wrapInboundOut(replay))
        // After the replayed request, so that it is answered (with `Connection: close`, or under
        // an HTTP/2 GOAWAY) rather than dropped.
        if quiesced { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    /// Shutdown on a connection that has not sent its first request yet: it was just opened to
    /// send one (unlike an idle keep-alive connection), so the event waits for the decision
    /// above and that request is served; the shutdown grace period bounds the wait.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        quiesced = true
    }

    private func decide(_ buffer: ByteBuffer) -> Detected? {
        let count = min(buffer.readableBytes, Self.preface.count)
        let prefix = buffer.getBytes(at: buffer.readerIndex, length: count) ?? []
        guard prefix == Array(Self.preface[0..<count]) else { return .http1 }
        return count == Self.preface.count ? .http2 : nil
    }
}

/// From accept to a chosen protocol (the sniffer's decision, or the TLS handshake and ALPN): a
/// connection that sends nothing, or too little, is closed at the read-header timeout. Removed
/// once the HTTP/1.1 or HTTP/2 pipeline is in place; from there `HTTPRequestHandler` and the
/// HTTP/2 idle handler time the connection.
final class ConnectionSetupDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
