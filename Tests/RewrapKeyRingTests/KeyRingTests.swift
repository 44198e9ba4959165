import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapKeyRing
import RewrapTestSupport
import RewrapWire
import Testing

/// `KeyRing.load(file:)`: YAML and JSON keyrings written to a temporary directory, private-key
/// paths relative to the keyring file, legacy marking, and errors that name the bad entry.
@Suite struct KeyRingTests {
    /// A fresh directory with `keys/` holding copies of fixture PEMs; removed by `cleanUp()`.
    final class Scratch {
        let root: URL

        init() throws {
            root = FileManager.default.temporaryDirectory
                .appendingPathComponent("keyring-tests-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("keys"), withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        /// Copies fixture `name`'s private PEM to `keys/<as>`; returns the relative path.
        @discardableResult
        func copyKey(_ name: String, as file: String) throws -> String {
            try write(Fixtures.pem(name), to: "keys/\(file)")
            return "keys/\(file)"
        }

        @discardableResult
        func write(_ text: String, to relative: String) throws -> String {
            let url = root.appendingPathComponent(relative)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }

        func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    }

    /// `openssl ecparam -name prime256v1 -genkey -noout`: a throwaway SEC1 key, never a KAS key.
    static let sec1ECPrivateKeyPEM = """
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEIMRAKX5U34kq0S27jHvdMqcH26p3IE30iNdHDBAqduBHoAoGCCqGSM49
        AwEHoUQDQgAE36slEzf+beXQO+wwk/NXjS413mlmIkRzojw20zqjDIMPVTkz37ww
        HYWciuJwQo4tnDGkC8QdEMdiM/0nzkpqxw==
        -----END EC PRIVATE KEY-----

        """

    static func load(_ path: String) -> Result<KeyRing, KeyRingError> {
        Result { () throws(KeyRingError) in try KeyRing.load(file: path) }
    }

    /// The `invalidEntry` error of loading `path`, or nil (recording an issue) for anything else.
    static func entryError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> (entry: String, reason: String)? {
        switch load(path) {
        case .success:
            Issue.record("keyring loaded but should not have", sourceLocation: sourceLocation)
        case .failure(.invalidEntry(let entry, let reason)):
            return (entry, reason)
        case .failure(let other):
            Issue.record("expected an invalidEntry error, got \(other)", sourceLocation: sourceLocation)
        }
        return nil
    }

    // MARK: Loading

    @Test func yamlKeyringWithRelativeAndAbsolutePaths() async throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "r1.pem")
        try scratch.copyKey("kas-secp256r1", as: "e1.pem")
        try scratch.copyKey("kas-secp384r1", as: "e2.pem")
        let absolute = try scratch.copyKey("kas-rsa4096", as: "r4.pem")
        let file = try scratch.write("""
            # KAS keys
            keys:
              - kid: r1
                alg: rsa:2048
                private: keys/r1.pem
                legacy: true
              - kid: e1
                alg: ec:secp256r1
                private: keys/e1.pem
              - kid: "e2"
                alg: "ec:secp384r1"
                private: ./keys/e2.pem
                legacy: false
              - kid: r4
                alg: rsa:4096
                private: \(scratch.path(absolute))
            """, to: "keyring.yaml")
        let ring = try KeyRing.load(file: file)
        #expect(ring.keys.map(\.kid) == ["r1", "e1", "e2", "r4"])
        #expect(ring.keys.map(\.algorithm) == [.rsa2048, .ecP256, .ecP384, .rsa4096])
        #expect(ring.keys.map(\.legacy) == [true, false, false, false])
        #expect(ring.legacyKeys().map(\.kid) == ["r1"])
        #expect(ring.key(forKid: "e1")?.algorithm == .ecP256)
        #expect(ring.key(forKid: "nope") == nil)

        // The loaded keys really are the fixture keys: KAOs for them open.
        let (rsaKAO, rsaDEK) = try makeKAO(.rsa2048)
        var (ecKAO, ecDEK) = try makeKAO(.ecP256)
        ecKAO.kid = "e1"
        let (kidFree, kidFreeDEK) = try makeKAO(.rsa2048, includeKid: false)
        var rsaWithKid = rsaKAO
        rsaWithKid.kid = "r1"
        let response = try await engine(ring).rewrap(makeRequest(
            client: Fixtures.pem("client-rsa2048", "public"), kaos: [rsaWithKid, ecKAO, kidFree]))
        let client = Fixtures.privateKey("client-rsa2048")
        for (id, dek) in [("kao-0", rsaDEK), ("kao-1", ecDEK), ("kao-2", kidFreeDEK)] {
            let opened = try? TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: id, clientPrivateKey: client)
            let same = opened?.copyBytes() == dek
            #expect(same, "\(id)")
        }
    }

    /// JSON is YAML: the same keyring as compact JSON (what `JSONSerialization` writes) and as
    /// pretty-printed JSON.
    @Test(arguments: [false, true])
    func jsonKeyring(pretty: Bool) throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa3072", as: "r3.pem")
        try scratch.copyKey("kas-secp521r1", as: "e5.pem")
        let document: [String: Any] = [
            "keys": [
                ["kid": "r3", "alg": "rsa:3072", "private": "keys/r3.pem"],
                ["kid": "e5", "alg": "ec:secp521r1", "private": "keys/e5.pem", "legacy": false],
            ],
        ]
        let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: document, options: options), as: UTF8.self)
        let file = try scratch.write(json, to: "keyring.json")
        let ring = try KeyRing.load(file: file)
        #expect(ring.keys.map(\.kid) == ["r3", "e5"])
        #expect(ring.keys.map(\.algorithm) == [.rsa3072, .ecP521])
        #expect(ring.legacyKeys().isEmpty)
    }

    /// The keyring as hand-written JSON with slashes escaped, as many JSON writers emit them.
    @Test func jsonWithEscapedSlashes() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "r.pem")
        let file = try scratch.write(
            #"{"keys":[{"kid":"r","alg":"rsa:2048","private":"keys\/r.pem","legacy":true}]}"#, to: "keyring.json")
        let ring = try KeyRing.load(file: file)
        #expect(ring.keys.map(\.kid) == ["r"])
        #expect(ring.legacyKeys().map(\.kid) == ["r"])
    }

    @Test func bareListOfEntries() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "a.pem")
        try scratch.copyKey("kas-secp256r1", as: "b.pem")
        let file = try scratch.write("""
            - kid: a
              alg: rsa:2048
              private: keys/a.pem
            - kid: b
              alg: ec:secp256r1
              private: keys/b.pem
            """, to: "list.yaml")
        let ring = try KeyRing.load(file: file)
        #expect(ring.keys.map(\.kid) == ["a", "b"])
        // No key marked legacy: every RSA-2048 key is a candidate.
        #expect(ring.legacyKeys().map(\.kid) == ["a"])
    }

    @Test func legacyMarkedBySeparateKeyringList() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "old.pem")
        try scratch.copyKey("kas-rsa2048-pkcs1", as: "older.pem")
        try scratch.copyKey("kas-rsa2048", as: "new.pem")
        try scratch.copyKey("kas-secp256r1", as: "ec.pem")
        let file = try scratch.write("""
            keys:
              - kid: new
                alg: rsa:2048
                private: keys/new.pem
              - kid: old
                alg: rsa:2048
                private: keys/old.pem
              - kid: older
                alg: rsa:2048
                private: keys/older.pem
              - kid: ec
                alg: ec:secp256r1
                private: keys/ec.pem
            keyring:
              - kid: new
                alg: rsa:2048
              - kid: old
                alg: rsa:2048
                legacy: true
              - kid: older
                alg: rsa:2048
                legacy: true
              - kid: ec
                alg: ec:secp256r1
                legacy: true
            """, to: "keyring.yaml")
        let ring = try KeyRing.load(file: file)
        #expect(ring.keys.map(\.legacy) == [false, true, true, true])
        // Legacy candidates are RSA-2048 only, in key order.
        #expect(ring.legacyKeys().map(\.kid) == ["old", "older"])
    }

    @Test func pkcs1RSAKeyLoads() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048-pkcs1", as: "pkcs1.pem")
        #expect(Fixtures.pem("kas-rsa2048-pkcs1").hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        let file = try scratch.write("keys:\n  - kid: p1\n    alg: rsa:2048\n    private: keys/pkcs1.pem\n", to: "k.yaml")
        let ring = try KeyRing.load(file: file)
        #expect(ring.key(forKid: "p1")?.algorithm == .rsa2048)
    }

    // MARK: Errors that name the entry

    @Test func missingKeyringFile() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).yaml").path
        guard case .failure(.unreadable(let reported, _)) = Self.load(path) else {
            Issue.record("expected .unreadable")
            return
        }
        #expect(reported == path)
    }

    @Test func missingPrivateKeyFile() throws {
        let scratch = try Scratch()
        let file = try scratch.write("keys:\n  - kid: gone\n    alg: rsa:2048\n    private: keys/gone.pem\n", to: "k.yaml")
        let error = try #require(Self.entryError(file))
        #expect(error.entry == "\"gone\"")
        #expect(error.reason.contains("cannot read private key"))
        #expect(error.reason.contains("gone.pem"))
        #expect(KeyRingError.invalidEntry(entry: error.entry, reason: error.reason).description.hasPrefix("keyring entry \"gone\": "))
    }

    @Test(arguments: [
        ("not a PEM", "this is not a key\n"),
        ("truncated PEM", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"),
        ("a public key", Fixtures.pem("kas-rsa2048", "public")),
        ("a certificate", OddKeys.certificatePEM),
    ])
    func badPEM(_ label: String, _ text: String) throws {
        let scratch = try Scratch()
        try scratch.write(text, to: "keys/bad.pem")
        let fine = try scratch.copyKey("kas-rsa2048", as: "fine.pem")
        let file = try scratch.write("""
            keys:
              - kid: fine
                alg: rsa:2048
                private: \(fine)
              - kid: broken
                alg: rsa:2048
                private: keys/bad.pem
            """, to: "k.yaml")
        let error = try #require(Self.entryError(file))
        #expect(error.entry == "\"broken\"", "\(label)")
        #expect(error.reason.contains("is not a usable private key"), "\(label)")
    }

    @Test func algorithmMismatch() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-secp256r1", as: "ec.pem")
        try scratch.copyKey("kas-rsa3072", as: "r3.pem")
        for (kid, alg, file, held) in [("k1", "rsa:2048", "keys/ec.pem", "ec:secp256r1"), ("k2", "rsa:2048", "keys/r3.pem", "rsa:3072"),
                                       ("k3", "ec:secp384r1", "keys/ec.pem", "ec:secp256r1")] {
            let path = try scratch.write("keys:\n  - kid: \(kid)\n    alg: \(alg)\n    private: \(file)\n", to: "\(kid).yaml")
            let error = try #require(Self.entryError(path))
            #expect(error.entry == "\"\(kid)\"")
            #expect(error.reason.contains("`alg` says \(alg)"), "\(error.reason)")
            #expect(error.reason.contains("holds a \(held) key"), "\(error.reason)")
        }
    }

    @Test(arguments: ["rsa:1024", "rsa:8192", "ec:secp256k1", "RSA:2048", "hpqt:xwing", "mlkem:768", ""])
    func unknownAlgorithm(_ alg: String) throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "r.pem")
        let file = try scratch.write("keys:\n  - kid: odd\n    alg: \"\(alg)\"\n    private: keys/r.pem\n", to: "k.yaml")
        let error = try #require(Self.entryError(file))
        #expect(error.entry == "\"odd\"")
        #expect(error.reason.contains("unknown `alg` \"\(alg)\""), "\(error.reason)")
    }

    @Test func missingAlgorithmAndPrivatePath() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "r.pem")
        let noAlg = try scratch.write("keys:\n  - kid: a\n    private: keys/r.pem\n", to: "a.yaml")
        #expect(Self.entryError(noAlg)?.reason == "missing `alg`")
        let noPath = try scratch.write("keys:\n  - kid: b\n    alg: rsa:2048\n", to: "b.yaml")
        let error = try #require(Self.entryError(noPath))
        #expect(error.entry == "\"b\"")
        #expect(error.reason.hasPrefix("missing `private`"))
    }

    @Test func duplicateKid() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "r.pem")
        try scratch.copyKey("kas-secp256r1", as: "e.pem")
        let file = try scratch.write("""
            keys:
              - kid: same
                alg: rsa:2048
                private: keys/r.pem
              - kid: same
                alg: ec:secp256r1
                private: keys/e.pem
            """, to: "k.yaml")
        guard case .failure(let error) = Self.load(file) else {
            Issue.record("duplicate kid accepted")
            return
        }
        #expect(error == .duplicateKid("same"))
        #expect(error.description.contains("\"same\""))
        // The in-memory initializer enforces it too.
        #expect(throws: KeyRingError.duplicateKid("x")) {
            try KeyRing(keys: [KASKey(kid: "x", privateKey: Fixtures.privateKey("kas-rsa2048")),
                               KASKey(kid: "x", privateKey: Fixtures.privateKey("kas-rsa3072"))])
        }
    }

    @Test func missingKidNamesTheEntryByPosition() throws {
        let scratch = try Scratch()
        try scratch.copyKey("kas-rsa2048", as: "r.pem")
        let file = try scratch.write("""
            keys:
              - kid: first
                alg: rsa:2048
                private: keys/r.pem
              - alg: rsa:2048
                private: keys/r.pem
            """, to: "k.yaml")
        let error = try #require(Self.entryError(file))
        #expect(error.entry == "#2")
        #expect(error.reason == "missing `kid`")
        let empty = try scratch.write("keys:\n  - kid: \"\"\n    alg: rsa:2048\n    private: keys/r.pem\n", to: "e.yaml")
        #expect(Self.entryError(empty)?.reason == "missing `kid`")
    }

    /// OpenTDF requires PKCS#8 for EC KAS keys (spec §2.2, §9.15).
    @Test func sec1ECPrivateKeyIsRejected() throws {
        let scratch = try Scratch()
        try scratch.write(Self.sec1ECPrivateKeyPEM, to: "keys/sec1.pem")
        let file = try scratch.write("keys:\n  - kid: sec1\n    alg: ec:secp256r1\n    private: keys/sec1.pem\n", to: "k.yaml")
        let error = try #require(Self.entryError(file))
        #expect(error.entry == "\"sec1\"")
        #expect(error.reason.contains("PKCS#8"), "\(error.reason)")
        #expect(error.reason.contains("SEC1"), "\(error.reason)")
    }

    @Test(arguments: ["keys: [\n", "keys: []\n", "something: else\n", "42\n", ""])
    func malformedKeyring(_ text: String) throws {
        let scratch = try Scratch()
        let file = try scratch.write(text, to: "k.yaml")
        guard case .failure(.malformed(let path, _)) = Self.load(file) else {
            Issue.record("expected .malformed for \(text.debugDescription)")
            return
        }
        #expect(path == file)
    }
}
