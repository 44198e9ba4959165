import Foundation
import RewrapCrypto
import RewrapEngine

/// A key in the registry, as OpenTDF's kas-registry models it (`policy.AsymmetricKey`,
/// spec §6.2): the kid writers put in KAOs, its algorithm, status and mode, the public key, and
/// where the private key is (wrapped by the root key, wrapped by a provider's key, or remote).
public struct KeyRecord: Sendable, Equatable, Codable {
    /// Registry id (a UUID), distinct from the kid.
    public var id: String
    public var kid: String
    public var algorithm: KeyAlgorithm
    public var status: KeyStatus
    public var mode: KeyMode
    /// PEM: SPKI or an X.509 certificate.
    public var publicKeyPEM: String
    public var privateKeyContext: PrivateKeyContext?
    /// Name of the provider config (PROVIDER_ROOT_KEY, REMOTE).
    public var providerConfig: ProviderConfig?
    /// Tried for kid-free RSA KAOs; at most one legacy key.
    public var legacy: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String = UUID().uuidString.lowercased(), kid: String, algorithm: KeyAlgorithm, status: KeyStatus = .active,
        mode: KeyMode, publicKeyPEM: String, privateKeyContext: PrivateKeyContext?, providerConfig: ProviderConfig? = nil,
        legacy: Bool = false, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.kid = kid
        self.algorithm = algorithm
        self.status = status
        self.mode = mode
        self.publicKeyPEM = publicKeyPEM
        self.privateKeyContext = privateKeyContext
        self.providerConfig = providerConfig
        self.legacy = legacy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// OpenTDF's `Algorithm` enum value (rsa:3072 has none: 0, unspecified).
    public var algorithmEnumValue: Int { KeyRecord.enumValue(of: algorithm) }

    public static func enumValue(of algorithm: KeyAlgorithm) -> Int {
        switch algorithm {
        case .rsa(2048): return 1
        case .rsa(4096): return 2
        case .ec(.p256): return 3
        case .ec(.p384): return 4
        case .ec(.p521): return 5
        default: return 0
        }
    }

    /// Checks spec §6.2's mode rules and that the public key parses as the stated algorithm.
    public func validate() throws(RegistryError) {
        guard !kid.isEmpty else { throw .invalid("kid must not be empty") }
        guard kid.utf8.count <= 256 else { throw .invalid("kid is longer than 256 bytes") }
        let wrapped = privateKeyContext?.wrappedKey ?? ""
        switch mode {
        case .configRootKey:
            guard !wrapped.isEmpty else { throw .invalid("CONFIG_ROOT_KEY keys need a wrapped private key") }
            guard providerConfig == nil else { throw .invalid("CONFIG_ROOT_KEY keys must not name a provider config") }
        case .providerRootKey:
            guard !wrapped.isEmpty else { throw .invalid("PROVIDER_ROOT_KEY keys need a wrapped private key") }
            guard providerConfig != nil else { throw .invalid("PROVIDER_ROOT_KEY keys need a provider config") }
        case .remote:
            guard wrapped.isEmpty else { throw .invalid("REMOTE keys must not carry a wrapped key (the private key stays in the KMS)") }
            guard providerConfig != nil else { throw .invalid("REMOTE keys need a provider config") }
            guard let remoteID = privateKeyContext?.keyID, !remoteID.isEmpty else {
                throw .invalid("REMOTE keys need the remote key id (private key context key_id)")
            }
        case .publicKeyOnly:
            guard privateKeyContext == nil else { throw .invalid("PUBLIC_KEY_ONLY keys must not have a private key context") }
            guard providerConfig == nil else { throw .invalid("PUBLIC_KEY_ONLY keys must not name a provider config") }
        }
        let publicKey: PublicKey
        do {
            publicKey = try PublicKey(pem: publicKeyPEM)
        } catch {
            throw .invalid("public key: \(error)")
        }
        guard publicKey.algorithm == algorithm else {
            throw .invalid("the public key is \(publicKey.algorithm), not \(algorithm)")
        }
    }
}

public enum KeyStatus: Int, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case active = 1
    case rotated = 2

    public var description: String { self == .active ? "ACTIVE" : "ROTATED" }

    public init?(name: String) {
        switch name.uppercased() {
        case "ACTIVE", "KEY_STATUS_ACTIVE": self = .active
        case "ROTATED", "KEY_STATUS_ROTATED": self = .rotated
        default: return nil
        }
    }
}

/// Where the private key lives (spec §6.2).
public enum KeyMode: Int, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Wrapped by the KAS root key; unwrapped and used locally.
    case configRootKey = 1
    /// Wrapped by a key held by an external provider; that provider unwraps it, crypto is local.
    case providerRootKey = 2
    /// Never leaves the KMS/HSM; every unwrap is a remote call.
    case remote = 3
    /// No private key here (another organisation's KAS): cannot rewrap.
    case publicKeyOnly = 4

    public var description: String {
        switch self {
        case .configRootKey: return "CONFIG_ROOT_KEY"
        case .providerRootKey: return "PROVIDER_ROOT_KEY"
        case .remote: return "REMOTE"
        case .publicKeyOnly: return "PUBLIC_KEY_ONLY"
        }
    }

    public init?(name: String) {
        let normalized = name.uppercased().replacingOccurrences(of: "-", with: "_")
        guard let mode = Self.allCases.first(where: {
            $0.description == normalized || "KEY_MODE_" + $0.description == normalized
                || $0.description.replacingOccurrences(of: "_", with: "") == normalized.replacingOccurrences(of: "_", with: "")
        }) else { return nil }
        self = mode
    }
}

/// `private_key_ctx`: the wrapped key (base64 of nonce ‖ AES-256-GCM(root or provider key,
/// PKCS#8 PEM) ‖ tag) and/or the id of the key that wraps it or, for REMOTE, of the remote key.
public struct PrivateKeyContext: Sendable, Equatable, Codable {
    public var keyID: String
    public var wrappedKey: String

    public init(keyID: String = "", wrappedKey: String = "") {
        self.keyID = keyID
        self.wrappedKey = wrappedKey
    }
}

/// A key provider (spec §6.5): which manager handles its keys, with manager-specific JSON.
public struct ProviderConfig: Sendable, Equatable, Codable {
    public var id: String
    /// Unique friendly name.
    public var name: String
    /// Manager that handles keys of this provider, e.g. `opentdf.io/basic`, `opentdf.io/aws`.
    public var manager: String
    public var configJSON: String

    public init(id: String = UUID().uuidString.lowercased(), name: String, manager: String, configJSON: String = "{}") {
        self.id = id
        self.name = name
        self.manager = manager
        self.configJSON = configJSON
    }
}

/// An attribute namespace, definition or value FQN mapped to a key (writers choose keys by
/// these; the rewrap path never reads them).
public struct KeyMapping: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case namespace, definition, value
    }

    public var kind: Kind
    public var fqn: String
    public var kid: String

    public init(kind: Kind, fqn: String, kid: String) {
        self.kind = kind
        self.fqn = fqn
        self.kid = kid
    }
}

/// What a rotation changed (spec §6.4).
public struct RotationResult: Sendable, Equatable {
    public var newKey: KeyRecord
    public var rotatedKey: KeyRecord
    public var baseKeyMoved: Bool
    public var movedMappings: [KeyMapping]

    public init(newKey: KeyRecord, rotatedKey: KeyRecord, baseKeyMoved: Bool, movedMappings: [KeyMapping]) {
        self.newKey = newKey
        self.rotatedKey = rotatedKey
        self.baseKeyMoved = baseKeyMoved
        self.movedMappings = movedMappings
    }
}

public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case notFound(String)
    case conflict(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalid(let why): return "invalid: \(why)"
        case .notFound(let what): return "not found: \(what)"
        case .conflict(let why): return "conflict: \(why)"
        case .storage(let why): return "storage failure: \(why)"
        }
    }
}

extension KeyAlgorithm: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let algorithm = KeyAlgorithm(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown algorithm \(text)"))
        }
        self = algorithm
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
