import Foundation
import RewrapEngine
import RewrapRegistry
import RewrapRegistryTestSupport
import Synchronization
import Testing

/// The key cache behind `RegistryKeySource` over the SQLite store: one store read per cold kid,
/// and the store's change notifications dropping kids at once.
@Suite struct RegistryCacheTests {
    /// Single flight through the registry: concurrent KAOs for a cold kid cause one store read.
    @Test func singleFlightThroughTheRegistry() throws {
        let registry = try TemporaryRegistry()
        try registry.add("e1", .ecP256)
        let counting = CountingStore(registry.store, delay: .milliseconds(100))
        let source = RegistryKeySource(store: counting, managers: DelegatingKeyManager(default: BasicKeyManager(rootKey: registry.rootKey)))
        let resolved = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            if case .local? = source.resolve(kid: "e1") { resolved.wrappingAdd(1, ordering: .relaxed) }
        }
        #expect(resolved.load(ordering: .relaxed) == 16)
        #expect(counting.reads.load(ordering: .relaxed) == 1)
        #expect(source.cache?.counters.loads == 1)
    }

    /// Rotating or deleting through the store drops the kid from this process's cache at once.
    @Test func invalidationOnRotateAndDelete() throws {
        let registry = try TemporaryRegistry()
        try registry.add("e1", .ecP256)
        try registry.add("pk", .ecP256)
        let source = registry.source()
        #expect({ if case .local? = source.resolve(kid: "e1") { return true } else { return false } }())
        _ = source.resolve(kid: "e1")
        #expect(source.cache?.counters.loads == 1)
        _ = try registry.store.rotate(kid: "e1", to: try registry.makeRecord("e2", .ecP256).0)
        // e1 was cached and is dropped; e2, the other kid the rotation touched, was not cached.
        #expect(source.cache?.counters.invalidations == 1)
        // Rotated keys still resolve (and decrypt): lookup by kid ignores status.
        #expect({ if case .local? = source.resolve(kid: "e1") { return true } else { return false } }())
        #expect(source.cache?.counters.loads == 2)
        _ = source.resolve(kid: "pk")
        try registry.store.delete(kid: "pk")
        #expect(source.resolve(kid: "pk") == nil)
    }
}

extension KeyResolution: Equatable {
    public static func == (lhs: KeyResolution, rhs: KeyResolution) -> Bool {
        switch (lhs, rhs) {
        case (.local(let a), .local(let b)): return a.kid == b.kid
        case (.unavailable(let a), .unavailable(let b)): return a == b
        default: return false
        }
    }
}
