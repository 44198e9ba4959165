import Foundation
import RewrapAWSWire
import RewrapCrypto
import RewrapWire
import Synchronization

/// Why a KMS call failed, after retries.
public enum KMSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A 4xx answer other than throttling: not retried. `code` is AWS's (e.g. InvalidCiphertextException).
    case rejected(code: String, message: String)
    /// Throttled, 5xx, connection failures or timeouts on every attempt.
    case unavailable(String)
    /// The retry budget is spent (an outage must not multiply the load on KMS).
    case retryBudgetExhausted
    case deadlineExceeded

    public var description: String {
        switch self {
        case .rejected(let code, let message): return "KMS rejected the request: \(code): \(message)"
        case .unavailable(let why): return "KMS unavailable: \(why)"
        case .retryBudgetExhausted: return "KMS unavailable: retry budget exhausted"
        case .deadlineExceeded: return "KMS unavailable: deadline exceeded"
        }
    }

    /// Errors that say the input was wrong (so the KAO is `bad request`), as opposed to KMS
    /// trouble (an internal error, never a wrong DEK).
    public var isInputRejection: Bool {
        guard case .rejected(let code, _) = self else { return false }
        return ["InvalidCiphertextException", "IncorrectKeyException", "ValidationException", "InvalidKeyUsageException"].contains(code)
    }
}

/// kms.md §5.4's client discipline.
public struct KMSRetryPolicy: Sendable {
    public var maxAttempts = 3
    public var perAttemptTimeout: Duration = .seconds(2)
    public var deadline: Duration = .seconds(5)
    /// Full jitter: sleep uniform(0, min(maxBackoff, baseBackoff · 2^attempt)).
    public var baseBackoff: Duration = .milliseconds(25)
    public var maxBackoff: Duration = .seconds(1)
    /// Retry budget, as AWS SDKs' retry quota: a retry spends `retryCost` (timeouts
    /// `timeoutCost`), a success returns `successRefund`, up to `budget`.
    public var budget = 500
    public var retryCost = 5
    public var timeoutCost = 10
    public var successRefund = 1
    /// Adaptive attempt timeout: once `adaptiveTimeoutSamples` answers are seen, an attempt may
    /// take `adaptiveTimeoutMultiplier` × their p99 (at least `minimumAttemptTimeout`, at most
    /// `perAttemptTimeout`). A stalled call then costs a few p99s, not seconds, before its retry.
    public var adaptiveTimeoutMultiplier = 4.0
    public var adaptiveTimeoutSamples = 200
    public var minimumAttemptTimeout: Duration = .milliseconds(250)

    public init() {}
}

/// An AWS KMS client for the operations a KAS needs: SigV4-signed AWS JSON 1.1 requests,
/// retries with full-jitter backoff and a retry budget, at most `maxInFlight` requests in flight
/// to the endpoint, a send rate that adapts to throttling, and cached public keys.
public final class KMSClient: Sendable {
    public let transport: any KMSTransport
    public let signer: SigV4
    public let host: String
    public let policy: KMSRetryPolicy
    private let inFlight: AsyncLimiter
    private let pacing = AdaptiveRateLimiter()
    private let latencies: LatencyWindow
    private let budget: Mutex<Int>
    private let publicKeys = Mutex<[String: KMSWire.GetPublicKeyResponse]>([:])
    private let stats = Mutex(Stats())

    public struct Stats: Sendable, Equatable, Codable {
        public var calls = 0
        public var attempts = 0
        public var retries = 0
        public var throttled = 0
        public var failures = 0
    }

    public init(transport: any KMSTransport, host: String, region: String, credentials: SigV4.Credentials,
                policy: KMSRetryPolicy = KMSRetryPolicy(), maxInFlight: Int = 64) {
        self.transport = transport
        self.host = host
        self.signer = SigV4(credentials: credentials, region: region, service: "kms")
        self.policy = policy
        self.inFlight = AsyncLimiter(limit: maxInFlight)
        self.budget = Mutex(policy.budget)
        self.latencies = LatencyWindow(capacity: max(policy.adaptiveTimeoutSamples, 1))
    }

    /// The timeout the next attempt gets.
    public var attemptTimeout: Duration {
        Self.attemptTimeout(p99: latencies.p99(minimumSamples: policy.adaptiveTimeoutSamples), policy: policy)
    }

    static func attemptTimeout(p99: Duration?, policy: KMSRetryPolicy) -> Duration {
        guard let p99 else { return policy.perAttemptTimeout }
        return min(policy.perAttemptTimeout, max(policy.minimumAttemptTimeout, p99 * policy.adaptiveTimeoutMultiplier))
    }

    public var statistics: Stats { stats.withLock { $0 } }

    /// The send rate the client has learned (infinity until KMS first throttles).
    public var sendRate: Double { pacing.currentRate }

    // MARK: Operations

    /// RSA-OAEP-SHA1 decrypt of a KAO's wrapped key, by the KMS key `keyID`.
    public func decrypt(keyID: String, ciphertext: [UInt8], algorithm: String = "RSAES_OAEP_SHA_1") async throws(KMSError) -> SecureBytes {
        let response: KMSWire.DecryptResponse = try await call(
            .decrypt, KMSWire.DecryptRequest(KeyId: keyID, CiphertextBlob: Base64.encode(ciphertext), EncryptionAlgorithm: algorithm))
        return try secret(response.Plaintext)
    }

    /// Encrypts `plaintext` under `keyID` (SYMMETRIC_DEFAULT by default): how a provider key
    /// wraps private keys for PROVIDER_ROOT_KEY mode.
    public func encrypt(keyID: String, plaintext: [UInt8], algorithm: String = "SYMMETRIC_DEFAULT") async throws(KMSError) -> [UInt8] {
        let response: KMSWire.EncryptResponse = try await call(
            .encrypt, KMSWire.EncryptRequest(KeyId: keyID, Plaintext: Base64.encode(plaintext), EncryptionAlgorithm: algorithm))
        guard let blob = Base64.decode(response.CiphertextBlob, options: .protoJSON) else {
            throw .unavailable("KMS returned a ciphertext that is not base64")
        }
        return blob
    }

    /// The raw ECDH shared secret (x-coordinate) with the peer `spki` (DER, uncompressed).
    public func deriveSharedSecret(keyID: String, peerSPKI: [UInt8]) async throws(KMSError) -> SecureBytes {
        let response: KMSWire.DeriveSharedSecretResponse = try await call(
            .deriveSharedSecret, KMSWire.DeriveSharedSecretRequest(KeyId: keyID, PublicKey: Base64.encode(peerSPKI)))
        return try secret(response.SharedSecret)
    }

    /// The key's public key (cached: GetPublicKey has its own, low quota).
    public func getPublicKey(keyID: String) async throws(KMSError) -> KMSWire.GetPublicKeyResponse {
        if let cached = publicKeys.withLock({ $0[keyID] }) { return cached }
        let response: KMSWire.GetPublicKeyResponse = try await call(.getPublicKey, KMSWire.KeyIDRequest(KeyId: keyID))
        publicKeys.withLock { $0[keyID] = response }
        return response
    }

    public func createKey(spec: KMSWire.KeySpec, usage: KMSWire.KeyUsage) async throws(KMSError) -> KMSWire.KeyMetadata {
        let response: KMSWire.KeyMetadataResponse = try await call(.createKey, KMSWire.CreateKeyRequest(KeySpec: spec, KeyUsage: usage))
        return response.KeyMetadata
    }

    public func describeKey(keyID: String) async throws(KMSError) -> KMSWire.KeyMetadata {
        let response: KMSWire.KeyMetadataResponse = try await call(.describeKey, KMSWire.KeyIDRequest(KeyId: keyID))
        return response.KeyMetadata
    }

    private func secret(_ base64: String) throws(KMSError) -> SecureBytes {
        var bytes = Base64.decode(base64, options: .protoJSON) ?? []
        defer { secureWipe(&bytes) }
        guard !bytes.isEmpty else { throw .unavailable("KMS returned an empty secret") }
        return SecureBytes(copying: bytes)
    }

    // MARK: The call loop

    /// Sends `operation` with retries. Retried: throttling, 5xx, connection errors, timeouts.
    public func call<Request: Encodable, Response: Decodable>(
        _ operation: KMSWire.Operation, _ request: Request
    ) async throws(KMSError) -> Response {
        let body = KMSWire.encode(request)
        let start = ContinuousClock.now
        stats.withLock { $0.calls += 1 }
        var lastFailure = "no attempt"
        for attempt in 0..<policy.maxAttempts {
            if attempt > 0 {
                let timedOut = lastFailure == "timeout"
                guard spendBudget(timedOut ? policy.timeoutCost : policy.retryCost) else {
                    stats.withLock { $0.failures += 1 }
                    throw .retryBudgetExhausted
                }
                stats.withLock { $0.retries += 1 }
                try? await Task.sleep(for: backoff(attempt))
            }
            let remaining = policy.deadline - (ContinuousClock.now - start)
            guard remaining > .zero else {
                stats.withLock { $0.failures += 1 }
                throw .deadlineExceeded
            }
            let headers = signer.signedHeaders(
                method: "POST", path: "/",
                headers: [("Host", host), ("Content-Type", KMSWire.contentType), ("X-Amz-Target", operation.target)],
                body: body, date: Date())
            stats.withLock { $0.attempts += 1 }
            // Pace inside the in-flight slot, so the rate's generation is taken when the request
            // actually leaves and a throttle answers the rate that sent it.
            let timeout = min(attemptTimeout, remaining)
            let (generation, outcome) = await inFlight.run { () async -> (Int, Result<KMSHTTPResponse, KMSTransportError>) in
                let generation = await pacing.acquire()
                let sent = ContinuousClock.now
                do {
                    let response = try await transport.send(KMSHTTPRequest(headers: headers, body: body, timeout: timeout))
                    if response.status == 200 { latencies.record(ContinuousClock.now - sent) }
                    return (generation, .success(response))
                } catch {
                    return (generation, .failure((error as? KMSTransportError) ?? .connection("\(error)")))
                }
            }
            switch outcome {
            case .failure(.timeout):
                lastFailure = "timeout"
                continue
            case .failure(.connection(let why)):
                lastFailure = "connection: \(why)"
                continue
            case .success(let response) where response.status == 200:
                guard let decoded = KMSWire.decode(Response.self, response.body) else {
                    stats.withLock { $0.failures += 1 }
                    throw .unavailable("KMS answered \(operation.rawValue) with a body that does not decode")
                }
                refundBudget()
                pacing.recordSuccess()
                return decoded
            case .success(let response):
                let (code, message) = KMSWire.errorCode(body: response.body, header: response.header("x-amzn-errortype"))
                if code == "ThrottlingException" || response.status >= 500 || response.status == 429 {
                    if code == "ThrottlingException" || response.status == 429 {
                        stats.withLock { $0.throttled += 1 }
                        pacing.recordThrottle(generation: generation)
                    }
                    lastFailure = "\(response.status) \(code)"
                    continue
                }
                stats.withLock { $0.failures += 1 }
                throw .rejected(code: code.isEmpty ? "HTTP \(response.status)" : code, message: message)
            }
        }
        stats.withLock { $0.failures += 1 }
        throw .unavailable("\(policy.maxAttempts) attempts failed, last: \(lastFailure)")
    }

    private func backoff(_ attempt: Int) -> Duration {
        let ceiling = min(policy.maxBackoff, policy.baseBackoff * (1 << min(attempt, 20)))
        let nanoseconds = Double(ceiling.components.seconds) * 1e9 + Double(ceiling.components.attoseconds) / 1e9
        return .nanoseconds(Int64(Double.random(in: 0...1) * nanoseconds))
    }

    private func spendBudget(_ cost: Int) -> Bool {
        budget.withLock { tokens in
            guard tokens >= cost else { return false }
            tokens -= cost
            return true
        }
    }

    private func refundBudget() {
        budget.withLock { $0 = min(policy.budget, $0 + policy.successRefund) }
    }
}

/// At most `limit` operations at once; the rest wait their turn (FIFO).
final class AsyncLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(limit: Int) { state = Mutex(State(available: max(1, limit))) }

    func run<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        let acquired = state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
        if acquired { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.available += 1
            return nil
        }
        next?.resume()
    }
}

/// The client's send rate, learned from throttling (the idea of AWS SDKs' adaptive retry mode):
/// unlimited until the service first throttles; then a throttle sets the rate to 90 % of the rate
/// actually sent (once per rate: throttles answering requests sent before a decrease do not
/// decrease it again), and each success raises it so that it grows about 20 % per second. Callers wait for a token instead of being throttled, so
/// throughput sits just under the quota instead of spending retries against it.
final class AdaptiveRateLimiter: Sendable {
    private struct State {
        var rate = Double.infinity
        var tokens = 0.0
        var lastRefill = ContinuousClock.now
        /// Sends in the current 100 ms window, and the smoothed send rate.
        var windowStart = ContinuousClock.now
        var windowSends = 0
        var measured = 0.0
        /// Bumped by each decrease; a throttle of a request sent under an older rate is ignored.
        var generation = 0
    }

    private let state = Mutex(State())
    private let minimumRate: Double
    /// Multiplicative decrease per throttle. Gentle: KMS quotas are token buckets holding a
    /// second of rate, so a rate just above the quota drains the bucket slowly, and a deep cut
    /// would leave throughput well below the quota while the rate climbs back.
    static let decrease = 0.9

    init(minimumRate: Double = 1) {
        self.minimumRate = minimumRate
    }

    /// Requests per second currently allowed (infinity before the first throttle).
    var currentRate: Double { state.withLock { $0.rate } }

    /// Waits until sending is allowed, counts the send, and returns the rate's generation (to
    /// pass back with a throttle).
    @discardableResult
    func acquire() async -> Int {
        while true {
            let (wait, generation): (Duration?, Int) = state.withLock { state in
                let now = ContinuousClock.now
                Self.countWindow(&state, now: now)
                guard state.rate.isFinite else {
                    state.windowSends += 1
                    return (nil, state.generation)
                }
                let elapsed = now - state.lastRefill
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.tokens = min(max(1, state.rate / 10), state.tokens + seconds * state.rate)
                state.lastRefill = now
                if state.tokens >= 1 {
                    state.tokens -= 1
                    state.windowSends += 1
                    return (nil, state.generation)
                }
                return (.nanoseconds(Int64((1 - state.tokens) / state.rate * 1e9) + 1), state.generation)
            }
            guard let wait else { return generation }
            try? await Task.sleep(for: wait)
        }
    }

    /// A throttle of a request sent at `generation`; only the current rate's first throttle
    /// lowers it, so one burst of throttles answering the same rate counts once.
    func recordThrottle(generation: Int) {
        state.withLock { state in
            guard generation == state.generation else { return }
            state.generation += 1
            let now = ContinuousClock.now
            Self.countWindow(&state, now: now)
            let sent = max(state.measured, Double(state.windowSends) * 10)
            let base = state.rate.isFinite ? min(state.rate, sent) : sent
            state.rate = max(minimumRate, base * Self.decrease)
            state.tokens = 0
        }
    }

    func recordSuccess() {
        state.withLock { state in
            guard state.rate.isFinite else { return }
            state.rate *= 1 + 0.2 / max(state.rate, 1)
        }
    }

    private static func countWindow(_ state: inout State, now: ContinuousClock.Instant) {
        let window = Duration.milliseconds(100)
        guard now - state.windowStart >= window else { return }
        let rate = Double(state.windowSends) * 10
        state.measured = state.measured == 0 ? rate : 0.5 * state.measured + 0.5 * rate
        state.windowSends = 0
        state.windowStart = now
    }
}

/// The last `capacity` answer times, for the adaptive attempt timeout.
final class LatencyWindow: Sendable {
    private struct State {
        var samples: [Duration] = []
        var next = 0
        var seen = 0
        var cachedP99: Duration?
    }
    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    func record(_ latency: Duration) {
        state.withLock { state in
            if state.samples.count < capacity {
                state.samples.append(latency)
            } else {
                state.samples[state.next] = latency
                state.next = (state.next + 1) % capacity
            }
            state.seen += 1
            // Recompute now and then, not on every answer.
            if state.seen % 50 == 0 || state.cachedP99 == nil {
                let sorted = state.samples.sorted()
                state.cachedP99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
            }
        }
    }

    func p99(minimumSamples: Int) -> Duration? {
        state.withLock { $0.seen >= minimumSamples ? $0.cachedP99 : nil }
    }
}
