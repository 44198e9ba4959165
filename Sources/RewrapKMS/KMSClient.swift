import Foundation
import RewrapAsync
import RewrapAWSWire
import RewrapCrypto
import RewrapWire
import Synchronization

/// An AWS KMS client for the operations a KAS needs: SigV4-signed AWS JSON 1.1 requests,
/// retries with full-jitter backoff and a retry budget, at most `maxInFlight` requests in flight
/// to the endpoint, a send rate that adapts to throttling, and cached public keys.
public final class KMSClient: Sendable {
    public let transport: any KMSTransport
    public let signer: SigV4
    public let host: String
    public let policy: KMSRetryPolicy
    private let inFlight: AsyncSemaphore
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
        self.inFlight = AsyncSemaphore(permits: maxInFlight)
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

    /// Requests the client keeps in flight to the endpoint at most.
    public var maxInFlight: Int { inFlight.permits }

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
                do {
                    try await Task.sleep(for: backoff(attempt))
                } catch {
                    // Cancelled while backing off: the caller is gone, no further attempt.
                    stats.withLock { $0.failures += 1 }
                    throw .cancelled
                }
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
            let timeout = min(attemptTimeout, remaining)
            guard let (generation, outcome) = await send(headers: headers, body: body, timeout: timeout) else {
                // Cancelled while waiting for a slot or a send token: nothing was sent.
                stats.withLock { $0.failures += 1 }
                throw .cancelled
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

    /// One attempt: waits for an in-flight slot, then for the pacing token, then sends. nil when
    /// the task is cancelled before the request leaves. A cancelled waiter leaves the slot queue
    /// at once, so it neither blocks its caller nor takes a slot later.
    private func send(headers: [(String, String)], body: [UInt8], timeout: Duration) async
        -> (generation: Int, outcome: Result<KMSHTTPResponse, KMSTransportError>)?
    {
        do {
            try await inFlight.acquire()
        } catch {
            return nil
        }
        defer { inFlight.release() }
        // Pace inside the in-flight slot, so the rate's generation is taken when the request
        // actually leaves and a throttle answers the rate that sent it.
        let generation: Int
        do {
            generation = try await pacing.acquire()
        } catch {
            return nil
        }
        guard !Task.isCancelled else { return nil }
        let sent = ContinuousClock.now
        do {
            let response = try await transport.send(KMSHTTPRequest(headers: headers, body: body, timeout: timeout))
            if response.status == 200 { latencies.record(ContinuousClock.now - sent) }
            return (generation, .success(response))
        } catch {
            return (generation, .failure(error))
        }
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

