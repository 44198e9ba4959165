import RewrapCrypto
import RewrapWire
import Synchronization

/// The server nonce of RFC 9449 §8 as the platform keeps it (kas-server.md §4.3 "Nonce"): 16
/// random bytes in lower-case hex, rotated lazily on the first use after `expiration`, the
/// previous value still accepted so a client that just fetched it is not bounced.
public final class DPoPNonces: Sendable {
    struct State {
        var current: String
        var previous: String?
        var issuedAt: Int64
    }

    public let expiration: Int64
    private let clock: any AuthClock
    private let state: Mutex<State>

    public init(expiration: Int64 = 300, clock: any AuthClock = SystemAuthClock()) {
        self.expiration = expiration
        self.clock = clock
        self.state = Mutex(State(current: Self.fresh(), previous: nil, issuedAt: clock.now()))
    }

    private static func fresh() -> String {
        // RAND_bytes failing means the process cannot do any crypto; a fixed nonce would be worse.
        guard let bytes = try? CryptoPrimitives.randomBytes(count: 16) else { fatalError("CSPRNG unavailable") }
        return Hex.lowercaseString(bytes)
    }

    /// The nonce to send now (rotating first if it has expired).
    public func current() -> String {
        let now = clock.now()
        return state.withLock { state in
            if now - state.issuedAt >= expiration {
                state.previous = state.current
                state.current = Self.fresh()
                state.issuedAt = now
            }
            return state.current
        }
    }

    /// Whether `nonce` is the current or the previous value.
    public func isValid(_ nonce: String) -> Bool {
        _ = current()
        let (current, previous) = state.withLock { ($0.current, $0.previous) }
        // Nonces are not secrets, but a constant-time compare costs nothing here.
        return Self.equal(nonce, current) || previous.map { Self.equal(nonce, $0) } == true
    }

    private static func equal(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).withUnsafeBytes { x in Array(b.utf8).withUnsafeBytes { y in CryptoPrimitives.constantTimeEquals(x, y) } }
    }
}
