import Synchronization

/// Proof `jti`s seen within the window (kas-server.md §4.3 row 14, [P] `dpop_replay.go`):
/// `jti → now + dpopskew`; an unexpired hit is a replay. Expired entries are swept at most once
/// per TTL, so the sweep's cost (a pass over every entry) is paid rarely.
///
/// Bounded: when `capacity` live entries are held, a new `jti` is refused rather than an old one
/// forgotten. Forgetting would reopen the window for the forgotten proof — an attacker who can
/// fill the cache could then replay any captured proof — while refusing only fails fresh proofs
/// until entries expire, which is visible (401 with a log line) and recoverable. When the cache
/// is full the sweep may run early, at most once a second, so expiry frees room promptly.
public final class DPoPReplayCache: Sendable {
    public enum Outcome: Sendable, Equatable {
        case fresh
        case replayed
        case full
    }

    struct State {
        var expiries: [String: Int64] = [:]
        var lastSweep: Int64
    }

    public let ttl: Int64
    public let capacity: Int
    private let state: Mutex<State>

    public init(ttl: Int64 = 3600, capacity: Int = 1_000_000, now: Int64) {
        precondition(ttl > 0 && capacity > 0, "replay cache needs a positive TTL and capacity")
        self.ttl = ttl
        self.capacity = capacity
        self.state = Mutex(State(lastSweep: now))
    }

    public var count: Int { state.withLock { $0.expiries.count } }

    /// Records `jti` unless it is an unexpired replay or there is no room.
    public func record(_ jti: String, now: Int64) -> Outcome {
        state.withLock { state in
            if let expiry = state.expiries[jti], now < expiry { return .replayed }
            let full = state.expiries.count >= capacity && state.expiries[jti] == nil
            if now - state.lastSweep >= ttl || (full && now - state.lastSweep >= 1) {
                state.expiries = state.expiries.filter { $0.value > now }
                state.lastSweep = now
            }
            if state.expiries.count >= capacity && state.expiries[jti] == nil { return .full }
            state.expiries[jti] = now + ttl
            return .fresh
        }
    }
}
