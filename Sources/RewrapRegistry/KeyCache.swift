import Dispatch
import Foundation
import Synchronization

/// Parsed keys by kid, in front of the registry (spec §6.8 has none for parsed keys: the Go KAS
/// re-reads the registry and re-parses the PEM on every KAO).
///
/// * bounded by entries and by bytes; the least recently used entry goes first;
/// * a TTL after which an entry is reloaded (the registry may have changed in another process);
/// * **single-flight**: N threads missing the same kid at once cause one load, the others wait
///   for its result;
/// * negative entries for unknown kids, kept briefly, so bad requests cannot hammer the store;
/// * `invalidate` drops a kid at once (this process's rotations and updates call it); a load
///   that was in flight when its kid was invalidated is returned to its waiters but not kept.
public final class KeyCache<Value: Sendable>: Sendable {
    public typealias Limits = KeyCacheLimits
    public typealias Counters = KeyCacheCounters

    /// What a load produced: a value and its approximate size in bytes, or nil for "no such kid".
    public typealias Loaded = (value: Value, bytes: Int)?

    private enum Step {
        case done(Value?)
        case wait(Flight)
        case lead(Flight, UInt64)
    }

    private final class Flight: @unchecked Sendable {
        let condition = NSCondition()
        var result: Result<Loaded, RegistryError>?
    }

    private enum Entry {
        case ready(Value, bytes: Int, expires: UInt64?, lastUsed: UInt64)
        case absent(expires: UInt64)
        case loading(Flight, generation: UInt64)
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var counters = Counters()
        var clock: UInt64 = 0
        var generation: UInt64 = 0
    }

    public let limits: Limits
    private let state = Mutex(State())
    /// Monotonic nanoseconds; tests pass a clock they move by hand, so TTLs are checked without
    /// sleeping.
    public let clock: @Sendable () -> UInt64

    public init(limits: Limits = Limits(), clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.limits = limits
        self.clock = clock
    }

    public var counters: Counters { state.withLock { $0.counters } }
    public var count: Int { state.withLock { $0.entries.count } }

    public func resetCounters() { state.withLock { $0.counters = Counters() } }

    private func deadline(_ duration: Duration?) -> UInt64? {
        guard let duration else { return nil }
        let (seconds, attoseconds) = duration.components
        return clock() + UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// The cached value for `kid`, loading it with `load` on a miss (once, however many
    /// threads miss together). Store failures are returned, never cached.
    public func value(
        for kid: String, load: () throws(RegistryError) -> Loaded
    ) throws(RegistryError) -> Value? {
        let now = clock()
        let step: Step = state.withLock { state in
            state.clock += 1
            switch state.entries[kid] {
            case .ready(let resolution, let bytes, let expires, _)? where expires.map({ now < $0 }) ?? true:
                state.entries[kid] = .ready(resolution, bytes: bytes, expires: expires, lastUsed: state.clock)
                state.counters.hits += 1
                return .done(resolution)
            case .absent(let expires)? where now < expires:
                state.counters.negativeHits += 1
                return .done(nil)
            case .loading(let flight, _)?:
                state.counters.misses += 1
                return .wait(flight)
            default:
                state.counters.misses += 1
                state.counters.loads += 1
                let flight = Flight()
                state.generation += 1
                state.entries[kid].map { Self.forget($0, bytes: &state.bytes) }
                state.entries[kid] = .loading(flight, generation: state.generation)
                return .lead(flight, state.generation)
            }
        }
        switch step {
        case .done(let resolution):
            return resolution
        case .wait(let flight):
            flight.condition.lock()
            while flight.result == nil { flight.condition.wait() }
            let result = flight.result!
            flight.condition.unlock()
            return try result.get()?.value
        case .lead(let flight, let generation):
            let result: Result<Loaded, RegistryError>
            do {
                result = .success(try load())
            } catch {
                result = .failure(error)
            }
            store(result, for: kid, generation: generation)
            flight.condition.lock()
            flight.result = result
            flight.condition.broadcast()
            flight.condition.unlock()
            return try result.get()?.value
        }
    }

    private func store(_ result: Result<Loaded, RegistryError>, for kid: String, generation: UInt64) {
        state.withLock { state in
            // Only the load that is still current for this kid may fill it (an invalidation or a
            // newer load replaced it otherwise).
            guard case .loading(_, let current)? = state.entries[kid], current == generation else { return }
            switch result {
            case .success(let loaded?) where limits.ttl.map({ $0 > .zero }) ?? true:
                state.clock += 1
                state.entries[kid] = .ready(loaded.value, bytes: loaded.bytes,
                                            expires: deadline(limits.ttl), lastUsed: state.clock)
                state.bytes += loaded.bytes
                evict(&state)
            case .success(nil):
                state.entries[kid] = .absent(expires: deadline(limits.negativeTTL) ?? 0)
                evict(&state)
            default:
                state.entries[kid] = nil  // TTL 0 disables caching; failures are not cached
            }
        }
    }

    private func evict(_ state: inout State) {
        while state.entries.count > limits.maxEntries || state.bytes > limits.maxBytes {
            // Least recently used ready entry first; negative entries before anything else.
            var victim: String?
            var oldest = UInt64.max
            for (kid, entry) in state.entries {
                switch entry {
                case .absent:
                    victim = kid
                    oldest = 0
                case .ready(_, _, _, let lastUsed) where lastUsed < oldest:
                    victim = kid
                    oldest = lastUsed
                default:
                    break
                }
                if oldest == 0 { break }
            }
            guard let victim, let entry = state.entries.removeValue(forKey: victim) else { return }
            Self.forget(entry, bytes: &state.bytes)
            state.counters.evictions += 1
        }
    }

    private static func forget(_ entry: Entry, bytes: inout Int) {
        if case .ready(_, let size, _, _) = entry { bytes -= size }
    }

    /// Whether `kid` has a live entry (ready and unexpired, or loading).
    public func contains(_ kid: String) -> Bool {
        let now = clock()
        return state.withLock { state in
            switch state.entries[kid] {
            case .ready(_, _, let expires, _)?: return expires.map { now < $0 } ?? true
            case .loading?: return true
            default: return false
            }
        }
    }

    /// Puts a value obtained elsewhere (an async preparation) into the cache.
    public func insert(_ kid: String, value: Value, bytes: Int) {
        guard limits.ttl.map({ $0 > .zero }) ?? true else { return }
        state.withLock { state in
            if let old = state.entries[kid] { Self.forget(old, bytes: &state.bytes) }
            state.clock += 1
            state.generation += 1
            state.entries[kid] = .ready(value, bytes: bytes, expires: deadline(limits.ttl), lastUsed: state.clock)
            state.bytes += bytes
            evict(&state)
        }
    }

    /// Drops `kid` now (its next use reloads it).
    public func invalidate(_ kid: String) {
        state.withLock { state in
            if let entry = state.entries.removeValue(forKey: kid) {
                Self.forget(entry, bytes: &state.bytes)
                state.counters.invalidations += 1
            }
        }
    }

    public func invalidateAll() {
        state.withLock { state in
            state.counters.invalidations += state.entries.count
            state.entries.removeAll()
            state.bytes = 0
        }
    }
}

public struct KeyCacheLimits: Sendable {
    public var maxEntries = 1024
    public var maxBytes = 64 * 1024 * 1024
    /// How long a loaded key is trusted; nil keeps it until invalidated or evicted.
    public var ttl: Duration? = .seconds(300)
    /// How long "no such kid" is remembered.
    public var negativeTTL: Duration = .seconds(5)

    public init() {}
}

/// Counters for the harness and for operators.
public struct KeyCacheCounters: Sendable, Equatable, Codable {
    public var hits = 0
    public var misses = 0
    /// Loads actually run (misses that were not coalesced into a load in flight).
    public var loads = 0
    public var negativeHits = 0
    public var evictions = 0
    public var invalidations = 0

    public init() {}
}

extension KeyCacheCounters {
    /// Adds another run's counts (the harness sums repetitions).
    public mutating func add(_ other: KeyCacheCounters) {
        hits += other.hits
        misses += other.misses
        loads += other.loads
        negativeHits += other.negativeHits
        evictions += other.evictions
        invalidations += other.invalidations
    }
}
