import ArgumentParser
import Foundation
import RewrapCrypto
import RewrapEngine
import RewrapRegistry
import RewrapRegistrySQLite
import RewrapWire

/// Options every registry command shares.
struct RegistryOptions: ParsableArguments {
    @Option(help: "Key registry database (default: $REWRAP_DB, else ./rewrap-keys.sqlite). Created on first use, mode 0600.")
    var db: String?

    @Option(help: "File holding the root key as 64 hex characters (default: the REWRAP_ROOT_KEY environment variable).")
    var rootKeyFile: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    var databasePath: String {
        db ?? ProcessInfo.processInfo.environment["REWRAP_DB"] ?? "rewrap-keys.sqlite"
    }

    func openStore() throws -> SQLiteKeyStore {
        do {
            return try SQLiteKeyStore(path: databasePath)
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// The root key, never taken from the command line (it would show in `ps`).
    func rootKey(required: Bool) throws -> RootKey? {
        var text: String?
        if let rootKeyFile {
            do {
                text = try String(contentsOfFile: rootKeyFile, encoding: .utf8)
            } catch {
                throw CLIError("cannot read --root-key-file \(rootKeyFile): \((error as NSError).localizedDescription)")
            }
        } else {
            text = ProcessInfo.processInfo.environment["REWRAP_ROOT_KEY"]
        }
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            if required {
                throw CLIError("no root key: set REWRAP_ROOT_KEY to 64 hex characters or pass --root-key-file")
            }
            return nil
        }
        do {
            return try RootKey(hex: text)
        } catch {
            throw CLIError("the root key is unusable: \(error)")
        }
    }
}

/// A usage or data error with a clear message; exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Registry output: a table for people, JSON for scripts. Never prints key material.
enum Output {
    struct KeyView: Codable {
        var id: String
        var kid: String
        var algorithm: String
        var algorithmEnum: Int
        var status: String
        var mode: String
        var legacy: Bool
        var provider: String?
        var privateKeyID: String?
        var wrappedKeyBytes: Int?
        var publicKeyPEM: String
        var createdAt: String
        var updatedAt: String
    }

    static func view(_ record: KeyRecord) -> KeyView {
        let formatter = ISO8601DateFormatter()
        let wrapped = record.privateKeyContext?.wrappedKey ?? ""
        return KeyView(
            id: record.id, kid: record.kid, algorithm: record.algorithm.description, algorithmEnum: record.algorithmEnumValue,
            status: record.status.description, mode: record.mode.description, legacy: record.legacy,
            provider: record.providerConfig?.name, privateKeyID: record.privateKeyContext?.keyID.nilIfEmpty,
            wrappedKeyBytes: wrapped.isEmpty ? nil : Base64.decode(wrapped, options: .protoJSON)?.count,
            publicKeyPEM: record.publicKeyPEM, createdAt: formatter.string(from: record.createdAt),
            updatedAt: formatter.string(from: record.updatedAt))
    }

    static func json<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try! encoder.encode(value), as: UTF8.self))
    }

    static func keys(_ records: [KeyRecord], json asJSON: Bool) {
        if asJSON { return json(records.map(view)) }
        table(["KID", "ALGORITHM", "STATUS", "MODE", "LEGACY", "PROVIDER", "CREATED"], records.map { record in
            [record.kid, record.algorithm.description, record.status.description, record.mode.description,
             record.legacy ? "yes" : "", record.providerConfig?.name ?? "",
             ISO8601DateFormatter().string(from: record.createdAt)]
        })
    }

    static func key(_ record: KeyRecord, json asJSON: Bool) {
        if asJSON { return json(view(record)) }
        let v = view(record)
        let rows: [(String, String)] = [
            ("kid", v.kid), ("id", v.id), ("algorithm", "\(v.algorithm) (enum \(v.algorithmEnum))"), ("status", v.status),
            ("mode", v.mode), ("legacy", v.legacy ? "yes" : "no"), ("provider", v.provider ?? "-"),
            ("private key id", v.privateKeyID ?? "-"), ("wrapped key", v.wrappedKeyBytes.map { "\($0) bytes" } ?? "-"),
            ("created", v.createdAt), ("updated", v.updatedAt),
        ]
        for (name, value) in rows { print(name.padding(toLength: 15, withPad: " ", startingAt: 0) + value) }
        print(v.publicKeyPEM, terminator: v.publicKeyPEM.hasSuffix("\n") ? "" : "\n")
    }

    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        print(line(header))
        for row in rows { print(line(row)) }
        if rows.isEmpty { print("(none)") }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// Exits 1 with the message for registry and CLI errors; lets ArgumentParser handle the rest.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("rewrap: \(error.description)\n".utf8))
        throw ExitCode(1)
    } catch let error as RegistryError {
        FileHandle.standardError.write(Data("rewrap: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// A text file named by an option, with a message that names the option when it cannot be read.
func readTextFile(_ path: String, option: String) throws -> String {
    guard FileManager.default.fileExists(atPath: path) else { throw CLIError("cannot read \(option) \(path): no such file") }
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw CLIError("cannot read \(option) \(path): \((error as NSError).localizedDescription)")
    }
}

func parseAlgorithm(_ text: String) throws -> KeyAlgorithm {
    guard let algorithm = KeyAlgorithm(text) else {
        throw ValidationError("unknown algorithm '\(text)'; use rsa:2048, rsa:3072, rsa:4096, ec:secp256r1, ec:secp384r1 or ec:secp521r1")
    }
    return algorithm
}

/// A fresh key, its PKCS#8 PEM wrapped by the root key, as a CONFIG_ROOT_KEY record.
func makeRootWrappedRecord(kid: String, algorithm: KeyAlgorithm, rootKey: RootKey, legacy: Bool) throws -> KeyRecord {
    let key = try PrivateKey.generate(algorithm)
    let wrapped = try rootKey.wrap(key.pkcs8PEM())
    return KeyRecord(kid: kid, algorithm: algorithm, mode: .configRootKey, publicKeyPEM: try key.publicKey.pem(),
                     privateKeyContext: PrivateKeyContext(keyID: "root", wrappedKey: wrapped), legacy: legacy)
}

// MARK: - keys create / import / list / get / rotate

struct CreateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Generate a key in process, wrap it with the root key, and store it (CONFIG_ROOT_KEY).",
        discussion: """
        Examples:
          export REWRAP_ROOT_KEY=$(openssl rand -hex 32)
          rewrap keys create --kid r1 --alg rsa:2048 --legacy
          rewrap keys create --kid e1 --alg ec:secp256r1 --db /var/lib/kas/keys.sqlite
        """)

    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id writers will put in KAOs.") var kid: String
    @Option(help: "rsa:2048 | rsa:3072 | rsa:4096 | ec:secp256r1 | ec:secp384r1 | ec:secp521r1") var alg: String
    @Flag(help: "Serve kid-free RSA KAOs with this key (rsa:2048 only; at most one legacy key).") var legacy = false

    func run() throws {
        let algorithm = try parseAlgorithm(alg)
        if legacy, algorithm != .rsa2048 { throw ValidationError("--legacy applies to rsa:2048 keys only") }
        try reportingErrors {
            let rootKey = try registry.rootKey(required: true)!
            let store = try registry.openStore()
            let record = try store.create(makeRootWrappedRecord(kid: kid, algorithm: algorithm, rootKey: rootKey, legacy: legacy))
            Output.key(record, json: registry.json)
        }
    }
}

struct ImportKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Register an existing key: a PEM private key, an already wrapped key, a remote key, or a public key only.",
        discussion: """
        --mode config-root-key (default): give --private PEM (wrapped here with the root key) or
          --wrapped-key (base64 of nonce ‖ AES-256-GCM(root key, PKCS#8 PEM) ‖ tag, as OpenTDF stores it).
        --mode provider-root-key: --wrapped-key and --provider (the provider's manager unwraps it).
        --mode remote: --provider and --remote-key-id (e.g. a KMS key ARN) and --public.
        --mode public-key-only: --public only (such a key cannot rewrap).

        Examples:
          rewrap keys import --kid r1 --private r1-private.pem
          rewrap keys import --kid ext --mode public-key-only --public other-kas.pem
          rewrap keys import --kid kms1 --mode remote --provider aws --remote-key-id arn:aws:kms:…:key/… --public kms1.pem
        """)

    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id writers put in KAOs.") var kid: String
    @Option(help: "Algorithm (default: read from the key).") var alg: String?
    @Option(help: "config-root-key | provider-root-key | remote | public-key-only") var mode = "config-root-key"
    @Option(help: "PEM private key file (PKCS#8, or PKCS#1 for RSA).") var `private`: String?
    @Option(help: "Public key file (SPKI or certificate PEM). Default: derived from --private.") var `public`: String?
    @Option(help: "Wrapped private key (base64).") var wrappedKey: String?
    @Option(help: "Provider config name (see `rewrap providers`).") var provider: String?
    @Option(help: "Remote key id (REMOTE), or the id of the wrapping key.") var remoteKeyID: String?
    @Flag(help: "Serve kid-free RSA KAOs with this key.") var legacy = false

    func run() throws {
        guard let keyMode = KeyMode(name: mode) else {
            throw ValidationError("unknown --mode '\(mode)'; use config-root-key, provider-root-key, remote or public-key-only")
        }
        try reportingErrors {
            let store = try registry.openStore()
            var publicPEM: String?
            if let path = `public` {
                publicPEM = try readTextFile(path, option: "--public")
            }
            var context: PrivateKeyContext?
            var parsedAlgorithm: KeyAlgorithm?
            switch keyMode {
            case .configRootKey, .providerRootKey:
                if let path = `private` {
                    guard keyMode == .configRootKey else { throw CLIError("--private is for config-root-key; give --wrapped-key") }
                    let rootKey = try registry.rootKey(required: true)!
                    let key: PrivateKey
                    do {
                        key = try PrivateKey(pem: readTextFile(path, option: "--private"))
                    } catch {
                        throw CLIError("\(path): \(error)")
                    }
                    parsedAlgorithm = key.algorithm
                    publicPEM = try publicPEM ?? key.publicKey.pem()
                    context = PrivateKeyContext(keyID: "root", wrappedKey: try rootKey.wrap(key.pkcs8PEM()))
                } else if let wrappedKey {
                    if keyMode == .configRootKey, let rootKey = try registry.rootKey(required: false) {
                        // Check it opens now rather than at the first rewrap.
                        do {
                            let key = try PrivateKey(pem: rootKey.unwrap(wrappedKeyBase64: wrappedKey))
                            parsedAlgorithm = key.algorithm
                            publicPEM = try publicPEM ?? key.publicKey.pem()
                        } catch {
                            throw CLIError("--wrapped-key does not open with the root key: \(error)")
                        }
                    }
                    context = PrivateKeyContext(keyID: remoteKeyID ?? (keyMode == .configRootKey ? "root" : ""), wrappedKey: wrappedKey)
                } else {
                    throw CLIError("\(keyMode) needs --private or --wrapped-key")
                }
            case .remote:
                guard let remoteKeyID else { throw CLIError("REMOTE keys need --remote-key-id") }
                context = PrivateKeyContext(keyID: remoteKeyID)
            case .publicKeyOnly:
                guard `private` == nil, wrappedKey == nil else { throw CLIError("public-key-only keys take no private key") }
            }
            guard let publicPEM else { throw CLIError("give --public (the key's public PEM)") }
            let publicAlgorithm: KeyAlgorithm
            do {
                publicAlgorithm = try PublicKey(pem: publicPEM).algorithm
            } catch {
                throw CLIError("--public: \(error)")
            }
            let algorithm = try alg.map(parseAlgorithm) ?? parsedAlgorithm ?? publicAlgorithm
            var providerConfig: ProviderConfig?
            if let provider {
                guard let found = try store.provider(name: provider) else {
                    throw CLIError("no provider named \(provider); add it with `rewrap providers add`")
                }
                providerConfig = found
            }
            let record = try store.create(KeyRecord(
                kid: kid, algorithm: algorithm, mode: keyMode, publicKeyPEM: publicPEM, privateKeyContext: context,
                providerConfig: providerConfig, legacy: legacy))
            Output.key(record, json: registry.json)
        }
    }
}

struct ListKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List keys.",
        discussion: "Examples:\n  rewrap keys list\n  rewrap keys list --alg ec:secp256r1 --status active --json")

    @OptionGroup var registry: RegistryOptions
    @Option(help: "Only this algorithm.") var alg: String?
    @Option(help: "active | rotated") var status: String?
    @Option(help: "true | false") var legacy: Bool?

    func run() throws {
        let algorithm = try alg.map(parseAlgorithm)
        var keyStatus: KeyStatus?
        if let status {
            guard let parsed = KeyStatus(name: status) else { throw ValidationError("--status is active or rotated") }
            keyStatus = parsed
        }
        try reportingErrors {
            let records = try registry.openStore().keys(KeyFilter(algorithm: algorithm, status: keyStatus, legacy: legacy))
            Output.keys(records, json: registry.json)
        }
    }
}

struct GetKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one key (never its private material).")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id.") var kid: String

    func run() throws {
        try reportingErrors {
            guard let record = try registry.openStore().key(kid: kid) else { throw CLIError("no key with kid \(kid)") }
            Output.key(record, json: registry.json)
        }
    }
}

struct RotateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a key: a new ACTIVE key takes over the base key and mappings; the old one becomes ROTATED and keeps decrypting.",
        discussion: "Example:\n  rewrap keys rotate --kid e1 --new-kid e2")

    @OptionGroup var registry: RegistryOptions
    @Option(help: "The key to rotate.") var kid: String
    @Option(help: "Kid of the new key (generated in process, same algorithm, wrapped by the root key).") var newKid: String

    func run() throws {
        try reportingErrors {
            let rootKey = try registry.rootKey(required: true)!
            let store = try registry.openStore()
            guard let old = try store.key(kid: kid) else { throw CLIError("no key with kid \(kid)") }
            let result = try store.rotate(kid: kid, to: makeRootWrappedRecord(kid: newKid, algorithm: old.algorithm, rootKey: rootKey, legacy: false))
            if registry.json {
                struct View: Codable { var newKey: Output.KeyView; var rotatedKey: Output.KeyView; var baseKeyMoved: Bool; var movedMappings: [KeyMapping] }
                Output.json(View(newKey: Output.view(result.newKey), rotatedKey: Output.view(result.rotatedKey),
                                 baseKeyMoved: result.baseKeyMoved, movedMappings: result.movedMappings))
            } else {
                print("rotated \(kid) → \(newKid) (\(old.algorithm)); base key moved: \(result.baseKeyMoved ? "yes" : "no"); mappings moved: \(result.movedMappings.count)")
                for mapping in result.movedMappings { print("  \(mapping.kind.rawValue) \(mapping.fqn) → \(mapping.kid)") }
            }
        }
    }
}

// MARK: - base key, mappings, public key

struct SetBaseKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-base", abstract: "Make a key the KAS's base key.")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id (must be ACTIVE).") var kid: String
    func run() throws {
        try reportingErrors {
            try registry.openStore().setBaseKey(kid: kid)
            print("base key: \(kid)")
        }
    }
}

struct GetBaseKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get-base", abstract: "Show the base key, as /.well-known/opentdf-configuration publishes it.")
    @OptionGroup var registry: RegistryOptions
    func run() throws {
        try reportingErrors {
            guard let record = try registry.openStore().baseKey() else { throw CLIError("no base key is set") }
            if registry.json {
                Output.json(["kid": record.kid, "algorithm": record.algorithm.description, "pem": record.publicKeyPEM])
            } else {
                Output.key(record, json: false)
            }
        }
    }
}

struct MappingOptions: ParsableArguments {
    @Option(help: "Attribute namespace FQN.") var namespace: String?
    @Option(help: "Attribute definition FQN.") var definition: String?
    @Option(help: "Attribute value FQN.") var value: String?

    func mapping(kid: String) throws -> KeyMapping {
        let given = [(KeyMapping.Kind.namespace, namespace), (.definition, definition), (.value, value)].compactMap { kind, fqn in
            fqn.map { (kind, $0) }
        }
        guard given.count == 1, let (kind, fqn) = given.first else {
            throw ValidationError("give exactly one of --namespace, --definition, --value")
        }
        return KeyMapping(kind: kind, fqn: fqn, kid: kid)
    }
}

struct MapKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map", abstract: "Map an attribute namespace, definition or value to a key (writers use it to pick keys).",
        discussion: "Example:\n  rewrap keys map --kid e1 --value https://example.com/attr/classification/value/secret")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id.") var kid: String
    @OptionGroup var target: MappingOptions
    func run() throws {
        let mapping = try target.mapping(kid: kid)
        try reportingErrors {
            try registry.openStore().map(mapping)
            print("mapped \(mapping.kind.rawValue) \(mapping.fqn) → \(kid)")
        }
    }
}

struct UnmapKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmap", abstract: "Remove a mapping.")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id.") var kid: String
    @OptionGroup var target: MappingOptions
    func run() throws {
        let mapping = try target.mapping(kid: kid)
        try reportingErrors {
            try registry.openStore().unmap(mapping)
            print("unmapped \(mapping.kind.rawValue) \(mapping.fqn) → \(kid)")
        }
    }
}

struct ListMappings: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mappings", abstract: "List key mappings.")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Only mappings of this key.") var kid: String?
    func run() throws {
        try reportingErrors {
            let mappings = try registry.openStore().mappings(kid: kid)
            if registry.json { return Output.json(mappings) }
            Output.table(["KIND", "FQN", "KID"], mappings.map { [$0.kind.rawValue, $0.fqn, $0.kid] })
        }
    }
}

struct PublicKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public-key", abstract: "What a writer is given for an algorithm: the newest ACTIVE, non-legacy key.",
        discussion: "Example:\n  rewrap keys public-key --alg ec:secp256r1 --json")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Algorithm.") var alg: String = "rsa:2048"
    func run() throws {
        let algorithm = try parseAlgorithm(alg)
        try reportingErrors {
            guard let record = try registry.openStore().activeKey(algorithm: algorithm) else {
                throw CLIError("no ACTIVE \(algorithm) key")
            }
            if registry.json {
                Output.json(["kid": record.kid, "publicKey": record.publicKeyPEM])
            } else {
                print("kid: \(record.kid)")
                print(record.publicKeyPEM, terminator: record.publicKeyPEM.hasSuffix("\n") ? "" : "\n")
            }
        }
    }
}

// MARK: - providers

struct Providers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Key provider configs: which key manager handles PROVIDER_ROOT_KEY and REMOTE keys.",
        subcommands: [AddProvider.self, ListProviders.self])
}

struct AddProvider: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a provider config.",
        discussion: "Example:\n  rewrap providers add --name aws --manager opentdf.io/aws --config '{\"region\":\"us-east-1\"}'")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Unique name.") var name: String
    @Option(help: "Manager that handles its keys, e.g. opentdf.io/aws.") var manager: String
    @Option(help: "Manager-specific JSON.") var config = "{}"
    func run() throws {
        try reportingErrors {
            let created = try registry.openStore().createProvider(ProviderConfig(name: name, manager: manager, configJSON: config))
            print("added provider \(created.name) (\(created.manager))")
        }
    }
}

struct ListProviders: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List provider configs.")
    @OptionGroup var registry: RegistryOptions
    func run() throws {
        try reportingErrors {
            let providers = try registry.openStore().providers()
            if registry.json { return Output.json(providers) }
            Output.table(["NAME", "MANAGER", "CONFIG"], providers.map { [$0.name, $0.manager, $0.configJSON] })
        }
    }
}

/// Test support: imports `count` keys one transaction at a time and prints each kid once it is
/// committed, so a test can kill the process at any moment and check nothing committed is lost.
struct ImportLoop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import-loop", shouldDisplay: false)
    @OptionGroup var registry: RegistryOptions
    @Option var count = 1000
    @Option var prefix = "k"
    @Option var publicKey: String
    @Option var wrappedKey: String

    func run() throws {
        let store = try registry.openStore()
        let pem = try String(contentsOfFile: publicKey, encoding: .utf8)
        let algorithm = try PublicKey(pem: pem).algorithm
        for index in 0..<count {
            let kid = "\(prefix)\(index)"
            try store.create(KeyRecord(kid: kid, algorithm: algorithm, mode: .configRootKey, publicKeyPEM: pem,
                                       privateKeyContext: PrivateKeyContext(keyID: "root", wrappedKey: wrappedKey)))
            print(kid)
            fflush(nil)
        }
    }
}
