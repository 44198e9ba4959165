import Foundation
import RewrapCrypto
import RewrapEngine
import RewrapRegistry
import RewrapRegistrySQLite
import Synchronization

/// A fresh SQLite registry in its own temporary directory, removed afterwards.
public final class TemporaryRegistry {
    public let directory: URL
    public let path: String
    public let store: SQLiteKeyStore
    public let rootKey: RootKey

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("keys.sqlite").path
        store = try SQLiteKeyStore(path: path)
        rootKey = try RootKey(hex: String(repeating: "5a", count: 32))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A CONFIG_ROOT_KEY record for a fresh key; returns the record and the private key.
    public func makeRecord(_ kid: String, _ algorithm: KeyAlgorithm, legacy: Bool = false) throws -> (KeyRecord, PrivateKey) {
        let key = try PrivateKey.generate(algorithm)
        return (try KeyRecord.rootWrapped(kid: kid, privateKey: key, rootKey: rootKey, legacy: legacy), key)
    }

    @discardableResult
    public func add(_ kid: String, _ algorithm: KeyAlgorithm, legacy: Bool = false) throws -> KeyRecord {
        try store.create(makeRecord(kid, algorithm, legacy: legacy).0)
    }

    public func source(cache: KeyCache<KeyResolution>? = KeyCache(), factories: [String: DelegatingKeyManager.Factory] = [:])
        -> RegistryKeySource {
        RegistryKeySource(store: store, managers: DelegatingKeyManager(default: BasicKeyManager(rootKey: rootKey), factories: factories),
                          cache: cache)
    }
}

/// Counts reads, to prove how often the cache goes to the store.
public final class CountingStore: KeyStore {
    public let inner: any KeyStore
    public let reads = Atomic<Int>(0)
    public let delay: Duration

    public init(_ inner: any KeyStore, delay: Duration = .zero) {
        self.inner = inner
        self.delay = delay
    }

    public func key(kid: String) throws(RegistryError) -> KeyRecord? {
        reads.wrappingAdd(1, ordering: .relaxed)
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds)) }
        return try inner.key(kid: kid)
    }
    public func keys(_ filter: KeyFilter) throws(RegistryError) -> [KeyRecord] { try inner.keys(filter) }
    public func legacyKeys() throws(RegistryError) -> [KeyRecord] { try inner.legacyKeys() }
    public func activeKey(algorithm: KeyAlgorithm) throws(RegistryError) -> KeyRecord? { try inner.activeKey(algorithm: algorithm) }
    public func create(_ record: KeyRecord) throws(RegistryError) -> KeyRecord { try inner.create(record) }
    public func setLegacy(kid: String, _ legacy: Bool) throws(RegistryError) { try inner.setLegacy(kid: kid, legacy) }
    public func rotate(kid: String, to newKey: KeyRecord) throws(RegistryError) -> RotationResult { try inner.rotate(kid: kid, to: newKey) }
    public func delete(kid: String) throws(RegistryError) { try inner.delete(kid: kid) }
    public func setBaseKey(kid: String) throws(RegistryError) { try inner.setBaseKey(kid: kid) }
    public func baseKey() throws(RegistryError) -> KeyRecord? { try inner.baseKey() }
    public func map(_ mapping: KeyMapping) throws(RegistryError) { try inner.map(mapping) }
    public func unmap(_ mapping: KeyMapping) throws(RegistryError) { try inner.unmap(mapping) }
    public func mappings(kid: String?) throws(RegistryError) -> [KeyMapping] { try inner.mappings(kid: kid) }
    public func createProvider(_ config: ProviderConfig) throws(RegistryError) -> ProviderConfig { try inner.createProvider(config) }
    public func providers() throws(RegistryError) -> [ProviderConfig] { try inner.providers() }
    public func onChange(_ observer: @escaping @Sendable ([String]) -> Void) { inner.onChange(observer) }
}
