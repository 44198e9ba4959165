import RewrapCrypto
import RewrapEngine

/// The key registry's storage. SQLite is the default (`SQLiteKeyStore`); a PostgreSQL store can
/// implement the same protocol without the engine or the key managers changing. Calls are
/// synchronous (they are made from worker threads on a cache miss) and thread-safe.
public protocol KeyStore: Sendable {
    /// The key with `kid`, any status.
    func key(kid: String) throws(RegistryError) -> KeyRecord?
    func keys(_ filter: KeyFilter) throws(RegistryError) -> [KeyRecord]
    /// Keys flagged legacy (at most one in a registry).
    func legacyKeys() throws(RegistryError) -> [KeyRecord]
    /// What a writer is given for `algorithm`: the newest ACTIVE, non-legacy key (spec §6.4).
    func activeKey(algorithm: KeyAlgorithm) throws(RegistryError) -> KeyRecord?

    /// Adds a key after checking the mode rules; the kid must be new.
    @discardableResult
    func create(_ record: KeyRecord) throws(RegistryError) -> KeyRecord
    func setLegacy(kid: String, _ legacy: Bool) throws(RegistryError)
    /// In one transaction: `newKey` becomes ACTIVE, the old key ROTATED, the base key and every
    /// mapping of the old key move to the new one.
    func rotate(kid: String, to newKey: KeyRecord) throws(RegistryError) -> RotationResult
    /// Removes a key and its mappings (OpenTDF only allows this through its "unsafe" service).
    func delete(kid: String) throws(RegistryError)

    func setBaseKey(kid: String) throws(RegistryError)
    func baseKey() throws(RegistryError) -> KeyRecord?

    func map(_ mapping: KeyMapping) throws(RegistryError)
    func unmap(_ mapping: KeyMapping) throws(RegistryError)
    func mappings(kid: String?) throws(RegistryError) -> [KeyMapping]

    @discardableResult
    func createProvider(_ config: ProviderConfig) throws(RegistryError) -> ProviderConfig
    func providers() throws(RegistryError) -> [ProviderConfig]

    /// Called after each committed change with the kids it touched, so caches in this process
    /// can drop them at once.
    func onChange(_ observer: @escaping @Sendable ([String]) -> Void)
}

public struct KeyFilter: Sendable, Equatable {
    public var algorithm: KeyAlgorithm?
    public var status: KeyStatus?
    public var legacy: Bool?

    public init(algorithm: KeyAlgorithm? = nil, status: KeyStatus? = nil, legacy: Bool? = nil) {
        self.algorithm = algorithm
        self.status = status
        self.legacy = legacy
    }

    public static let all = KeyFilter()
}
