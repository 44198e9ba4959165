import RewrapCrypto
import Synchronization

/// Access tokens already verified, so a client reusing its token (every SDK does, for minutes)
/// costs one signature check per token rather than one per request.
///
/// Keyed by SHA-256 of the raw token; the lookup goes by the digest's first 8 bytes and then
/// compares the whole digest in constant time, so timing reveals nothing about how close a
/// forged token's digest came. An entry answers only until the token's `exp + skew` (a token
/// without `exp`, which verification would accept forever, for `maxLifetime`), and only while
/// the key it was verified with is in the current JWKS: a refresh that drops the key (same `kid` with other material, or no `kid`)
/// ends the entry at the first lookup after it (kas-server.md §4.2 step 2).
public final class VerifiedTokenCache: Sendable {
    struct Entry {
        let digest: [UInt8]
        let token: VerifiedAccessToken
        let validUntil: Int64
        var generation: UInt64
    }

    struct State {
        var entries: [UInt64: Entry] = [:]
        /// Insertion order, for evicting the oldest; `head` is the next to evict.
        var order: [UInt64] = []
        var head = 0
    }

    public let capacity: Int
    public let maxLifetime: Int64
    private let state = Mutex(State())

    public init(capacity: Int = 10_000, maxLifetime: Int64 = 300) {
        precondition(capacity > 0, "cache capacity must be positive")
        self.capacity = capacity
        self.maxLifetime = maxLifetime
    }

    static func digest(of token: String) -> [UInt8] { CryptoPrimitives.sha256(token.utf8) }

    private static func slot(_ digest: [UInt8]) -> UInt64 {
        digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var count: Int { state.withLock { $0.entries.count } }

    func lookup(digest: [UInt8], now: Int64, keySet: JSONWebKeySet) -> VerifiedAccessToken? {
        let slot = Self.slot(digest)
        return state.withLock { state -> VerifiedAccessToken? in
            guard let entry = state.entries[slot] else { return nil }
            let same = digest.withUnsafeBytes { a in entry.digest.withUnsafeBytes { b in CryptoPrimitives.constantTimeEquals(a, b) } }
            guard same else { return nil }
            guard now < entry.validUntil else {
                state.entries[slot] = nil
                return nil
            }
            if entry.generation != keySet.generation {
                // A newer set: the entry survives only if its key is still there unchanged.
                guard keySet.keys[entry.token.keyID]?.thumbprint == entry.token.keyThumbprint else {
                    state.entries[slot] = nil
                    return nil
                }
                state.entries[slot]?.generation = keySet.generation
            }
            return entry.token
        }
    }

    func insert(_ token: VerifiedAccessToken, digest: [UInt8], generation: UInt64, validUntil: Int64?, now: Int64) {
        let until = validUntil ?? now + maxLifetime
        guard until > now else { return }
        let slot = Self.slot(digest)
        state.withLock { state in
            if state.entries[slot] == nil {
                while state.entries.count >= capacity, state.head < state.order.count {
                    state.entries[state.order[state.head]] = nil
                    state.head += 1
                }
                state.order.append(slot)
            }
            state.entries[slot] = Entry(digest: digest, token: token, validUntil: until, generation: generation)
            // Keep the order list near the live entries' count: entries dropped on lookup leave
            // stale slots behind, which compaction removes.
            if state.head > capacity || state.order.count > 2 * capacity {
                state.order = state.order[state.head...].filter { state.entries[$0] != nil }
                state.head = 0
            }
        }
    }
}
