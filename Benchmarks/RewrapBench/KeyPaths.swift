import Foundation
import RewrapCrypto
import RewrapEngine
import RewrapKeyRing
import RewrapRegistry
import RewrapRegistrySQLite
import RewrapWire

/// Where the engine gets its KAS key from, one per benchmark path.
enum BenchPath: String {
    /// Keys parsed at start from a keyring (OpenTDF's legacy keyring mode).
    case local
    /// The key registry (SQLite), root-wrapped keys, parsed-key cache already warm.
    case cachedWarm = "cached-warm"
    /// The same, with the cache emptied when the timed run starts (no warm-up).
    case cachedCold = "cached-cold"
    /// One registry lookup + root-key unwrap + PEM parse per KAO: what the Go KAS does today.
    case uncached
    /// The key in the simulated KMS over HTTP: every unwrap is a remote call.
    case kms
}

/// The same KAS keys behind every path: in a keyring, and root-wrapped in a registry database.
final class KeyPaths: @unchecked Sendable {
    let keyRing: KeyRing
    let store: SQLiteKeyStore
    let managers: DelegatingKeyManager
    let directory: URL
    /// Shared by all warm cases, so it stays warm across them.
    let warm: RegistryKeySource

    init(keys: [KASKey]) throws {
        keyRing = try KeyRing(keys: keys)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-bench-\(UUID().uuidString)")
        store = try SQLiteKeyStore(path: directory.appendingPathComponent("keys.sqlite").path)
        let rootKey = try RootKey(hex: Hex.lowercaseString(CryptoPrimitives.randomBytes(count: 32)))
        for key in keys {
            try store.create(KeyRecord.rootWrapped(kid: key.kid, privateKey: key.privateKey, rootKey: rootKey))
        }
        managers = DelegatingKeyManager(default: BasicKeyManager(rootKey: rootKey))
        warm = RegistryKeySource(store: store, managers: managers)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The key source for a path; a cold path gets a new, empty cache every time.
    func source(_ path: BenchPath) -> any KeySource {
        switch path {
        case .local: return keyRing
        case .cachedWarm: return warm
        case .cachedCold: return RegistryKeySource(store: store, managers: managers)
        case .uncached: return RegistryKeySource(store: store, managers: managers, cache: nil)
        case .kms: preconditionFailure("the kms path has its own source (KMSPath)")
        }
    }
}
