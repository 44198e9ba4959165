import RewrapCrypto
import RewrapEngine
import Synchronization

/// A key "in a KMS": the private key sits behind async calls with a delay, and the fake records
/// how many calls were in flight at once.
public final class FakeRemoteKey: RemoteKey {
    public let kid: String
    public let algorithm: KeyAlgorithm
    private let key: PrivateKey
    private let delay: Duration
    private let failure: RemoteKeyError?
    private let state = Mutex<(inFlight: Int, maxInFlight: Int, calls: Int)>((0, 0, 0))
    private let hook = Mutex<(@Sendable () -> Int)?>(nil)
    private let firstCall = Mutex<Int?>(nil)

    public init(kid: String, key: PrivateKey, delay: Duration = .milliseconds(5), failure: RemoteKeyError? = nil) {
        self.kid = kid
        self.algorithm = key.algorithm
        self.key = key
        self.delay = delay
        self.failure = failure
    }

    /// Test hook: called at the start of every call; the first call's value is kept.
    public var onCall: (@Sendable () -> Int)? {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }

    /// What `onCall` returned at the first call.
    public var localResolvesAtFirstCall: Int? { firstCall.withLock { $0 } }
    public var maxInFlight: Int { state.withLock { $0.maxInFlight } }
    public var calls: Int { state.withLock { $0.calls } }

    private func call<T>(_ body: () throws(CryptoError) -> T) async throws(RemoteKeyError) -> T {
        if let onCall {
            let seen = onCall()
            firstCall.withLock { if $0 == nil { $0 = seen } }
        }
        state.withLock {
            $0.inFlight += 1
            $0.calls += 1
            $0.maxInFlight = max($0.maxInFlight, $0.inFlight)
        }
        try? await Task.sleep(for: delay)
        state.withLock { $0.inFlight -= 1 }
        if let failure { throw failure }
        do { return try body() } catch { throw .rejected }
    }

    public func decrypt(_ ciphertext: [UInt8]) async throws(RemoteKeyError) -> SecureBytes {
        try await call { () throws(CryptoError) -> SecureBytes in
            let out = SecureBytes(count: 512)
            let length = try withBytes(ciphertext) { (c) throws(CryptoError) in
                try CryptoWorker().rsaOAEPDecrypt(c, with: key, into: out.slice(0..<512))
            }
            return SecureBytes(copying: Array(out.copyBytes()[0..<length]))
        }
    }

    public func deriveSharedSecret(peerSPKI: [UInt8]) async throws(RemoteKeyError) -> SecureBytes {
        try await call { () throws(CryptoError) -> SecureBytes in
            let peer = try withBytes(peerSPKI) { (d) throws(CryptoError) in try PublicKey(spkiDER: d) }
            guard case .ec(let curve) = key.algorithm else { throw .invalidPoint }
            let shared = SecureBytes(count: curve.coordinateByteCount)
            try CryptoWorker().ecdh(key, peer: peer, into: shared.slice(0..<shared.count))
            return shared
        }
    }
}
