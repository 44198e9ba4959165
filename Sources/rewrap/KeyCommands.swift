import ArgumentParser
import Foundation
import RewrapCrypto
import RewrapRegistry

// keys create / import / list / get / rotate, and the test-only import-loop.

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
    @Option(help: "Key algorithm.") var alg: KeyAlgorithm
    @Flag(help: "Serve kid-free RSA KAOs with this key (rsa:2048 only; at most one legacy key).") var legacy = false

    func run() throws {
        if legacy, alg != .rsa2048 { throw ValidationError("--legacy applies to rsa:2048 keys only") }
        try reportingErrors {
            let rootKey = try registry.rootKey(required: true)!
            let store = try registry.openStore()
            let key = try PrivateKey.generate(alg)
            let record = try store.create(KeyRecord.rootWrapped(kid: kid, privateKey: key, rootKey: rootKey, legacy: legacy))
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
          --wrapped-key (base64 of nonce ‖ AES-256-GCM(root key, PKCS#8 PEM) ‖ tag, as
          OpenTDF stores it).
        --mode provider-root-key: --wrapped-key and --provider (the provider's manager unwraps it). --mode \
        remote: --provider and --remote-key-id (e.g. a KMS key ARN) and --public. --mode public-key-only: \
        --public only (such a key cannot rewrap).

        Examples:
          rewrap keys import --kid r1 --private r1-private.pem
          rewrap keys import --kid ext --mode public-key-only --public other-kas.pem
          rewrap keys import --kid kms1 --mode remote --provider aws --remote-key-id \\
              arn:aws:kms:…:key/… --public kms1.pem
        """)

    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id writers put in KAOs.") var kid: String
    @Option(help: "Algorithm (default: read from the key).") var alg: KeyAlgorithm?
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
                    context = try .rootWrapped(key, rootKey: rootKey)
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
                    context = PrivateKeyContext(keyID: remoteKeyID ?? (keyMode == .configRootKey ? PrivateKeyContext.rootKeyID : ""), wrappedKey: wrappedKey)
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
            let algorithm = alg ?? parsedAlgorithm ?? publicAlgorithm
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
    @Option(help: "Only this algorithm.") var alg: KeyAlgorithm?
    @Option(help: "active | rotated") var status: String?
    @Option(help: "true | false") var legacy: Bool?

    func run() throws {
        var keyStatus: KeyStatus?
        if let status {
            guard let parsed = KeyStatus(name: status) else { throw ValidationError("--status is active or rotated") }
            keyStatus = parsed
        }
        try registry.withStore { store in
            let records = try store.keys(KeyFilter(algorithm: alg, status: keyStatus, legacy: legacy))
            Output.keys(records, json: registry.json)
        }
    }
}

struct GetKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one key (never its private material).")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id.") var kid: String

    func run() throws {
        try registry.withStore { store in
            guard let record = try store.key(kid: kid) else { throw CLIError("no key with kid \(kid)") }
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
            let newKey = try PrivateKey.generate(old.algorithm)
            let result = try store.rotate(kid: kid, to: KeyRecord.rootWrapped(kid: newKid, privateKey: newKey, rootKey: rootKey))
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
                                       privateKeyContext: PrivateKeyContext(keyID: PrivateKeyContext.rootKeyID, wrappedKey: wrappedKey)))
            print(kid)
            fflush(nil)
        }
    }
}
