import Foundation

/// What `rewrap serve` is told: listener, TLS, limits, timeouts. Names follow the Go KAS's
/// settings where it has them (kas-server.md §6); defaults are the Go KAS's where they exist,
/// else what a demanding operator would pick, each with its reason.
public struct ServerConfiguration: Sendable {
    /// `server.host`; "" means every interface, as the Go KAS does.
    public var host = "127.0.0.1"
    /// `server.port`; 0 picks a free port (tests).
    public var port = 8080
    /// A routing prefix the KAS also answers under (`/kas` serves `/kas/kas.AccessService/…`);
    /// the root always works (kas-server.md §1.3). Never a redirect.
    public var routingPrefix = ""
    /// `server.tls.{enabled,cert,key}`: PEM files; ALPN offers `h2` and `http/1.1`.
    public var tls: TLS?

    public struct TLS: Sendable, Equatable {
        public var certificateChainPath: String
        public var privateKeyPath: String
        public init(certificateChainPath: String, privateKeyPath: String) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
        }
    }

    /// `server.event_loops`: threads that do the network I/O and HTTP (the engine's CPU work
    /// runs on threads of its own, one per core). Default: half the cores, at least one. A
    /// batch-1 Rewrap spends about a quarter of its server CPU here (perf), so half the cores
    /// keep up; one loop per core put more threads than cores in play and cost ~5 % more CPU
    /// per request on a 2-vCPU VM (P-256 batch 1, `rewrap-bench server`, 510–515 against
    /// 534–547 µs).
    public var eventLoops = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    public var limits = Limits()
    public var timeouts = Timeouts()

    public struct Limits: Sendable {
        /// Largest request body on the wire and again after gzip (kas-server.md §2.4: default
        /// ≥ 16 MiB, bulk decrypt sends one policy per TDF in one request).
        public var maxMessageBytes = 16 << 20
        /// Rewrap requests being worked on at once; one more is answered `resource_exhausted`
        /// at once instead of waiting. Default: 64 per core, enough to keep every engine
        /// thread busy behind slow clients, few enough that a burst queues for well under the
        /// request timeout.
        public var maxRequestsInFlight = 64 * ProcessInfo.processInfo.activeProcessorCount
        /// KAOs admitted and not yet answered, over all requests: the engine's queue. At about
        /// 1,000–3,000 KAOs per second per core, the default is a few seconds of work.
        public var maxQueuedKAOs = 4096 * ProcessInfo.processInfo.activeProcessorCount
        /// Open connections; a new one beyond is closed at once.
        public var maxConnections = 10_000
        /// HTTP/2 streams a client may open at once on one connection.
        public var maxConcurrentStreams = 256
        /// Gzip responses from this size up (identity below: compressing a 300-byte answer costs
        /// more than it saves; kas-server.md §2.4 allows a threshold).
        public var compressionThreshold = 1024

        public init() {}
    }

    public struct Timeouts: Sendable {
        /// From connection (or previous answer) to a complete request head: a client that
        /// trickles its headers is cut off (Go's ReadTimeout is 10 s).
        public var readHeader: Duration = .seconds(10)
        /// A keep-alive connection with no request in progress is closed after this.
        public var idle: Duration = .seconds(60)
        /// From the request head to the answer, body upload included; a `Connect-Timeout-Ms`
        /// is clamped to it. Below Go's 10 s write timeout so the answer is never lost.
        public var request: Duration = .seconds(9)
        /// On SIGTERM: in-flight requests get this long to finish (Go: 5 s), then connections close.
        public var shutdownGrace: Duration = .seconds(5)
        /// After the server's last answer on an HTTP/1.1 connection it sends FIN and reads (and
        /// drops) what the client still sends for at most this long before closing: closing with
        /// unread bytes makes the kernel send RST, which can destroy the answer in flight or turn
        /// a client's clean "server closed, retry" into "connection reset" (RFC 9112 §9.6).
        public var linger: Duration = .seconds(2)

        public init() {}
    }

    public init() {}

    /// The routing prefix normalised: "" or "/segment…" without a trailing slash.
    public var normalizedPrefix: String {
        var prefix = routingPrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty && !prefix.hasPrefix("/") { prefix = "/" + prefix }
        return prefix
    }
}
