import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapRegistry
import RewrapRegistrySQLite
import Synchronization
import Testing

/// A fresh registry file in its own temporary directory, removed afterwards.
final class TemporaryRegistry {
    let directory: URL
    let path: String
    let store: SQLiteKeyStore
    let rootKey: RootKey

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("keys.sqlite").path
        store = try SQLiteKeyStore(path: path)
        rootKey = try RootKey(hex: String(repeating: "5a", count: 32))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A CONFIG_ROOT_KEY record for a fresh key; returns the record and the private key.
    func makeRecord(_ kid: String, _ algorithm: KeyAlgorithm, legacy: Bool = false) throws -> (KeyRecord, PrivateKey) {
        let key = try PrivateKey.generate(algorithm)
        return (try KeyRecord.rootWrapped(kid: kid, privateKey: key, rootKey: rootKey, legacy: legacy), key)
    }

    @discardableResult
    func add(_ kid: String, _ algorithm: KeyAlgorithm, legacy: Bool = false) throws -> KeyRecord {
        try store.create(makeRecord(kid, algorithm, legacy: legacy).0)
    }

    func source(cache: KeyCache<KeyResolution>? = KeyCache(), factories: [String: DelegatingKeyManager.Factory] = [:]) -> RegistryKeySource {
        RegistryKeySource(store: store, managers: DelegatingKeyManager(default: BasicKeyManager(rootKey: rootKey), factories: factories),
                          cache: cache)
    }
}

/// Counts reads, to prove how often the cache goes to the store.
final class CountingStore: KeyStore, @unchecked Sendable {
    let inner: any KeyStore
    let reads = Atomic<Int>(0)
    let delay: Duration

    init(_ inner: any KeyStore, delay: Duration = .zero) {
        self.inner = inner
        self.delay = delay
    }

    func key(kid: String) throws(RegistryError) -> KeyRecord? {
        reads.wrappingAdd(1, ordering: .relaxed)
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds)) }
        return try inner.key(kid: kid)
    }
    func keys(_ filter: KeyFilter) throws(RegistryError) -> [KeyRecord] { try inner.keys(filter) }
    func legacyKeys() throws(RegistryError) -> [KeyRecord] { try inner.legacyKeys() }
    func activeKey(algorithm: KeyAlgorithm) throws(RegistryError) -> KeyRecord? { try inner.activeKey(algorithm: algorithm) }
    func create(_ record: KeyRecord) throws(RegistryError) -> KeyRecord { try inner.create(record) }
    func setLegacy(kid: String, _ legacy: Bool) throws(RegistryError) { try inner.setLegacy(kid: kid, legacy) }
    func rotate(kid: String, to newKey: KeyRecord) throws(RegistryError) -> RotationResult { try inner.rotate(kid: kid, to: newKey) }
    func delete(kid: String) throws(RegistryError) { try inner.delete(kid: kid) }
    func setBaseKey(kid: String) throws(RegistryError) { try inner.setBaseKey(kid: kid) }
    func baseKey() throws(RegistryError) -> KeyRecord? { try inner.baseKey() }
    func map(_ mapping: KeyMapping) throws(RegistryError) { try inner.map(mapping) }
    func unmap(_ mapping: KeyMapping) throws(RegistryError) { try inner.unmap(mapping) }
    func mappings(kid: String?) throws(RegistryError) -> [KeyMapping] { try inner.mappings(kid: kid) }
    func createProvider(_ config: ProviderConfig) throws(RegistryError) -> ProviderConfig { try inner.createProvider(config) }
    func providers() throws(RegistryError) -> [ProviderConfig] { try inner.providers() }
    func onChange(_ observer: @escaping @Sendable ([String]) -> Void) { inner.onChange(observer) }
}

@Suite struct RegistryStoreTests {
    @Test func migratesAnEmptyFileOwnerOnly() throws {
        let registry = try TemporaryRegistry()
        #expect(try registry.store.appliedMigrations() == ["1-registry"])
        let mode = try FileManager.default.attributesOfItem(atPath: registry.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try registry.add("r1", .rsa2048)
        // Reopening applies nothing new and keeps the data.
        let reopened = try SQLiteKeyStore(path: registry.path)
        #expect(try reopened.appliedMigrations() == ["1-registry"])
        #expect(try reopened.key(kid: "r1")?.algorithm == .rsa2048)
    }

    @Test func recordsRoundTrip() throws {
        let registry = try TemporaryRegistry()
        let (record, _) = try registry.makeRecord("e1", .ecP384)
        try registry.store.create(record)
        let read = try #require(try registry.store.key(kid: "e1"))
        #expect(read.id == record.id)
        #expect(read.algorithm == .ecP384)
        #expect(read.algorithmEnumValue == 4)
        #expect(read.mode == .configRootKey)
        #expect(read.status == .active)
        #expect(read.privateKeyContext == record.privateKeyContext)
        #expect(read.publicKeyPEM == record.publicKeyPEM)
        #expect(try registry.store.key(kid: "nope") == nil)
    }

    /// Spec §6.2's mode table, enforced on write.
    @Test func modeRules() throws {
        let registry = try TemporaryRegistry()
        let provider = try registry.store.createProvider(ProviderConfig(name: "aws", manager: "opentdf.io/aws"))
        let (base, _) = try registry.makeRecord("x", .ecP256)
        let wrapped = base.privateKeyContext!
        func record(_ mode: KeyMode, _ context: PrivateKeyContext?, _ provider: ProviderConfig?, kid: String = "k") -> KeyRecord {
            KeyRecord(kid: kid, algorithm: .ecP256, mode: mode, publicKeyPEM: base.publicKeyPEM, privateKeyContext: context,
                      providerConfig: provider)
        }
        let invalid: [(String, KeyRecord)] = [
            ("root key without wrapped key", record(.configRootKey, nil, nil)),
            ("root key with a provider", record(.configRootKey, wrapped, provider)),
            ("provider root key without provider", record(.providerRootKey, wrapped, nil)),
            ("provider root key without wrapped key", record(.providerRootKey, PrivateKeyContext(keyID: "kek"), provider)),
            ("remote with a wrapped key", record(.remote, PrivateKeyContext(keyID: "arn", wrappedKey: "AAAA"), provider)),
            ("remote without provider", record(.remote, PrivateKeyContext(keyID: "arn"), nil)),
            ("remote without remote key id", record(.remote, PrivateKeyContext(), provider)),
            ("public-key-only with a private context", record(.publicKeyOnly, PrivateKeyContext(keyID: "x"), nil)),
            ("public-key-only with a provider", record(.publicKeyOnly, nil, provider)),
            ("algorithm that is not the public key's", KeyRecord(kid: "k", algorithm: .rsa2048, mode: .publicKeyOnly,
                                                               publicKeyPEM: base.publicKeyPEM, privateKeyContext: nil)),
            ("public key that is not a key", KeyRecord(kid: "k", algorithm: .ecP256, mode: .publicKeyOnly,
                                                     publicKeyPEM: "garbage", privateKeyContext: nil)),
            ("empty kid", record(.publicKeyOnly, nil, nil, kid: "")),
        ]
        for (label, bad) in invalid {
            #expect(throws: RegistryError.self, "\(label)") { try registry.store.create(bad) }
        }
        #expect(try registry.store.keys(.all).isEmpty, "nothing invalid was stored")
        try registry.store.create(record(.configRootKey, wrapped, nil, kid: "a"))
        try registry.store.create(record(.providerRootKey, wrapped, provider, kid: "b"))
        try registry.store.create(record(.remote, PrivateKeyContext(keyID: "arn:aws:kms:key/1"), provider, kid: "c"))
        try registry.store.create(record(.publicKeyOnly, nil, nil, kid: "d"))
        #expect(try registry.store.keys(.all).map(\.kid) == ["a", "b", "c", "d"])
        #expect(try registry.store.key(kid: "c")?.providerConfig?.manager == "opentdf.io/aws")
        #expect(throws: RegistryError.conflict("a key with this kid already exists")) {
            try registry.store.create(record(.publicKeyOnly, nil, nil, kid: "d"))
        }
    }

    @Test func atMostOneLegacyKeyAndFilters() throws {
        let registry = try TemporaryRegistry()
        try registry.add("old", .rsa2048, legacy: true)
        #expect(throws: RegistryError.self) { try registry.add("older", .rsa2048, legacy: true) }
        try registry.add("e", .ecP256)
        #expect(throws: RegistryError.self) { try registry.store.setLegacy(kid: "e", true) }
        #expect(try registry.store.legacyKeys().map(\.kid) == ["old"])
        #expect(try registry.store.keys(KeyFilter(algorithm: .ecP256)).map(\.kid) == ["e"])
        #expect(try registry.store.keys(KeyFilter(legacy: false)).map(\.kid) == ["e"])
        // The legacy key is not what writers get.
        #expect(try registry.store.activeKey(algorithm: .rsa2048) == nil)
    }

    @Test func rotationIsOneTransaction() throws {
        let registry = try TemporaryRegistry()
        try registry.add("e1", .ecP256)
        try registry.add("r1", .rsa2048)
        try registry.store.setBaseKey(kid: "e1")
        let mappings = [KeyMapping(kind: .namespace, fqn: "https://example.com", kid: "e1"),
                        KeyMapping(kind: .definition, fqn: "https://example.com/attr/a", kid: "e1"),
                        KeyMapping(kind: .value, fqn: "https://example.com/attr/a/value/b", kid: "e1"),
                        KeyMapping(kind: .value, fqn: "https://example.com/attr/a/value/c", kid: "r1")]
        for mapping in mappings { try registry.store.map(mapping) }

        let (newRecord, _) = try registry.makeRecord("e2", .ecP256)
        let result = try registry.store.rotate(kid: "e1", to: newRecord)
        #expect(result.baseKeyMoved)
        #expect(result.rotatedKey.status == .rotated)
        #expect(result.newKey.status == .active)
        #expect(Set(result.movedMappings.map(\.fqn)) == Set(mappings.prefix(3).map(\.fqn)))
        #expect(try registry.store.key(kid: "e1")?.status == .rotated)
        #expect(try registry.store.key(kid: "e2")?.status == .active)
        #expect(try registry.store.baseKey()?.kid == "e2")
        #expect(try registry.store.activeKey(algorithm: .ecP256)?.kid == "e2")
        #expect(try registry.store.mappings(kid: "e1").isEmpty)
        #expect(try registry.store.mappings(kid: "e2").count == 3)
        #expect(try registry.store.mappings(kid: "r1").count == 1)

        // Failures change nothing: a rotated key, a taken kid, another algorithm, an unknown kid.
        let (again, _) = try registry.makeRecord("e3", .ecP256)
        #expect(throws: RegistryError.conflict("e1 is already ROTATED")) { try registry.store.rotate(kid: "e1", to: again) }
        let (taken, _) = try registry.makeRecord("r1", .ecP256)
        #expect(throws: RegistryError.self) { try registry.store.rotate(kid: "e2", to: taken) }
        let (rsa, _) = try registry.makeRecord("r2", .rsa2048)
        #expect(throws: RegistryError.self) { try registry.store.rotate(kid: "e2", to: rsa) }
        #expect(throws: RegistryError.notFound("no key with kid zz")) { try registry.store.rotate(kid: "zz", to: again) }
        #expect(try registry.store.key(kid: "e2")?.status == .active)
        #expect(try registry.store.baseKey()?.kid == "e2")
        #expect(try registry.store.keys(.all).map(\.kid).sorted() == ["e1", "e2", "r1"])
    }

    @Test func baseKeyAndMappingErrors() throws {
        let registry = try TemporaryRegistry()
        #expect(try registry.store.baseKey() == nil)
        #expect(throws: RegistryError.notFound("no key with kid x")) { try registry.store.setBaseKey(kid: "x") }
        try registry.add("e1", .ecP256)
        try registry.store.setBaseKey(kid: "e1")
        #expect(throws: RegistryError.conflict("e1 is the base key; set another base key first")) { try registry.store.delete(kid: "e1") }
        #expect(throws: RegistryError.self) { try registry.store.unmap(KeyMapping(kind: .value, fqn: "v", kid: "e1")) }
        #expect(throws: RegistryError.self) { try registry.store.map(KeyMapping(kind: .value, fqn: "", kid: "e1")) }
        try registry.store.map(KeyMapping(kind: .value, fqn: "v", kid: "e1"))
        try registry.store.map(KeyMapping(kind: .value, fqn: "v", kid: "e1"))  // idempotent
        #expect(try registry.store.mappings(kid: nil).count == 1)
        try registry.store.unmap(KeyMapping(kind: .value, fqn: "v", kid: "e1"))
        #expect(try registry.store.mappings(kid: nil).isEmpty)
    }

    /// WAL: readers keep reading while a writer rotates, and never see a half-done rotation.
    @Test func readersRunWhileAWriterRotates() throws {
        let registry = try TemporaryRegistry()
        try registry.add("k0", .ecP256)
        try registry.store.setBaseKey(kid: "k0")
        let records = try (1...200).map { try registry.makeRecord("k\($0)", .ecP256).0 }
        let store = registry.store
        let anomalies = Counter()
        let reads = Counter()
        let writes = Counter()
        // Threads, not tasks: the readers spin, and must not starve the writer.
        DispatchQueue.concurrentPerform(iterations: 4) { role in
            if role == 0 {
                while reads.value < 3 { sched_yield() }  // start once readers are reading
                for (index, record) in records.enumerated() {
                    _ = try? store.rotate(kid: "k\(index)", to: record)
                    writes.increment()
                }
            } else {
                while writes.value < records.count {
                    // Exactly one ACTIVE key at every instant, and the base key never vanishes.
                    let active = (try? store.keys(KeyFilter(status: .active))) ?? []
                    if active.count != 1 { anomalies.increment() }
                    if (try? store.baseKey()) == nil { anomalies.increment() }
                    reads.increment()
                }
            }
        }
        #expect(anomalies.value == 0)
        #expect(reads.value > 0)
        #expect(try registry.store.baseKey()?.kid == "k200")
    }

    /// A writer killed at an arbitrary moment loses nothing it had committed, and leaves a
    /// database that opens and passes SQLite's integrity check.
    @Test func killedWriterLosesNoCommittedKey() throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewrap")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path),
                     "the rewrap executable is built beside the tests (swift build --build-tests)")
        let registry = try TemporaryRegistry()
        let (record, _) = try registry.makeRecord("template", .ecP256)
        let publicPath = registry.directory.appendingPathComponent("pub.pem").path
        try record.publicKeyPEM.write(toFile: publicPath, atomically: true, encoding: .utf8)

        for round in 0..<3 {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["keys", "import-loop", "--db", registry.path, "--count", "100000", "--prefix", "r\(round)-",
                                 "--public-key", publicPath, "--wrapped-key", record.privateKeyContext!.wrappedKey]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Read committed kids until a round-specific number, then kill without warning.
            let target = [37, 211, 503][round]
            var committed: [String] = []
            var buffer = Data()
            while committed.count < target {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    committed.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(committed.count >= target, "round \(round): the writer stopped early")

            let reopened = try SQLiteKeyStore(path: registry.path)
            let stored = Set(try reopened.keys(.all).map(\.kid))
            let missing = committed.filter { !stored.contains($0) }
            #expect(missing.isEmpty, "round \(round): committed but lost: \(missing.prefix(5))")
        }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])", registry.path]
        let out = Pipe()
        check.standardOutput = out
        if (try? check.run()) != nil {
            check.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        }
    }
}
