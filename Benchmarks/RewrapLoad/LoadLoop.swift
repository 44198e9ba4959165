import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import RewrapBenchKit
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
    let plan: LoadPlan
    private let index: Int
    private let loops: Int
    private let progress: LoadProgress
    let done: EventLoopPromise<LoadResult>

    private var arrivals: ArrivalSchedule.Iterator
    private var upcoming: (index: Int, offset: UInt64)?
    private var start: UInt64 = 0
    private var schedulingDone = false
    var finished = false
    /// The in-flight slots: HTTP/1.1 connections, or HTTP/2 stream slots on `sessions`.
    var connections: [Connection] = []
    var idle: [Connection] = []
    /// HTTP/2: the TCP connections the slots' streams are multiplexed on.
    var sessions: [Session] = []
    /// Due requests waiting for a connection, oldest first (`pendingHead` is the front).
    var pending: [Exchange] = []
    var pendingHead = 0
    var result = LoadResult()
    /// The latencies since the interval log last took them (`takeInterval`).
    private var interval = LatencyRecorder()
    private let writer = TDFWriter()
    private var lastCompletion: UInt64 = 0

    struct Exchange {
        let arrival: Int
        /// Absolute uptime (ns) it was due.
        let due: UInt64
        var retried = false
    }

    /// One in-flight slot and the request on it: a keep-alive HTTP/1.1 connection, or (with
    /// `session`) a slot for one HTTP/2 stream at a time, `channel` being the current stream.
    final class Connection: @unchecked Sendable {
        // @unchecked: owned by one LoadLoop and touched only on its event loop, like the loop's state.
        let target: Int
        let session: Session?
        var channel: (any Channel)?
        var exchange: Exchange?
        var timedOut = false
        var failedConnects = 0
        init(target: Int, session: Session? = nil) {
            self.target = target
            self.session = session
        }
    }

    /// One HTTP/2 connection (h2c with prior knowledge, or h2 by ALPN) and its stream multiplexer.
    final class Session: @unchecked Sendable {
        // @unchecked: as `Connection`.
        let target: Int
        var channel: (any Channel)?
        var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
        var failedConnects = 0
        init(target: Int) { self.target = target }
        var isOpen: Bool { channel != nil && multiplexer != nil }
    }

    let tls: NIOSSLContext?
    /// Per target, the strings each Rewrap carries (made once).
    private let rewrap: [LoadTarget.RewrapStrings]

    init(loop: any EventLoop, plan: LoadPlan, index: Int, loops: Int, progress: LoadProgress, tls: NIOSSLContext?) {
        self.loop = loop
        self.tls = tls
        rewrap = plan.targets.map(\.rewrapStrings)
        self.plan = plan
        self.index = index
        self.loops = loops
        self.progress = progress
        done = loop.makePromise()
        arrivals = plan.schedule.makeIterator()
        let share = max(1, plan.maxInFlight / loops + (index < plan.maxInFlight % loops ? 1 : 0))
        if plan.http2 {
            // At least one connection per target; the slots spread over them.
            let count = max(plan.targets.count, plan.http2Connections)
            sessions = (0..<count).map { Session(target: ($0 * loops + index) % plan.targets.count) }
            connections = (0..<share).map { slot in
                let session = sessions[slot % sessions.count]
                return Connection(target: session.target, session: session)
            }
        } else {
            connections = (0..<share).map { Connection(target: ($0 * loops + index) % plan.targets.count) }
        }
    }

    var outcome: EventLoopFuture<LoadResult> { done.futureResult }

    /// The latencies finished since the last call (for the interval log), and a fresh start.
    func takeInterval() -> EventLoopFuture<LatencyRecorder> {
        loop.submit {
            defer { self.interval = LatencyRecorder() }
            return self.interval
        }
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

    func takePending() -> Exchange? {
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

    func checkDone() {
        guard schedulingDone, !finished, pendingHead == pending.count, connections.allSatisfy({ $0.exchange == nil }) else { return }
        finished = true
        // The window is the schedule's length, or longer when answers ran past its end (a rate
        // from first-to-last alone would overstate it by one gap between arrivals).
        result.seconds = max(Double(max(lastCompletion, start) - start) / 1e9, plan.schedule.duration)
        closeAll()
        done.succeed(result)
    }

    // MARK: one request

    func send(_ exchange: Exchange, on connection: Connection) {
        guard connection.session?.isOpen ?? (connection.channel != nil) else {
            // Its connection is being reopened: the request waits (its latency runs on).
            pending.append(exchange)
            return
        }
        guard let (head, body) = request(for: exchange, targetIndex: connection.target) else {
            release(connection)
            return
        }
        if !exchange.retried {
            let now = NIODeadline.now().uptimeNanoseconds
            result.sent += 1
            progress.sent.add(1, ordering: .relaxed)
            result.sendLag.record(nanoseconds: now > exchange.due ? now - exchange.due : 0)
        }
        connection.exchange = exchange
        write(head: head, body: body, on: connection)
    }

    /// The request for `exchange`: a fresh SRT and DPoP proof, the body encoded and gzipped.
    /// nil (the exchange already failed) if signing failed.
    private func request(for exchange: Exchange, targetIndex: Int) -> (HTTPRequestHead, ByteBuffer)? {
        let target = rewrap[targetIndex]
        let client = plan.clients[exchange.arrival % plan.clients.count]
        let variant = (exchange.arrival / plan.clients.count) % client.srts.count
        let issuedAt = Int64(time(nil))
        let allocator = ByteBufferAllocator()
        var headers = HTTPHeaders()
        do {
            let srt = try client.srts[variant].token(issuedAt: issuedAt)
            var message: ByteBuffer
            switch plan.encoding {
            case .proto:
                message = allocator.buffer(bytes: RewrapRequestProto.encode(signedRequestToken: srt))
                headers.add(name: "Content-Type", value: "application/proto")
            case .json:
                message = allocator.buffer(capacity: srt.utf8.count + 24)
                message.writeStaticString("{\"signedRequestToken\":\"")
                message.writeString(srt)
                message.writeStaticString("\"}")
                headers.add(name: "Content-Type", value: "application/json")
            }
            if plan.gzip {
                message = Gzip.compress(message, allocator: allocator)
                headers.add(name: "Content-Encoding", value: "gzip")
                headers.add(name: "Accept-Encoding", value: "gzip")
            }
            headers.add(name: "Host", value: target.authority)
            headers.add(name: "Connect-Protocol-Version", value: "1")
            headers.add(name: "Content-Length", value: String(message.readableBytes))
            if let token = client.token {
                if let proofs = client.proofs {
                    headers.add(name: "Authorization", value: "DPoP " + token)
                    headers.add(name: "DPoP", value: try proofs.proof(method: "POST", url: target.url, accessToken: token,
                                                                     nonce: client.nonce(target: targetIndex), issuedAt: issuedAt))
                } else {
                    headers.add(name: "Authorization", value: "Bearer " + token)
                }
            }
            return (HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path, headers: headers), message)
        } catch {
            finish(exchange, failure: "signing failed", sample: "\(error)")
            return nil
        }
    }

    /// An answer arrived on `connection`.
    func answered(_ connection: Connection, head: HTTPResponseHead, body: ByteBuffer?) {
        guard var exchange = connection.exchange else { return }
        connection.exchange = nil
        result.answersByVersion[Self.versionName(head.version), default: 0] += 1
        let client = plan.clients[exchange.arrival % plan.clients.count]
        if let nonce = head.headers.first(name: "DPoP-Nonce") { client.setNonce(nonce, target: connection.target) }
        // RFC 9449 §8: a server that wants a nonce answers 401 use_dpop_nonce with one; the
        // client resends once with a fresh proof carrying it.
        if head.status == .unauthorized, !exchange.retried, client.proofs != nil, head.headers.first(name: "DPoP-Nonce") != nil,
           head.headers[canonicalForm: "WWW-Authenticate"].contains(where: { $0.contains("use_dpop_nonce") }) {
            exchange.retried = true
            result.nonceRetries += 1
            if head.isKeepAlive || connection.session != nil { send(exchange, on: connection) } else {
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
        if connection.session != nil {
            // The stream ends with its answer; the slot takes the next request on a new one.
            connection.channel = nil
            release(connection)
        } else if head.isKeepAlive {
            release(connection)
        } else {
            connection.channel?.close(promise: nil)
        }
    }

    /// The name an answer's HTTP version is counted under (no string built per answer).
    private static func versionName(_ version: HTTPVersion) -> String {
        switch (version.major, version.minor) {
        case (1, 1): "HTTP/1.1"
        case (2, 0): "HTTP/2.0"
        default: "HTTP/\(version.major).\(version.minor)"
        }
    }

    private func check(_ exchange: Exchange, head: HTTPResponseHead, body: ByteBuffer?, client: SimulatedClient) {
        let variant = (exchange.arrival / plan.clients.count) % client.srts.count
        let response = AnswerReader.decode(head: head, body: body, encoding: plan.encoding)
        let outcome = client.workload.verify(response, request: variant, writer: writer)
        result.correctness.add(outcome)
        result.checkedResponses += 1
        if outcome.wrongDEKs > 0 { progress.wrongDEKs.add(outcome.wrongDEKs, ordering: .relaxed) }
    }

    func finish(_ exchange: Exchange, failure: String?, sample: @autoclosure () -> String) {
        let now = NIODeadline.now().uptimeNanoseconds
        lastCompletion = max(lastCompletion, now)
        result.latency.record(nanoseconds: now > exchange.due ? now - exchange.due : 0)
        interval.record(nanoseconds: now > exchange.due ? now - exchange.due : 0)
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
