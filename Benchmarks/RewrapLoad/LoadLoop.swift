import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RewrapClient
import RewrapGzip
import RewrapWire

/// One event loop's share of an open-loop run: its arrivals (every `loops`-th of the segment's),
/// its keep-alive connections, and the requests waiting for one.
///
/// Everything runs on the loop's thread: the arrival timer, signing (SRT and DPoP proof), gzip,
/// the write, and the answer's check. Nothing is shared with the other loops but the schedule
/// (each walks it itself) and the progress counters, so a send takes no lock.
final class LoadLoop: @unchecked Sendable {
    // @unchecked: every stored `var` is touched only on `loop`: the entry points (`connect`,
    // `begin`) hop onto it, and the NIO callbacks run on it.
    let loop: any EventLoop
    private let plan: LoadPlan
    private let index: Int
    private let loops: Int
    private let progress: LoadProgress
    private let done: EventLoopPromise<LoadResult>

    private var arrivals: ArrivalSchedule.Iterator
    private var upcoming: (index: Int, offset: UInt64)?
    private var start: UInt64 = 0
    private var schedulingDone = false
    private var finished = false
    private var connections: [Connection] = []
    private var idle: [Connection] = []
    /// Due requests waiting for a connection, oldest first (`pendingHead` is the front).
    private var pending: [Exchange] = []
    private var pendingHead = 0
    private var result = LoadResult()
    private let writer = TDFWriter()
    private var lastCompletion: UInt64 = 0

    struct Exchange {
        let arrival: Int
        /// Absolute uptime (ns) it was due.
        let due: UInt64
        var retried = false
    }

    /// One keep-alive connection and the request on it.
    final class Connection: @unchecked Sendable {
        // @unchecked: owned by one LoadLoop and touched only on its event loop, like the loop's state.
        let target: Int
        var channel: (any Channel)?
        var exchange: Exchange?
        var timedOut = false
        var failedConnects = 0
        init(target: Int) { self.target = target }
    }

    private let tls: NIOSSLContext?

    init(loop: any EventLoop, plan: LoadPlan, index: Int, loops: Int, progress: LoadProgress, tls: NIOSSLContext?) {
        self.loop = loop
        self.tls = tls
        self.plan = plan
        self.index = index
        self.loops = loops
        self.progress = progress
        done = loop.makePromise()
        arrivals = plan.schedule.makeIterator()
        let share = max(1, plan.maxInFlight / loops + (index < plan.maxInFlight % loops ? 1 : 0))
        connections = (0..<share).map { Connection(target: ($0 * loops + index) % plan.targets.count) }
    }

    var outcome: EventLoopFuture<LoadResult> { done.futureResult }

    // MARK: connections

    /// Opens every connection before the clock starts; fails with the first that cannot connect.
    func connect() -> EventLoopFuture<Void> {
        loop.flatSubmit {
            let opened = self.connections.map { self.open($0) }
            return EventLoopFuture.andAllSucceed(opened, on: self.loop)
        }
    }

    /// The run will not start (a connection failed): closes what opened and settles the result.
    func abandon(_ error: any Error) {
        loop.execute {
            self.finished = true
            for connection in self.connections { connection.channel?.close(promise: nil) }
            self.done.fail(error)
        }
    }

    private func open(_ connection: Connection) -> EventLoopFuture<Void> {
        let target = plan.targets[connection.target]
        let tls = target.tls ? self.tls : nil
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: target.serverName))
                    }
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

    /// A connection closed (by the server, an error, or our timeout): its request fails, and it
    /// is reopened unless the run is over.
    func closed(_ connection: Connection) {
        connection.channel = nil
        idle.removeAll { $0 === connection }
        if let exchange = connection.exchange {
            connection.exchange = nil
            finish(exchange, failure: connection.timedOut ? "timeout" : "connection closed",
                   sample: connection.timedOut ? "no answer within \(plan.timeout) s of the intended send time"
                                               : "the server closed the connection before answering")
        }
        connection.timedOut = false
        guard !finished else { return }
        let delay: TimeAmount = connection.failedConnects == 0 ? .zero : .milliseconds(100)
        loop.scheduleTask(in: delay) {
            guard !self.finished else { return }
            self.result.reconnects += 1
            self.open(connection).whenFailure { _ in
                connection.failedConnects += 1
                self.closed(connection)
            }
        }
    }

    private func release(_ connection: Connection) {
        if let next = takePending() { send(next, on: connection) } else { idle.append(connection) }
        checkDone()
    }

    // MARK: the schedule

    /// Starts the clock at `start` (absolute uptime ns, the same for every loop).
    func begin(at start: UInt64) {
        loop.execute {
            self.start = start
            self.upcoming = self.nextArrival()
            self.tick()
            self.sweep()
        }
    }

    private func nextArrival() -> (index: Int, offset: UInt64)? {
        let count = plan.schedule.segment.count
        while let arrival = arrivals.next() {
            if (arrival.index / count) % loops == index { return arrival }
        }
        return nil
    }

    /// Sends (or queues) every arrival that is due, then sleeps until the next.
    private func tick() {
        let now = NIODeadline.now().uptimeNanoseconds
        while let arrival = upcoming, start + arrival.offset <= now {
            result.scheduled += 1
            let exchange = Exchange(arrival: arrival.index, due: start + arrival.offset)
            if let connection = idle.popLast() { send(exchange, on: connection) } else { pending.append(exchange) }
            upcoming = nextArrival()
        }
        if let arrival = upcoming {
            loop.scheduleTask(deadline: .uptimeNanoseconds(start + arrival.offset)) { self.tick() }
        } else {
            schedulingDone = true
            checkDone()
        }
    }

    private func takePending() -> Exchange? {
        guard pendingHead < pending.count else { return nil }
        let next = pending[pendingHead]
        pendingHead += 1
        if pendingHead > 1024, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        return next
    }

    /// Every 50 ms: requests past their timeout fail (waiting ones here, in-flight ones by closing
    /// their connection), so a run ends at most `timeout` after its last arrival.
    private func sweep() {
        guard !finished else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        let limit = UInt64(plan.timeout * 1e9)
        while pendingHead < pending.count, now - pending[pendingHead].due > limit, let stale = takePending() {
            finish(stale, failure: "timeout", sample: "no connection was free within \(plan.timeout) s of the intended send time")
        }
        for connection in connections {
            if let exchange = connection.exchange, now - exchange.due > limit, !connection.timedOut {
                connection.timedOut = true
                connection.channel?.close(promise: nil)
            }
        }
        checkDone()
        loop.scheduleTask(in: .milliseconds(50)) { self.sweep() }
    }

    private func checkDone() {
        guard schedulingDone, !finished, pendingHead == pending.count, connections.allSatisfy({ $0.exchange == nil }) else { return }
        finished = true
        // The window is the schedule's length, or longer when answers ran past its end (a rate
        // from first-to-last alone would overstate it by one gap between arrivals).
        result.seconds = max(Double(max(lastCompletion, start) - start) / 1e9, plan.schedule.duration)
        for connection in connections { connection.channel?.close(promise: nil) }
        done.succeed(result)
    }

    // MARK: one request

    private func send(_ exchange: Exchange, on connection: Connection) {
        guard let channel = connection.channel else {
            pending.append(exchange)
            return
        }
        let clientIndex = exchange.arrival % plan.clients.count
        let client = plan.clients[clientIndex]
        let target = plan.targets[connection.target]
        let variant = (exchange.arrival / plan.clients.count) % client.srts.count
        let now = NIODeadline.now().uptimeNanoseconds
        let issuedAt = Int64(time(nil))
        var headers = HTTPHeaders()
        let body: ByteBuffer
        do {
            let srt = try client.srts[variant].token(issuedAt: issuedAt)
            var message: ByteBuffer
            switch plan.encoding {
            case .proto:
                message = channel.allocator.buffer(bytes: RewrapRequestProto.encode(signedRequestToken: srt))
                headers.add(name: "Content-Type", value: "application/proto")
            case .json:
                message = channel.allocator.buffer(capacity: srt.utf8.count + 24)
                message.writeStaticString("{\"signedRequestToken\":\"")
                message.writeString(srt)
                message.writeStaticString("\"}")
                headers.add(name: "Content-Type", value: "application/json")
            }
            if plan.gzip {
                message = Gzip.compress(message, allocator: channel.allocator)
                headers.add(name: "Content-Encoding", value: "gzip")
                headers.add(name: "Accept-Encoding", value: "gzip")
            }
            body = message
            headers.add(name: "Host", value: target.authority)
            headers.add(name: "Connect-Protocol-Version", value: "1")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            if let token = client.token {
                if let proofs = client.proofs {
                    headers.add(name: "Authorization", value: "DPoP " + token)
                    headers.add(name: "DPoP", value: try proofs.proof(method: "POST", url: target.url(KASProcedure.rewrap), accessToken: token,
                                                                     nonce: client.nonce(target: connection.target), issuedAt: issuedAt))
                } else {
                    headers.add(name: "Authorization", value: "Bearer " + token)
                }
            }
        } catch {
            finish(exchange, failure: "signing failed", sample: "\(error)")
            release(connection)
            return
        }
        if !exchange.retried {
            result.sent += 1
            progress.sent.add(1, ordering: .relaxed)
            result.sendLag.record(nanoseconds: now > exchange.due ? now - exchange.due : 0)
        }
        connection.exchange = exchange
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path(KASProcedure.rewrap), headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// An answer arrived on `connection`.
    func answered(_ connection: Connection, head: HTTPResponseHead, body: ByteBuffer?) {
        guard var exchange = connection.exchange else { return }
        connection.exchange = nil
        let client = plan.clients[exchange.arrival % plan.clients.count]
        if let nonce = head.headers.first(name: "DPoP-Nonce") { client.setNonce(nonce, target: connection.target) }
        // RFC 9449 §8: a server that wants a nonce answers 401 use_dpop_nonce with one; the
        // client resends once with a fresh proof carrying it.
        if head.status == .unauthorized, !exchange.retried, client.proofs != nil, head.headers.first(name: "DPoP-Nonce") != nil,
           head.headers[canonicalForm: "WWW-Authenticate"].contains(where: { $0.contains("use_dpop_nonce") }) {
            exchange.retried = true
            result.nonceRetries += 1
            if head.isKeepAlive { send(exchange, on: connection) } else {
                pending.insert(exchange, at: pendingHead)
                connection.channel?.close(promise: nil)
            }
            return
        }
        if head.status == .ok {
            if plan.checkEvery > 0, exchange.arrival % plan.checkEvery == 0 {
                check(exchange, head: head, body: body, client: client)
            }
            finish(exchange, failure: nil, sample: "")
        } else {
            let kind = AnswerReader.failureKind(head: head, body: body)
            finish(exchange, failure: kind.kind, sample: kind.sample)
        }
        if head.isKeepAlive { release(connection) } else { connection.channel?.close(promise: nil) }
    }

    private func check(_ exchange: Exchange, head: HTTPResponseHead, body: ByteBuffer?, client: SimulatedClient) {
        let variant = (exchange.arrival / plan.clients.count) % client.srts.count
        let response = AnswerReader.decode(head: head, body: body, encoding: plan.encoding)
        let outcome = client.workload.verify(response, request: variant, writer: writer)
        result.correctness.add(outcome)
        result.checkedResponses += 1
        if outcome.wrongDEKs > 0 { progress.wrongDEKs.add(outcome.wrongDEKs, ordering: .relaxed) }
    }

    private func finish(_ exchange: Exchange, failure: String?, sample: @autoclosure () -> String) {
        let now = NIODeadline.now().uptimeNanoseconds
        lastCompletion = max(lastCompletion, now)
        result.latency.record(nanoseconds: now > exchange.due ? now - exchange.due : 0)
        if let failure {
            result.fail(failure, sample: sample())
            progress.failed.add(1, ordering: .relaxed)
        } else {
            result.succeeded += 1
            result.kaos += plan.batch
            progress.succeeded.add(1, ordering: .relaxed)
        }
    }
}
