import NIOCore

/// Closes the listening socket only once the connections the kernel has already completed are
/// accepted and set up, so that they are served rather than reset.
///
/// Two things would drop them. Linux resets every connection still in a listening socket's
/// accept queue when it closes: the client's connect has succeeded and its request is sent,
/// then it reads "connection reset by peer" (seen under load in `ServeCLITests`' SIGTERM test).
/// And NIO's `ServerBootstrap` sets up a connection accepted for another event loop on that
/// loop, then closes it if the listener is no longer active by the time the setup is back.
/// So the shutdown waits for an accept pass (`channelReadComplete`: the queue was read until
/// empty), then for every connection accepted to come out of NIO's accept handler, and closes
/// in that event-loop turn; with nothing queued it closes after `fallback`, which also bounds
/// the wait. Left is the few microseconds between the last accept and the close: a kernel race
/// no user-space server removes.
///
/// This handler goes in front of NIO's accept handler (the server channel's initializer adds
/// it); `deliveryCounter()` goes behind it, added once the server is bound.
final class AcceptQueueDrain: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private var accepted = 0
    private var delivered = 0
    private var passCompleted = false
    private var waiting: (() -> Void)?
    private var timer: Scheduled<Void>?
    private let fallback: TimeAmount

    init(fallback: TimeAmount = .milliseconds(100)) {
        self.fallback = fallback
    }

    /// Calls `then` (which closes the listener) on the event loop once the accept queue is
    /// drained, or after `fallback`.
    func closeAfterDraining(_ context: ChannelHandlerContext, then: @escaping () -> Void) {
        waiting = then
        passCompleted = false
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: fallback) { loopBound.value.release() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        accepted += 1
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        if waiting != nil {
            passCompleted = true
            releaseIfDrained()
        }
    }

    /// The handler behind NIO's accept handler: it sees each connection once set up (or the
    /// error of one that failed).
    func deliveryCounter() -> some ChannelHandler { Delivered(drain: self) }

    fileprivate func deliveredOne() {
        delivered += 1
        releaseIfDrained()
    }

    private func releaseIfDrained() {
        if passCompleted && delivered >= accepted { release() }
    }

    private func release() {
        timer?.cancel()
        timer = nil
        let then = waiting
        waiting = nil
        then?()
    }

    private final class Delivered: ChannelInboundHandler {
        typealias InboundIn = NIOAny
        let drain: AcceptQueueDrain

        init(drain: AcceptQueueDrain) { self.drain = drain }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.fireChannelRead(data)
            drain.deliveredOne()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.fireErrorCaught(error)
            drain.deliveredOne()
        }
    }
}
