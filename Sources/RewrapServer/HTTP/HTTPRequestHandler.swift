import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection, or one HTTP/2 stream (behind `HTTP2FramePayloadToHTTP1ServerCodec`):
/// reads a request (bounded body), hands it to the `RequestProcessor`, writes the answer, and
/// enforces the timeouts. Requests on an HTTP/1.1 connection are answered in order (NIO's
/// pipelining handler holds the next one back until this answer is written).
///
/// Timeouts (`ServerConfiguration.Timeouts`): a connection must deliver a complete request head
/// within `readHeader` of opening, and a new one within `idle` of the previous answer, else it
/// is closed; from a head, the answer is due within the request's timeout — a body that has
/// not arrived by then, or work that is not done, is answered `deadline_exceeded`.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a head.
        case idle
        /// Reading the body of an admitted request; `expected` is its Content-Length (0 when not given).
        case collecting(RequestProcessor.Pending, ByteBuffer?, keepAlive: Bool, expected: Int)
        /// Already answered (an early error); the rest of the body is read and dropped.
        case discarding(keepAlive: Bool)
        /// The request is complete and being worked on.
        case working(keepAlive: Bool)
        /// The last answer is written and FIN sent; what still arrives is dropped until the
        /// client closes or `linger` passes (`lingeringClose`).
        case lingering
    }

    private let processor: RequestProcessor
    private let isHTTP2Stream: Bool
    private var state = State.idle
    private var timer: Scheduled<Void>?
    /// Bumped for every request, so an answer that arrives after a deadline answer is dropped.
    private var generation = 0
    /// The RPC being answered and when its head arrived (metrics).
    private var current: (procedure: Procedure, started: ContinuousClock.Instant)?

    init(processor: RequestProcessor, isHTTP2Stream: Bool, quiescing: Bool = false) {
        self.processor = processor
        self.isHTTP2Stream = isHTTP2Stream
        self.quiescing = quiescing
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if !isHTTP2Stream && context.channel.isActive { arm(context, after: processor.configuration.timeouts.readHeader) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if !isHTTP2Stream { arm(context, after: processor.configuration.timeouts.readHeader) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        // A pending request's admission ticket is released when the state drops it.
        state = .idle
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if case .lingering = state { return }
            guard case .idle = state else { return protocolViolation(context) }
            generation += 1
            let keepAlive = head.isKeepAlive
            current = nil
            let (route, query) = processor.route(head)
            if processor.metrics != nil, case .rpc(let procedure) = route {
                current = (procedure, ContinuousClock.now)
            }
            let limit = processor.configuration.limits.maxMessageBytes
            let length = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            if length > limit {
                // Refused before reading a byte of it; the connection closes (its body stays unread).
                var answer = ServerResponse.error(.messageTooLarge(length, limit: limit), call: nil, allocator: context.channel.allocator)
                answer.closeConnection = true
                state = .discarding(keepAlive: false)
                return write(answer, context: context, keepAlive: false)
            }
            switch processor.begin(head, route: route, query: query, remoteIP: remoteIP(context), allocator: context.channel.allocator) {
            case .respond(let answer):
                state = .discarding(keepAlive: keepAlive)
                write(answer, context: context, keepAlive: keepAlive, complete: false)
                arm(context, after: processor.configuration.timeouts.request)
            case .collect(let pending):
                state = .collecting(pending, nil, keepAlive: keepAlive, expected: length)
                arm(context, after: pending.timeout)
            }
        case .body(var part):
            switch state {
            case .collecting(let pending, var body, let keepAlive, let expected):
                let limit = processor.configuration.limits.maxMessageBytes
                let size = (body?.readableBytes ?? 0) + part.readableBytes
                guard size <= limit else {
                    var answer = ServerResponse.error(.messageTooLarge(size, limit: limit), call: pending.call, allocator: context.channel.allocator)
                    answer.closeConnection = true
                    state = .discarding(keepAlive: false)
                    return write(answer, context: context, keepAlive: false)
                }
                if body == nil && part.readableBytes >= expected {
                    // The usual case, one read holding the whole body: that buffer is the body.
                    body = part
                } else if body == nil {
                    // A body over several reads is gathered into a buffer of its declared size
                    // (a batch-64 request is ~45 KB), not grown by doubling; only for an admitted
                    // Rewrap (at most `maxRequestsInFlight` of them) and only up to 1 MiB, so a
                    // client that declares much and sends little cannot make us reserve it.
                    let reserve = pending.ticket == nil ? part.readableBytes : min(expected, 1 << 20)
                    var gathered = context.channel.allocator.buffer(capacity: max(reserve, part.readableBytes))
                    gathered.writeBuffer(&part)
                    body = gathered
                } else {
                    body!.writeBuffer(&part)
                }
                state = .collecting(pending, body, keepAlive: keepAlive, expected: expected)
            case .discarding, .idle, .working, .lingering:
                break
            }
        case .end:
            switch state {
            case .collecting(let pending, let body, let keepAlive, _):
                state = .working(keepAlive: keepAlive)
                let expected = generation
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                processor.finish(pending, body: body ?? context.channel.allocator.buffer(capacity: 0), eventLoop: context.eventLoop)
                    .hop(to: context.eventLoop)
                    .whenComplete { result in
                        let (handler, context) = loopBound.value
                        guard handler.generation == expected, case .working(let keepAlive) = handler.state else { return }
                        switch result {
                        case .success(let answer): handler.write(answer, context: context, keepAlive: keepAlive)
                        case .failure: handler.write(.error(.internalError, call: pending.call, allocator: context.channel.allocator),
                                                     context: context, keepAlive: keepAlive)
                        }
                    }
            case .discarding(let keepAlive):
                if keepAlive {
                    state = .idle
                    arm(context, after: processor.configuration.timeouts.idle)
                } else {
                    context.close(promise: nil)
                }
            case .idle, .working:
                protocolViolation(context)
            case .lingering:
                break
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // On graceful shutdown an idle HTTP/1.1 connection closes now (FIN first, see
        // `lingeringClose`); a busy one after its answer, which says `Connection: close` so the
        // client does not send another request on it.
        if event is HTTP1ShutdownEvent {
            if case .idle = state { lingeringClose(context) } else { quiescing = true }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private var quiescing = false

    /// Ends an HTTP/1.1 connection without a reset: FIN now (the client sees a clean close, and
    /// a request it had already sent on this reused connection is retried on a new one), then
    /// read and drop whatever arrives until the client closes, or close after `linger`.
    private func lingeringClose(_ context: ChannelHandlerContext) {
        state = .lingering
        generation += 1
        context.close(mode: .output, promise: nil)
        arm(context, after: processor.configuration.timeouts.linger)
    }

    /// Writes a complete answer. `complete: false` when the request's body is still to come
    /// (an early error): the state stays `discarding` until its end.
    private func write(_ answer: ServerResponse, context: ChannelHandlerContext, keepAlive: Bool, complete: Bool = true) {
        timer?.cancel()
        timer = nil
        if let current, let metrics = processor.metrics {
            metrics.recordRPC(current.procedure, code: answer.code, duration: ContinuousClock.now - current.started)
            self.current = nil
        }
        var headers = answer.headers
        headers.replaceOrAdd(name: "content-length", value: String(answer.body?.readableBytes ?? 0))
        let close = !keepAlive || answer.closeConnection || quiescing
        if close && !isHTTP2Stream { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
        if let body = answer.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            if isHTTP2Stream {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
            } else {
                // FIN follows the answer in the same flush order; unread body bytes are drained.
                lingeringClose(context)
            }
            return
        }
        guard complete else { return }
        state = .idle
        if !isHTTP2Stream { arm(context, after: processor.configuration.timeouts.idle) }
    }

    private func arm(_ context: ChannelHandlerContext, after duration: Duration) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let expected = generation
        timer = context.eventLoop.scheduleTask(in: TimeAmount(duration)) {
            let (handler, context) = loopBound.value
            guard handler.generation == expected else { return }
            handler.timedOut(context)
        }
    }

    private func timedOut(_ context: ChannelHandlerContext) {
        timer = nil
        switch state {
        case .idle, .discarding, .lingering:
            context.close(promise: nil)
        case .collecting(let pending, _, _, _):
            var answer = ServerResponse.error(.deadline, call: pending.call, allocator: context.channel.allocator)
            answer.closeConnection = true
            state = .discarding(keepAlive: false)
            write(answer, context: context, keepAlive: false)
        case .working(let keepAlive):
            // The work goes on to its end (it holds its admission slot); its answer is dropped.
            generation += 1
            write(.error(.deadline, call: nil, allocator: context.channel.allocator), context: context, keepAlive: keepAlive)
        }
    }

    /// A malformed request (NIO's error handler has answered 400 with `Connection: close`), a
    /// reset stream, a TLS failure: the connection (or HTTP/2 stream) ends here.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The peer's address; for an HTTP/2 stream, its connection's. Rendered once per
    /// connection, not per request (the text form was ~0.4 % of the CPU at batch 1, perf).
    private func remoteIP(_ context: ChannelHandlerContext) -> String {
        if let peerIP { return peerIP }
        let ip = (context.channel.remoteAddress ?? context.channel.parent?.remoteAddress)?.ipAddress ?? ""
        peerIP = ip
        return ip
    }

    private var peerIP: String?

    private func protocolViolation(_ context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Graceful shutdown for an HTTP/1.1 connection, delivered to `HTTPRequestHandler`.
///
/// NIO's `HTTPServerPipelineHandler` consumes `ChannelShouldQuiesceEvent` itself and closes an
/// idle connection outright: a request the client sent at that moment meets a reset instead of
/// the FIN it would retry on. `HTTP1ShutdownTranslator` sits in front of that handler and turns
/// the quiesce event into this one, which passes through it; `HTTPRequestHandler` then ends an
/// idle connection with `lingeringClose` and a busy one after an answer marked `Connection: close`.
struct HTTP1ShutdownEvent: Sendable {}

final class HTTP1ShutdownTranslator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            context.fireUserInboundEventTriggered(HTTP1ShutdownEvent())
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
