import Foundation
import RewrapCrypto
import RewrapRegistry
import RewrapRegistrySQLite
import RewrapRegistryTestSupport
import RewrapTestSupport
import Testing

/// The SQLite key store: migrations, the mode rules, rotation as one transaction, mappings, and
/// concurrent readers during a rotation.
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
        // Each record is refused for its own rule, not for some other check that happens to fail.
        let invalid: [(String, KeyRecord, String)] = [
            ("root key without wrapped key", record(.configRootKey, nil, nil), "CONFIG_ROOT_KEY keys need a wrapped private key"),
            ("root key with a provider", record(.configRootKey, wrapped, provider), "CONFIG_ROOT_KEY keys must not name a provider config"),
            ("provider root key without provider", record(.providerRootKey, wrapped, nil), "PROVIDER_ROOT_KEY keys need a provider config"),
            ("provider root key without wrapped key", record(.providerRootKey, PrivateKeyContext(keyID: "kek"), provider),
             "PROVIDER_ROOT_KEY keys need a wrapped private key"),
            ("remote with a wrapped key", record(.remote, PrivateKeyContext(keyID: "arn", wrappedKey: "AAAA"), provider),
             "REMOTE keys must not carry a wrapped key (the private key stays in the KMS)"),
            ("remote without provider", record(.remote, PrivateKeyContext(keyID: "arn"), nil), "REMOTE keys need a provider config"),
            ("remote without remote key id", record(.remote, PrivateKeyContext(), provider),
             "REMOTE keys need the remote key id (private key context key_id)"),
            ("public-key-only with a private context", record(.publicKeyOnly, PrivateKeyContext(keyID: "x"), nil),
             "PUBLIC_KEY_ONLY keys must not have a private key context"),
            ("public-key-only with a provider", record(.publicKeyOnly, nil, provider), "PUBLIC_KEY_ONLY keys must not name a provider config"),
            ("algorithm that is not the public key's", KeyRecord(kid: "k", algorithm: .rsa2048, mode: .publicKeyOnly,
                                                               publicKeyPEM: base.publicKeyPEM, privateKeyContext: nil),
             "the public key is ec:secp256r1, not rsa:2048"),
            ("public key that is not a key", KeyRecord(kid: "k", algorithm: .ecP256, mode: .publicKeyOnly,
                                                     publicKeyPEM: "garbage", privateKeyContext: nil),
             "public key: invalid key: no PEM block found"),
            ("empty kid", record(.publicKeyOnly, nil, nil, kid: ""), "kid must not be empty"),
        ]
        for (label, bad, reason) in invalid {
            #expect(throws: RegistryError.invalid(reason), "\(label)") { try registry.store.create(bad) }
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
        #expect(throws: RegistryError.conflict("another key is already legacy (at most one)")) {
            try registry.add("older", .rsa2048, legacy: true)
        }
        try registry.add("e", .ecP256)
        #expect(throws: RegistryError.invalid("only rsa:2048 keys serve kid-free KAOs; e is ec:secp256r1")) {
            try registry.store.setLegacy(kid: "e", true)
        }
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
        #expect(throws: RegistryError.conflict("a key with this kid already exists")) { try registry.store.rotate(kid: "e2", to: taken) }
        let (rsa, _) = try registry.makeRecord("r2", .rsa2048)
        #expect(throws: RegistryError.invalid("the new key is rsa:2048; e2 is ec:secp256r1")) {
            try registry.store.rotate(kid: "e2", to: rsa)
        }
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
        #expect(throws: RegistryError.notFound("no value mapping v → e1")) {
            try registry.store.unmap(KeyMapping(kind: .value, fqn: "v", kid: "e1"))
        }
        #expect(throws: RegistryError.invalid("the FQN must not be empty")) {
            try registry.store.map(KeyMapping(kind: .value, fqn: "", kid: "e1"))
        }
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
}
