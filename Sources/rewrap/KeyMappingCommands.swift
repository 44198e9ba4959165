import ArgumentParser
import RewrapCrypto
import RewrapRegistry
import RewrapRegistrySQLite

// keys set-base / get-base / map / unmap / mappings / public-key.

struct SetBaseKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-base", abstract: "Make a key the KAS's base key.")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id (must be ACTIVE).") var kid: String
    func run() throws {
        try registry.withStore { store in
            try store.setBaseKey(kid: kid)
            print("base key: \(kid)")
        }
    }
}

struct GetBaseKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get-base", abstract: "Show the base key, as /.well-known/opentdf-configuration publishes it.")
    @OptionGroup var registry: RegistryOptions
    func run() throws {
        try registry.withStore { store in
            guard let record = try store.baseKey() else { throw CLIError("no base key is set") }
            if registry.json {
                Output.json(["kid": record.kid, "algorithm": record.algorithm.description, "pem": record.publicKeyPEM])
            } else {
                Output.key(record, json: false)
            }
        }
    }
}

/// What `map` and `unmap` share: the registry, the key, exactly one attribute FQN, and the
/// check-change-report body.
struct MappingChange: ParsableArguments {
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Key id.") var kid: String
    @Option(help: "Attribute namespace FQN.") var namespace: String?
    @Option(help: "Attribute definition FQN.") var definition: String?
    @Option(help: "Attribute value FQN.") var value: String?

    func mapping() throws -> KeyMapping {
        let given = [(KeyMapping.Kind.namespace, namespace), (.definition, definition), (.value, value)].compactMap { kind, fqn in
            fqn.map { (kind, $0) }
        }
        guard given.count == 1, let (kind, fqn) = given.first else {
            throw ValidationError("give exactly one of --namespace, --definition, --value")
        }
        return KeyMapping(kind: kind, fqn: fqn, kid: kid)
    }

    /// Applies `change` to the registry and prints `<done> <kind> <fqn> → <kid>`.
    func apply(_ done: String, _ change: (SQLiteKeyStore, KeyMapping) throws -> Void) throws {
        let mapping = try mapping()
        try registry.withStore { store in
            try change(store, mapping)
            print("\(done) \(mapping.kind.rawValue) \(mapping.fqn) → \(kid)")
        }
    }
}

struct MapKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map", abstract: "Map an attribute namespace, definition or value to a key (writers use it to pick keys).",
        discussion: "Example:\n  rewrap keys map --kid e1 --value https://example.com/attr/classification/value/secret")
    @OptionGroup var change: MappingChange
    func run() throws { try change.apply("mapped") { try $0.map($1) } }
}

struct UnmapKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmap", abstract: "Remove a mapping.")
    @OptionGroup var change: MappingChange
    func run() throws { try change.apply("unmapped") { try $0.unmap($1) } }
}

struct ListMappings: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mappings", abstract: "List key mappings.")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Only mappings of this key.") var kid: String?
    func run() throws {
        try registry.withStore { store in
            Output.list(try store.mappings(kid: kid), json: registry.json, header: ["KIND", "FQN", "KID"]) {
                [$0.kind.rawValue, $0.fqn, $0.kid]
            }
        }
    }
}

struct PublicKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public-key", abstract: "What a writer is given for an algorithm: the newest ACTIVE, non-legacy key.",
        discussion: "Example:\n  rewrap keys public-key --alg ec:secp256r1 --json")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Algorithm.") var alg: KeyAlgorithm = .rsa2048
    func run() throws {
        try registry.withStore { store in
            guard let record = try store.activeKey(algorithm: alg) else {
                throw CLIError("no ACTIVE \(alg) key")
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
