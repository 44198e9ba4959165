import Foundation
import RewrapCrypto
import RewrapEngine
import Synchronization

/// Turns a registry key record into something the engine can unwrap DEKs with (spec §6.5's
/// `KeyManager`, in Swift terms). A local manager returns the parsed private key
/// (`.local`), and the engine does the crypto on its worker threads; a remote manager (KMS,
/// HSM) keeps the key and does the unwrap itself.
public protocol KeyManager: Sendable {
    /// The name provider configs route by, e.g. `opentdf.io/basic`.
    var name: String { get }
    func resolve(_ record: KeyRecord) throws(KeyManagerError) -> KeyResolution
    /// For keys that need a remote call before local use (PROVIDER_ROOT_KEY: the provider
    /// unwraps the private key): the resolution after that call, to be cached; nil if `resolve`
    /// needs no such step for this record.
    func prepare(_ record: KeyRecord) async throws(KeyManagerError) -> KeyResolution?
}

extension KeyManager {
    public func prepare(_ record: KeyRecord) async throws(KeyManagerError) -> KeyResolution? { nil }
}

public enum KeyManagerError: Error, Equatable, CustomStringConvertible {
    /// The key material does not open or does not parse: a registry or configuration problem.
    case unusableKey(kid: String, reason: String)
    case noManager(String)

    public var description: String {
        switch self {
        case .unusableKey(let kid, let reason): return "key \(kid) cannot be used: \(reason)"
        case .noManager(let name): return "no key manager registered for \(name)"
        }
    }
}

/// OpenTDF's BasicManager (`opentdf.io/basic`): CONFIG_ROOT_KEY keys are unwrapped with the KAS
/// root key (spec §6.3) and parsed once per load.
public struct BasicKeyManager: KeyManager {
    public static let managerName = "opentdf.io/basic"
    public var name: String { Self.managerName }
    private let rootKey: RootKey?

    /// `rootKey` nil: the KAS has no root key configured, so wrapped keys cannot be opened.
    public init(rootKey: RootKey?) { self.rootKey = rootKey }

    public func resolve(_ record: KeyRecord) throws(KeyManagerError) -> KeyResolution {
        guard let rootKey else { throw .unusableKey(kid: record.kid, reason: "no root key is configured") }
        guard let wrapped = record.privateKeyContext?.wrappedKey, !wrapped.isEmpty else {
            throw .unusableKey(kid: record.kid, reason: "no wrapped private key")
        }
        let key: PrivateKey
        do {
            key = try PrivateKey(pem: rootKey.unwrap(wrappedKeyBase64: wrapped))
        } catch {
            throw .unusableKey(kid: record.kid, reason: "\(error)")
        }
        guard key.algorithm == record.algorithm else {
            throw .unusableKey(kid: record.kid, reason: "the private key is \(key.algorithm), the record says \(record.algorithm)")
        }
        return .local(KASKey(kid: record.kid, privateKey: key, legacy: record.legacy))
    }
}

/// Picks the manager for a key from its mode and provider config (OpenTDF's
/// DelegatingKeyService): CONFIG_ROOT_KEY → the default manager; PROVIDER_ROOT_KEY and REMOTE →
/// the manager named by the provider config's `manager`, built once per (manager, provider) by
/// its registered factory; PUBLIC_KEY_ONLY → cannot rewrap.
public final class DelegatingKeyManager: Sendable {
    public typealias Factory = @Sendable (ProviderConfig) throws(KeyManagerError) -> any KeyManager

    private let defaultManager: any KeyManager
    private let factories: [String: Factory]
    private let instances = Mutex<[String: any KeyManager]>([:])

    public init(default defaultManager: any KeyManager, factories: [String: Factory] = [:]) {
        self.defaultManager = defaultManager
        self.factories = factories
    }

    /// The async step of a PROVIDER_ROOT_KEY key (nil for every other mode).
    public func prepare(_ record: KeyRecord) async -> KeyResolution? {
        guard record.mode == .providerRootKey, let config = record.providerConfig else { return nil }
        guard case .success(let manager) = managerFor(config) else { return .unavailable(.noManagerRegistered(config.manager)) }
        do {
            return try await manager.prepare(record)
        } catch {
            return .unavailable(.keyLookupFailed)
        }
    }

    public func resolve(_ record: KeyRecord) -> KeyResolution {
        let manager: any KeyManager
        switch record.mode {
        case .publicKeyOnly:
            return .unavailable(.publicKeyOnly)
        case .configRootKey:
            manager = defaultManager
        case .providerRootKey, .remote:
            guard let config = record.providerConfig else { return .unavailable(.noManagerRegistered("")) }
            switch managerFor(config) {
            case .success(let found): manager = found
            case .failure: return .unavailable(.noManagerRegistered(config.manager))
            }
        }
        do {
            return try manager.resolve(record)
        } catch {
            // Registry or configuration trouble, not secret-dependent: say it is a lookup failure.
            return .unavailable(.keyLookupFailed)
        }
    }

    private func managerFor(_ config: ProviderConfig) -> Result<any KeyManager, KeyManagerError> {
        let key = config.manager + "\u{0}" + config.name
        if let existing = instances.withLock({ $0[key] }) { return .success(existing) }
        guard let factory = factories[config.manager] else { return .failure(.noManager(config.manager)) }
        do {
            let made = try factory(config)
            instances.withLock { $0[key] = made }
            return .success(made)
        } catch {
            return .failure(error)
        }
    }
}
