import Foundation
import RewrapAWSWire
import RewrapEngine
import RewrapKMS
import RewrapRegistry
import Synchronization

/// The key managers a KAS serves a registry with, built in one place from the registry's
/// provider configs: the basic manager (the KAS root key) for CONFIG_ROOT_KEY keys, and one
/// manager per provider config for PROVIDER_ROOT_KEY and REMOTE keys (`opentdf.io/aws`: a KMS
/// client over the HTTP transport). `rewrap request --db`, `rewrap-bench` and the server all
/// call `build`, so a provider that works for one works for all.
///
/// Every provider config with a known manager is instantiated here, so an unusable config
/// (unreadable JSON, a bad endpoint, no credentials) is an error naming the provider before any
/// request is served, not a per-KAO failure later. A provider naming a manager this build does
/// not have is reported in `unsupportedProviders`; its keys fail per KAO with
/// `no key manager registered for <manager>`.
public final class ProviderKeyManagers: Sendable {
    /// Hand this to `RegistryKeySource`.
    public let managers: DelegatingKeyManager
    /// Provider configs whose manager is not built in, as `name (manager)`.
    public let unsupportedProviders: [String]
    private let clients: [String: KMSClient]
    private let transports: Mutex<[HTTPKMSTransport]>

    /// The managers this build knows, by the name provider configs route by.
    public static let knownManagers = [BasicKeyManager.managerName, KMSKeyManager.managerName]

    /// Builds the managers for every provider config in `store`.
    ///
    /// - Parameters:
    ///   - rootKey: the KAS root key for CONFIG_ROOT_KEY keys; nil when none is configured (those
    ///     keys then fail per KAO, the others still work).
    ///   - environment: where AWS credentials come from when a provider config names none.
    public static func build(
        store: any KeyStore, rootKey: RootKey?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ProviderError) -> ProviderKeyManagers {
        let configs: [ProviderConfig]
        do {
            configs = try store.providers()
        } catch {
            throw .storeFailed("\(error)")
        }
        // Every config is checked before any connection pool is made, so a failure leaves
        // nothing to shut down.
        var kms: [(name: String, settings: KMSProviderSettings)] = []
        var unsupported: [String] = []
        for config in configs {
            switch config.manager {
            case KMSKeyManager.managerName:
                do {
                    kms.append((config.name, try KMSProviderSettings(config: config, environment: environment)))
                } catch {
                    throw .unusableProvider(name: config.name, manager: config.manager, reason: error.description)
                }
            case BasicKeyManager.managerName:
                // A provider naming the basic manager wraps with the KAS root key: nothing to build.
                break
            default:
                unsupported.append("\(config.name) (\(config.manager))")
            }
        }
        var clients: [String: KMSClient] = [:]
        var transports: [HTTPKMSTransport] = []
        for (name, settings) in kms {
            let transport = HTTPKMSTransport(endpoint: settings.endpoint, maxConnections: settings.maxInFlight)
            transports.append(transport)
            clients[name] = KMSClient(transport: transport, host: settings.hostHeader, region: settings.region,
                                      credentials: settings.credentials, maxInFlight: settings.maxInFlight)
        }
        let built = clients
        let managers = DelegatingKeyManager(
            default: BasicKeyManager(rootKey: rootKey),
            factories: [
                KMSKeyManager.managerName: { (config: ProviderConfig) throws(KeyManagerError) -> any KeyManager in
                    // Configs added after start (another process wrote the registry) are not
                    // served until restart: a KAS does not open connections to endpoints it was
                    // not started with.
                    guard let client = built[config.name] else {
                        throw .noManager("\(KMSKeyManager.managerName) (provider \(config.name) was added after start)")
                    }
                    return KMSKeyManager(client: client)
                },
                BasicKeyManager.managerName: { (_: ProviderConfig) throws(KeyManagerError) -> any KeyManager in
                    BasicKeyManager(rootKey: rootKey)
                },
            ])
        return ProviderKeyManagers(managers: managers, unsupported: unsupported, clients: clients, transports: transports)
    }

    private init(managers: DelegatingKeyManager, unsupported: [String], clients: [String: KMSClient],
                 transports: [HTTPKMSTransport]) {
        self.managers = managers
        self.unsupportedProviders = unsupported
        self.clients = clients
        self.transports = Mutex(transports)
    }

    /// The KMS client built for a provider config (its statistics: calls, throttles, retries).
    public func kmsClient(provider name: String) -> KMSClient? { clients[name] }

    /// Closes the KMS connection pools. Call once, before the value is released.
    public func shutdown() async {
        let transports = self.transports.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        for transport in transports { try? await transport.shutdown() }
    }
}

public enum ProviderError: Error, Equatable, CustomStringConvertible {
    /// The registry could not list its provider configs.
    case storeFailed(String)
    /// A provider config names a known manager but cannot be used.
    case unusableProvider(name: String, manager: String, reason: String)

    public var description: String {
        switch self {
        case .storeFailed(let why): return "cannot read the registry's provider configs: \(why)"
        case .unusableProvider(let name, let manager, let reason):
            return "provider \(name) (\(manager)) cannot be used: \(reason)"
        }
    }
}
