import Foundation
import RewrapEngine

/// The engine's key source in key-management mode: a kid is looked up in the registry, handed to
/// its key manager (the root key unwraps it, it is parsed), and the parsed key is cached. With
/// `cache: nil` every KAO pays the full lookup, unwrap and parse, which is what the OpenTDF Go
/// KAS does (spec §5, §6.8): the harness's `uncached-reference` path.
public final class RegistryKeySource: KeySource {
    public let store: any KeyStore
    public let managers: DelegatingKeyManager
    public let cache: KeyCache<KeyResolution>?
    /// The legacy kids are read once per TTL, not per kid-free KAO.
    private let legacyCache: KeyCache<[String]>?
    private static let legacyListKey = "\u{0}legacy"

    public init(store: any KeyStore, managers: DelegatingKeyManager, cache: KeyCache<KeyResolution>? = KeyCache()) {
        self.store = store
        self.managers = managers
        self.cache = cache
        self.legacyCache = cache.map { cache in KeyCache<[String]>(limits: cache.limits, clock: cache.clock) }
        // This process's own changes take effect at once; other processes' after the TTL.
        store.onChange { [weak cache, weak legacyCache] kids in
            for kid in kids { cache?.invalidate(kid) }
            legacyCache?.invalidateAll()
        }
    }

    public func resolve(kid: String) -> KeyResolution? {
        guard let cache else { return load(kid) }
        do {
            return try cache.value(for: kid) { () throws(RegistryError) -> KeyCache<KeyResolution>.Loaded in
                guard let record = try store.key(kid: kid) else { return nil }
                let resolution = managers.resolve(record)
                // A key that will serve many KAOs pays its first-use costs (RSA Montgomery and
                // blinding setup, ~1 ms) here, once, not on a request.
                if case .local(let key) = resolution { key.privateKey.warmUp() }
                return (resolution, Self.approximateBytes(resolution))
            }
        } catch {
            return .unavailable(.keyLookupFailed)
        }
    }

    public func legacyKeys() -> [KASKey] {
        let kids: [String]
        do {
            if let legacyCache {
                kids = try legacyCache.value(for: Self.legacyListKey) { () throws(RegistryError) -> KeyCache<[String]>.Loaded in
                    (try store.legacyKeys().map(\.kid), 64)
                } ?? []
            } else {
                kids = try store.legacyKeys().map(\.kid)
            }
        } catch {
            return []
        }
        return kids.compactMap { kid in
            if case .local(let key)? = resolve(kid: kid), key.algorithm == .rsa2048 { return key }
            return nil
        }
    }

    /// PROVIDER_ROOT_KEY keys: the provider's manager unwraps the private key (a remote call)
    /// once; the parsed key then sits in the cache like any other. Needs the cache.
    public func prepare(kids: Set<String>) async {
        guard let cache else { return }
        for kid in kids where !cache.contains(kid) {
            guard let record = try? store.key(kid: kid), record.mode == .providerRootKey,
                  let resolution = await managers.prepare(record)
            else { continue }
            if case .local(let key) = resolution { key.privateKey.warmUp() }
            cache.insert(kid, value: resolution, bytes: Self.approximateBytes(resolution))
        }
    }

    public var needsPreparation: Bool { cache != nil }

    private func load(_ kid: String) -> KeyResolution? {
        do {
            guard let record = try store.key(kid: kid) else { return nil }
            return managers.resolve(record)
        } catch {
            return .unavailable(.keyLookupFailed)
        }
    }

    /// A parsed key's footprint, for the cache's byte bound: the key's components plus OpenSSL's
    /// per-key state (Montgomery contexts, blinding) — a few times the modulus for RSA.
    static func approximateBytes(_ resolution: KeyResolution) -> Int {
        switch resolution {
        case .local(let key):
            switch key.algorithm {
            case .rsa(let bits): return 1024 + bits / 8 * 12
            case .ec(let curve): return 1024 + curve.coordinateByteCount * 8
            }
        case .remote, .unavailable:
            return 256
        }
    }
}
