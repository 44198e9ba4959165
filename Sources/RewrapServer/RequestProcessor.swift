import Foundation
import Logging
import NIOCore
import Prometheus
import NIOHTTP1
import RewrapEngine
import RewrapGzip
import RewrapProto

/// From a request head to its answer: routing, the Connect rules, admission, and the RPCs.
/// Transport-neutral: the HTTP/1.1 connection handler and every HTTP/2 stream call it alike.
final class RequestProcessor: Sendable {
    let prefix: String
    let configuration: ServerConfiguration
    let admission: Admission
    let health: HealthService
    let publicKeys: PublicKeyService
    let rewrap: RewrapService
    let threads: EngineThreads
    let logger: Logger
    let metrics: ServerMetrics?
    let prometheus: PrometheusCollectorRegistry?

    let connections: OpenConnections

    init(configuration: ServerConfiguration, engine: RewrapEngine, directory: any PublicKeyDirectory, connections: OpenConnections,
         authentication: any RewrapAuthentication, health: HealthService, metrics: KASServer.Metrics?, logger: Logger, audit: Logger) {
        self.prefix = configuration.normalizedPrefix
        self.connections = connections
        self.configuration = configuration
        self.admission = Admission(maxRequests: configuration.limits.maxRequestsInFlight, maxKAOs: configuration.limits.maxQueuedKAOs)
        self.health = health
        self.publicKeys = PublicKeyService(directory: directory)
        self.metrics = metrics.map { ServerMetrics(factory: $0.factory, samplers: $0.samplers) }
        self.prometheus = metrics?.prometheus
        self.rewrap = RewrapService(engine: engine, authentication: authentication, metrics: self.metrics,
                                    audit: audit)
        self.threads = engine.threads
        self.logger = logger
    }

    /// What a request head leads to: an answer now, or a body to read first.
    enum Begin {
        case respond(ServerResponse)
        case collect(Pending)
    }

    struct Pending: Sendable {
        var route: Route
        var call: ConnectCall?
        var ticket: Admission.Ticket?
        var facts: CallFacts?
        var query: Substring
        /// The deadline the answer must meet (the request timeout, or a shorter Connect-Timeout-Ms).
        var timeout: Duration
    }

    /// A request head's route and query, resolved once per request (the handler labels its
    /// metrics with the route before `begin`).
    func route(_ head: HTTPRequestHead) -> (route: Route, query: Substring) {
        let uri = head.uri.utf8.split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false)
        let path = Substring(head.uri)[uri[0].startIndex..<uri[0].endIndex]
        let query = uri.count > 1 ? Substring(head.uri)[uri[1].startIndex..<uri[1].endIndex] : ""
        return (Route.resolve(path: path, prefix: prefix), query)
    }

    func begin(_ head: HTTPRequestHead, route: Route, query: Substring, remoteIP: String, allocator: ByteBufferAllocator) -> Begin {
        var pending = Pending(route: route, query: query, timeout: configuration.timeouts.request)
        switch route {
        case .notFound:
            return .respond(.notFound(allocator: allocator))
        case .healthz:
            guard head.method == .GET || head.method == .HEAD else {
                return .respond(ServerResponse(status: .methodNotAllowed, headers: ["Allow": "GET"]))
            }
            return .collect(pending)
        case .metrics:
            guard prometheus != nil else { return .respond(.notFound(allocator: allocator)) }
            guard head.method == .GET else { return .respond(ServerResponse(status: .methodNotAllowed, headers: ["Allow": "GET"])) }
            return .collect(pending)
        case .rpc(let procedure):
            let call: ConnectCall
            switch ConnectCall.start(head, procedure: procedure, query: query, allocator: allocator) {
            case .call(let started): call = started
            case .answer(let answer): return .respond(answer)
            }
            pending.call = call
            if let timeout = call.timeout, timeout < pending.timeout { pending.timeout = timeout }
            if procedure == .rewrap {
                guard let ticket = admission.admitRequest() else {
                    metrics?.count("rewrap_admission_refused_total", [("bound", "requests")])
                    return .respond(.error(.busy, call: call, allocator: allocator))
                }
                pending.ticket = ticket
                pending.facts = CallFacts(
                    method: head.method.rawValue, authority: head.headers.first(name: "host") ?? "",
                    procedurePath: procedure.rawValue, authorization: head.headers["authorization"],
                    dpop: head.headers["dpop"],
                    requestID: RequestID.make(from: head.headers.first(name: "x-request-id")),
                    userAgent: String(head.headers.first(name: "user-agent")?.prefix(256) ?? ""), remoteIP: remoteIP)
            }
            return .collect(pending)
        }
    }

    /// The answer to a complete request. Work that grows with what the client sent — inflating a
    /// gzip body (up to the 16 MiB limit: tens of milliseconds), and every Rewrap — runs on the
    /// engine's threads, which complete the future; an uncompressed cheap RPC is answered on the
    /// calling event loop.
    func finish(_ pending: Pending, body: ByteBuffer, eventLoop: any EventLoop) -> EventLoopFuture<ServerResponse> {
        let allocator = ByteBufferAllocator()
        guard let call = pending.call else {
            if pending.route == .metrics { return eventLoop.makeSucceededFuture(exposition(allocator: allocator)) }
            return eventLoop.makeSucceededFuture(healthz(query: pending.query, allocator: allocator))
        }
        let message = call.queryMessage ?? body
        // A zero-length body is never decompressed (kas-server.md §2.4).
        let inflate = call.requestIsGzip && message.readableBytes > 0
        guard inflate || call.procedure == .rewrap else {
            return eventLoop.makeSucceededFuture(cheapAnswer(call, message: message, allocator: allocator))
        }
        let promise = eventLoop.makePromise(of: ServerResponse.self)
        Task(executorPreference: threads) {
            var message = message
            if inflate {
                switch self.inflated(message, allocator: allocator) {
                case .success(let inflated): message = inflated
                case .failure(let error):
                    pending.ticket?.release()
                    return promise.succeed(.error(error, call: call, allocator: allocator))
                }
            }
            guard call.procedure == .rewrap else { return promise.succeed(self.cheapAnswer(call, message: message, allocator: allocator)) }
            promise.succeed(await self.rewrapAnswer(pending, call: call, message: message, allocator: allocator))
        }
        return promise.futureResult
    }

    /// A gzip body inflated within the message limit, or the Connect error that refuses it.
    private func inflated(_ message: ByteBuffer, allocator: ByteBufferAllocator) -> Result<ByteBuffer, ConnectError> {
        let limit = configuration.limits.maxMessageBytes
        do throws(Gzip.Failure) {
            return .success(try Gzip.decompress(message, limit: limit, allocator: allocator))
        } catch .tooLarge(let size) {
            return .failure(.messageTooLarge(size, limit: limit))
        } catch {
            return .failure(ConnectError(.invalidArgument, "decompress message: invalid gzip"))
        }
    }

    /// Rewrap, on the engine's threads: the service's outcome as an answer; the admission
    /// ticket is released once the work is done.
    private func rewrapAnswer(_ pending: Pending, call: ConnectCall, message: ByteBuffer, allocator: ByteBufferAllocator) async -> ServerResponse {
        guard let ticket = pending.ticket, let facts = pending.facts else {
            pending.ticket?.release()
            return .error(.internalError, call: call, allocator: allocator)
        }
        let outcome = await rewrap.rewrap(message: message, codec: call.codec, facts: facts, ticket: ticket)
        ticket.release()
        var answer = Self.answer(outcome.body, call: call, threshold: configuration.limits.compressionThreshold, allocator: allocator)
        for (name, value) in outcome.headers { answer.headers.add(name: name, value: value) }
        return answer
    }

    /// PublicKey, LegacyPublicKey and Health: small answers from what the server holds.
    private func cheapAnswer(_ call: ConnectCall, message: ByteBuffer, allocator: ByteBufferAllocator) -> ServerResponse {
        let threshold = configuration.limits.compressionThreshold
        switch call.procedure {
        case .rewrap:
            return .error(.internalError, call: call, allocator: allocator)
        case .publicKey:
            return Self.answer(Result { () throws(ConnectError) in
                let request = try MessageCodec.decode(Kas_PublicKeyRequest.self, from: message, codec: call.codec)
                return MessageCodec.encode(try publicKeys.publicKey(request), codec: call.codec)
            }, call: call, threshold: threshold, allocator: allocator)
        case .legacyPublicKey:
            return Self.answer(Result { () throws(ConnectError) in
                let request = try MessageCodec.decode(Kas_LegacyPublicKeyRequest.self, from: message, codec: call.codec)
                return MessageCodec.encode(try publicKeys.legacyPublicKey(request), codec: call.codec)
            }, call: call, threshold: threshold, allocator: allocator)
        case .healthCheck:
            return Self.answer(Result { () throws(ConnectError) in
                let request = try MessageCodec.decode(Grpc_Health_V1_HealthCheckRequest.self, from: message, codec: call.codec)
                return MessageCodec.encode(health.check(request), codec: call.codec)
            }, call: call, threshold: threshold, allocator: allocator)
        }
    }

    /// A success body (gzipped when the client accepts it and it is worth it) or a Connect error.
    static func answer(_ result: Result<[UInt8], ConnectError>, call: ConnectCall, threshold: Int,
                       allocator: ByteBufferAllocator) -> ServerResponse {
        switch result {
        case .failure(let error):
            return .error(error, call: call, allocator: allocator)
        case .success(let bytes):
            var headers = call.responseHeaders(success: true)
            var body = allocator.buffer(bytes: bytes)
            if call.responseMayGzip && bytes.count >= threshold {
                body = Gzip.compress(body, allocator: allocator)
                headers.add(name: "Content-Encoding", value: "gzip")
            }
            return ServerResponse(status: .ok, headers: headers, body: body)
        }
    }

    /// `GET /metrics`: sampled totals and gauges brought up to date, then the registry's text.
    private func exposition(allocator: ByteBufferAllocator) -> ServerResponse {
        guard let prometheus else { return .notFound(allocator: allocator) }
        if let metrics {
            metrics.sample()
            metrics.inFlight.record(admission.requestsInFlight)
            metrics.queuedKAOs.record(admission.kaosQueued)
            metrics.connections.record(connections.count)
        }
        return ServerResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                              body: allocator.buffer(bytes: prometheus.emitToBuffer()))
    }

    /// `GET /healthz[?service=…]`: `{"status":"SERVING"}` with 200, any other status with 503.
    private func healthz(query: Substring, allocator: ByteBufferAllocator) -> ServerResponse {
        let status = health.status(service: QueryString.parse(query)["service"] ?? "")
        let name = switch status {
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        default: "UNKNOWN"
        }
        return ServerResponse(status: status == .serving ? .ok : .serviceUnavailable, headers: ["Content-Type": "application/json"],
                              body: allocator.buffer(string: "{\"status\":\"\(name)\"}"))
    }
}
