import ArgumentParser
import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapKeyRing
import RewrapProviders
import RewrapRegistry
import RewrapWire

@main
struct Rewrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrap",
        abstract: "OpenTDF KAS rewrap engine: key tools and one-shot rewraps.",
        discussion: """
        Try it end to end:
          # writes keys/r1-*.pem, keys/keyring.yaml
          rewrap keys generate --alg rsa:2048 --kid r1 --out keys
          rewrap keys generate --alg ec:secp256r1 --kid e1 --out keys
          rewrap keys generate --alg ec:secp256r1 --kid client --out client \\
              --keyring client/unused.yaml
          rewrap make-request --kas-public keys/e1-public.pem --kid e1 \\
              --client-public client/client-public.pem > body.json
          # body.json: an UnsignedRewrapRequest
          rewrap request --keyring keys/keyring.yaml --in body.json
        """,
        subcommands: [Keys.self, Providers.self, Request.self, MakeRequest.self, MakeTDF.self, KMSSim.self, Serve.self, DevIdP.self])
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage KAS keys: PEM files and keyrings (generate), or the key registry database (the rest).",
        discussion: """
        Registry commands take --db (default $REWRAP_DB, else ./rewrap-keys.sqlite) and read the root key \
        from REWRAP_ROOT_KEY (64 hex characters) or --root-key-file. Output is a table; --json for scripts.
        """,
        subcommands: [Generate.self, CreateKey.self, ImportKey.self, ListKeys.self, GetKey.self, RotateKey.self,
                      SetBaseKey.self, GetBaseKey.self, MapKey.self, UnmapKey.self, ListMappings.self,
                      PublicKeyCommand.self, ImportLoop.self])
}

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a KAS key pair and add it to a keyring file.",
        discussion: """
        Writes <out>/<kid>-private.pem (PKCS#8, mode 0600) and <out>/<kid>-public.pem (SPKI), then adds \
        {kid, alg, private, legacy} to the keyring file (default <out>/keyring.yaml; created if missing, \
        rewritten in canonical form otherwise).

        Examples:
          rewrap keys generate --alg rsa:2048 --kid r1 --legacy
          rewrap keys generate --alg ec:secp256r1 --kid e1 --out /etc/kas --keyring \\
              /etc/kas/keyring.yaml
        """)

    @Option(help: "Key algorithm.")
    var alg: KeyAlgorithm

    @Option(help: "Key id written into KAOs by writers.")
    var kid: String

    @Option(help: "Directory for the PEM files.")
    var out = "."

    @Option(help: "Keyring file to add the key to (default: <out>/keyring.yaml).")
    var keyring: String?

    @Flag(help: "Mark the key legacy: tried for kid-free RSA KAOs (rsa:2048 only).")
    var legacy = false

    @Flag(help: "Overwrite existing PEM files.")
    var force = false

    func validate() throws {
        guard !kid.isEmpty, kid.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ValidationError("--kid must be non-empty and use letters, digits, '-', '_' or '.'")
        }
        if legacy, alg != .rsa2048 {
            throw ValidationError("--legacy applies to rsa:2048 keys only (kid-free KAOs are RSA-2048)")
        }
    }

    func run() async throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let privatePath = (out as NSString).appendingPathComponent("\(kid)-private.pem")
        let publicPath = (out as NSString).appendingPathComponent("\(kid)-public.pem")
        let keyringPath = keyring ?? (out as NSString).appendingPathComponent("keyring.yaml")
        if !force {
            for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(path) exists; pass --force to overwrite")
            }
        }
        let key = try PrivateKey.generate(alg)
        try writeSecretFile(try key.pkcs8PEM(), to: privatePath, overwrite: force)
        try key.publicKey.pem().write(toFile: publicPath, atomically: true, encoding: .utf8)
        let keyringDirectory = URL(fileURLWithPath: keyringPath).deletingLastPathComponent().standardizedFileURL.path
        let absolutePrivate = URL(fileURLWithPath: privatePath).standardizedFileURL.path
        let relative = absolutePrivate.hasPrefix(keyringDirectory + "/")
            ? String(absolutePrivate.dropFirst(keyringDirectory.count + 1)) : absolutePrivate
        try KeyRing.appendEntry(toFile: keyringPath, kid: kid, algorithm: alg, privateKeyPath: relative, legacy: legacy)
        print("wrote \(privatePath) (0600) and \(publicPath); added kid \(kid) (\(alg)) to \(keyringPath)")
    }
}

struct Request: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrap one UnsignedRewrapRequest (JSON) and print the RewrapResponse (JSON).",
        discussion: """
        The input is the JSON of kas.UnsignedRewrapRequest: the SRT's requestBody claim. Per-KAO failures \
        are results with status "fail" and the KAS's exact error string (an unreachable KMS is "key service \
        unavailable" on each of its KAOs); they are not a request failure, and the command exits 0. A \
        request-level failure prints the Connect error envelope on stdout and exits 1. Bad usage exits 64, \
        an unreadable input 66; an unusable keyring or provider config exits 78.

        With --db, REMOTE and PROVIDER_ROOT_KEY keys are served by their provider's key manager \
        (opentdf.io/aws: AWS credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY unless the provider \
        config names them); a provider whose manager this build lacks is warned about.

        Examples:
          rewrap request --keyring keys/keyring.yaml --in body.json
          cat body.json | rewrap request --keyring keys/keyring.yaml --permit-all
          rewrap request --db rewrap-keys.sqlite --in body.json
        """)

    @Option(help: "Keyring file (YAML or JSON) listing {kid, alg, private, legacy}.")
    var keyring: String?

    @Option(help: "Rewrap against the key registry database instead of a keyring (root key from REWRAP_ROOT_KEY or --root-key-file).")
    var db: String?

    @Option(help: "File holding the registry's root key as hex.")
    var rootKeyFile: String?

    @Option(name: .customLong("in"), help: "Request body file ('-' or omitted: standard input).")
    var input: String?

    @Flag(help: "Permit policies that carry data attributes (no PDP is configured here; by default they are denied).")
    var permitAll = false

    @Flag(help: "Refuse ec-wrapped KAOs and EC client keys, like a KAS without preview.ec_tdf_enabled.")
    var disableEC = false

    func validate() throws {
        guard (keyring == nil) != (db == nil) else { throw ValidationError("give exactly one of --keyring and --db") }
    }

    func run() async throws {
        let keys: any KeySource
        var providers: ProviderKeyManagers?
        do {
            if let keyring {
                keys = try KeyRing.load(file: keyring)
            } else {
                var registry = try RegistryOptions.parse([])
                registry.db = db
                registry.rootKeyFile = rootKeyFile
                let rootKey = try registry.rootKey(required: false)
                if rootKey == nil {
                    warn("no root key (REWRAP_ROOT_KEY or --root-key-file); CONFIG_ROOT_KEY keys will fail")
                }
                let store = try registry.openStore()
                let built = try ProviderKeyManagers.build(store: store, rootKey: rootKey)
                for provider in built.unsupportedProviders {
                    warn("provider \(provider) uses a key manager this build does not have; its keys will fail")
                }
                providers = built
                keys = RegistryKeySource(store: store, managers: built.managers)
            }
        } catch {
            FileHandle.standardError.write(Data("rewrap: \(error)\n".utf8))
            throw ExitCode(78)
        }
        // The KMS connection pools are closed however the rewrap ends.
        let status = await rewrap(keys: keys)
        await providers?.shutdown()
        if status != 0 { throw ExitCode(status) }
    }

    /// Reads the body, rewraps it and prints the response; the exit status.
    private func rewrap(keys: any KeySource) async -> Int32 {
        let body: [UInt8]
        do {
            if let input, input != "-" {
                body = Array(try Data(contentsOf: URL(fileURLWithPath: input)))
            } else {
                body = Array(FileHandle.standardInput.readDataToEndOfFile())
            }
        } catch {
            FileHandle.standardError.write(Data("rewrap: cannot read \(input ?? "stdin"): \((error as NSError).localizedDescription)\n".utf8))
            return 66
        }
        var configuration = RewrapConfiguration()
        configuration.ecWrappedEnabled = !disableEC
        let engine = RewrapEngine(keys: keys, authorizer: permitAll ? PermitAll() : DenyAttributedPolicies(),
                                  configuration: configuration)
        do {
            let response = try await engine.rewrap(json: body)
            FileHandle.standardOutput.write(Data(response + [0x0A]))
            return 0
        } catch {
            print(error.connectJSON)
            FileHandle.standardError.write(Data("rewrap: request failed: \(error.detail)\n".utf8))
            return 1
        }
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data("rewrap: warning: \(message)\n".utf8))
    }
}


struct MakeRequest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-request",
        abstract: "Write a request body the way the OpenTDF Go SDK builds one (for trying `rewrap request`).",
        discussion: """
        Makes --count fresh DEKs, wraps each to the KAS public key (RSA-OAEP or EC ephemeral ECDH + HKDF + \
        AES-GCM), binds them to one policy, and prints the UnsignedRewrapRequest JSON. The DEKs are not \
        printed.

        Example:
          rewrap make-request --kas-public keys/r1-public.pem --kid r1 \\
              --client-public client-public.pem --count 3
        """)

    @Option(help: "KAS public key PEM (SPKI or certificate).")
    var kasPublic: String

    @Option(help: "kid to put in the KAOs ('' for a kid-free legacy KAO).")
    var kid: String

    @Option(help: "Client public key PEM the KAS rewraps to (RSA or EC).")
    var clientPublic: String

    @Option(help: "Number of KAOs.")
    var count = 1

    @Option(help: "Attribute value FQN for the policy (repeatable).")
    var attribute: [String] = []

    func validate() throws {
        guard (1...100_000).contains(count) else { throw ValidationError("--count must be between 1 and 100000") }
    }

    func run() async throws {
        let kasKey: PublicKey
        let clientPEM: String
        do {
            kasKey = try PublicKey(pem: readTextFile(kasPublic, option: "--kas-public"))
            clientPEM = try readTextFile(clientPublic, option: "--client-public")
            _ = try PublicKey(pem: clientPEM, allowCertificate: false)
        } catch {
            throw ValidationError("cannot use the keys: \(error)")
        }
        let writer = TDFWriter()
        let policy = TDFWriter.policyBase64(attributes: attribute)
        let kas = TDFWriter.KASPublicKey(kid: kid, key: kasKey)
        var kaos: [KeyAccess] = []
        for _ in 0..<count {
            kaos.append(try writer.keyAccess(dek: try TDFWriter.makeDEK(), policyBase64: policy, kas: kas, includeKid: !kid.isEmpty))
        }
        let request = RewrapRequestBuilder.request(clientPublicKeyPEM: clientPEM, policies: [(id: "policy", body: policy, kaos: kaos)])
        FileHandle.standardOutput.write(Data(RewrapRequestBuilder.json(request) + [0x0A]))
    }
}

struct MakeTDF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-tdf",
        abstract: "Write .tdf files the way the OpenTDF Go SDK writes them (for rewrap-bench --replay and for tests).",
        discussion: """
        Each file holds a random payload of --bytes, AES-256-GCM encrypted under a fresh DEK, and one KAO \
        per --kas-public/--kid pair (the DEK wrapped to each key). Files are named 000001.tdf, … in --out. \
        The DEKs are not written anywhere.

        Example:
          rewrap keys generate --alg rsa:2048 --kid r1 --out keys
          rewrap keys generate --alg ec:secp256r1 --kid e1 --out keys
          rewrap make-tdf --kas-public keys/r1-public.pem --kid r1 --kas-public \\
              keys/e1-public.pem --kid e1 --count 100 --out tdfs
        """)

    @Option(help: "KAS public key PEM (repeatable; pairs with --kid in order).")
    var kasPublic: [String]

    @Option(help: "kid of each --kas-public key, in the same order.")
    var kid: [String]

    @Option(help: "Folder to write the files into (created if missing).")
    var out: String

    @Option(help: "Number of files.")
    var count = 1

    @Option(help: "Payload bytes per file.")
    var bytes = 1024

    @Option(help: "Attribute value FQN for the policy (repeatable).")
    var attribute: [String] = []

    func validate() throws {
        guard !kasPublic.isEmpty, kasPublic.count == kid.count else {
            throw ValidationError("give one --kid for each --kas-public (got \(kasPublic.count) keys and \(kid.count) kids)")
        }
        guard (1...100_000).contains(count) else { throw ValidationError("--count must be between 1 and 100000") }
        guard (0...(64 << 20)).contains(bytes) else { throw ValidationError("--bytes must be between 0 and 67108864") }
    }

    func run() throws {
        var keys: [TDFWriter.KASPublicKey] = []
        for (path, kid) in zip(kasPublic, kid) {
            do {
                keys.append(TDFWriter.KASPublicKey(kid: kid, key: try PublicKey(pem: readTextFile(path, option: "--kas-public"))))
            } catch {
                throw ValidationError("cannot use \(path): \(error)")
            }
        }
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let writer = TDFWriter()
        for index in 1...count {
            let payload = try CryptoPrimitives.randomBytes(count: bytes)
            let tdf = try TDFArchive.write(plaintext: payload, kas: keys, attributes: attribute, writer: writer)
            try tdf.archive.write(to: folder.appendingPathComponent(String(format: "%06d.tdf", index)))
        }
        print("wrote \(count) .tdf file\(count == 1 ? "" : "s") to \(out)")
    }
}
