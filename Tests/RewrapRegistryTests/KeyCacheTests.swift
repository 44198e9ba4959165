import Foundation
import RewrapEngine
import RewrapRegistry
import RewrapTestSupport
import Synchronization
import Testing

/// The key cache on its own: single flight, TTLs, negative caching, bounds.
@Suite struct KeyCacheTests {
    /// N concurrent misses for one kid: one load; every caller gets its result.
    @Test func singleFlight() throws {
        let cache = KeyCache<Int>()
        let loads = Counter()
        let results = Mutex<[Int?]>([])
        // Threads, not tasks: the loader blocks, as a database read does.
        DispatchQueue.concurrentPerform(iterations: 32) { _ in
            let value = try? cache.value(for: "k") { () throws(RegistryError) -> KeyCache<Int>.Loaded in
                loads.increment()
                Thread.sleep(forTimeInterval: 0.2)
                return (42, 8)
            }
            results.withLock { $0.append(value) }
        }
        #expect(loads.value == 1)
        #expect(results.withLock { $0.count == 32 && $0.allSatisfy { $0 == 42 } })
        #expect(cache.counters.loads == 1)
        #expect(cache.counters.misses + cache.counters.hits == 32)
    }

    @Test func ttlExpiryAndZeroTTL() throws {
        var limits = KeyCacheLimits()
        limits.ttl = .milliseconds(100)
        let clock = ManualClock()
        let cache = KeyCache<Int>(limits: limits, clock: clock.read)
        let loads = Atomic<Int>(0)
        func get() throws -> Int? {
            try cache.value(for: "k") { () throws(RegistryError) -> KeyCache<Int>.Loaded in
                loads.wrappingAdd(1, ordering: .relaxed)
                return (1, 1)
            }
        }
        _ = try get()
        clock.advance(.milliseconds(99))
        _ = try get()
        #expect(loads.load(ordering: .relaxed) == 1)
        clock.advance(.milliseconds(1))
        _ = try get()
        #expect(loads.load(ordering: .relaxed) == 2)

        limits.ttl = .zero
        let uncached = KeyCache<Int>(limits: limits)
        let zeroLoads = Atomic<Int>(0)
        for _ in 0..<3 {
            _ = try uncached.value(for: "k") { () throws(RegistryError) -> KeyCache<Int>.Loaded in
                zeroLoads.wrappingAdd(1, ordering: .relaxed)
                return (1, 1)
            }
        }
        #expect(zeroLoads.load(ordering: .relaxed) == 3, "TTL 0 disables caching")
        #expect(uncached.count == 0)
    }

    @Test func negativeCachingIsShort() throws {
        var limits = KeyCacheLimits()
        limits.negativeTTL = .milliseconds(100)
        let clock = ManualClock()
        let cache = KeyCache<Int>(limits: limits, clock: clock.read)
        let loads = Atomic<Int>(0)
        func get() throws -> Int? {
            try cache.value(for: "unknown") { () throws(RegistryError) -> KeyCache<Int>.Loaded in
                loads.wrappingAdd(1, ordering: .relaxed)
                return nil
            }
        }
        for _ in 0..<50 {
            #expect(try get() == nil)
            clock.advance(.milliseconds(1))
        }
        #expect(loads.load(ordering: .relaxed) == 1)
        #expect(cache.counters.negativeHits == 49)
        clock.advance(.milliseconds(50))
        _ = try get()
        #expect(loads.load(ordering: .relaxed) == 2)
    }

    @Test func failuresAreNotCached() throws {
        let cache = KeyCache<Int>()
        #expect(throws: RegistryError.storage("down")) {
            try cache.value(for: "k") { () throws(RegistryError) -> KeyCache<Int>.Loaded in throw .storage("down") }
        }
        #expect(try cache.value(for: "k") { () throws(RegistryError) -> KeyCache<Int>.Loaded in (7, 1) } == 7)
    }

    @Test func boundedByEntriesAndBytesLeastRecentlyUsedFirst() throws {
        var limits = KeyCacheLimits()
        limits.maxEntries = 3
        limits.maxBytes = 1000
        let cache = KeyCache<String>(limits: limits)
        func put(_ kid: String, bytes: Int) throws {
            _ = try cache.value(for: kid) { () throws(RegistryError) -> KeyCache<String>.Loaded in (kid, bytes) }
        }
        try put("a", bytes: 100); try put("b", bytes: 100); try put("c", bytes: 100)
        try put("a", bytes: 100)  // a hit: now b is least recently used
        try put("d", bytes: 100)
        #expect(cache.count == 3)
        #expect(cache.counters.evictions == 1)
        let loadsBefore = cache.counters.loads
        try put("a", bytes: 100)
        #expect(cache.counters.loads == loadsBefore, "a stayed")
        try put("b", bytes: 100)
        #expect(cache.counters.loads == loadsBefore + 1, "b was evicted")
        // The byte bound evicts too, least recently used first, until the entries fit: d, a
        // and b go (300 + 950 bytes, then 250, then 150 over 1000), the new entry stays.
        let evictionsBefore = cache.counters.evictions
        try put("big", bytes: 950)
        #expect(cache.count == 1, "the byte bound evicts too")
        #expect(cache.counters.evictions == evictionsBefore + 3)
        let loadsAfterBig = cache.counters.loads
        try put("big", bytes: 950)
        #expect(cache.counters.loads == loadsAfterBig, "big stayed")
    }

}

/// Monotonic nanoseconds that move only when a test says so.
final class ManualClock: Sendable {
    private let nanoseconds = Atomic<UInt64>(1_000_000_000)
    var read: @Sendable () -> UInt64 { { [self] in nanoseconds.load(ordering: .relaxed) } }
    func advance(_ duration: Duration) {
        nanoseconds.wrappingAdd(UInt64(duration.components.seconds) * 1_000_000_000 + UInt64(duration.components.attoseconds / 1_000_000_000),
                                ordering: .relaxed)
    }
}
