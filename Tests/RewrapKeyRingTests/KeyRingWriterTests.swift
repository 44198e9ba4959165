import Foundation
import RewrapCrypto
@testable import RewrapKeyRing
import Testing

/// `KeyRing.appendEntry` writes the keyring with Yams' encoder: the canonical form, pinned, and
/// any value round-trips (the old string-built YAML folded a newline in a value into a space).
@Suite struct KeyRingWriterTests {
    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-keyring-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    @Test func canonicalForm() throws {
        let folder = try Folder()
        let path = folder.path("keyring.yaml")
        try KeyRing.appendEntry(toFile: path, kid: "r1", algorithm: .rsa2048, privateKeyPath: "r1-private.pem", legacy: true)
        try KeyRing.appendEntry(toFile: path, kid: "e1", algorithm: .ecP256, privateKeyPath: "/etc/kas/e1.pem", legacy: false)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == """
            # OpenTDF keyring: kid, alg, private (PEM path relative to this file), legacy
            keys:
            - kid: r1
              alg: rsa:2048
              private: r1-private.pem
              legacy: true
            - kid: e1
              alg: ec:secp256r1
              private: /etc/kas/e1.pem
              legacy: false

            """)
    }

    /// Existing entries keep every value exactly, whatever YAML would otherwise read into it.
    @Test func valuesRoundTrip() throws {
        let folder = try Folder()
        let path = folder.path("keyring.yaml")
        let odd = ["a\nb", "true", "null", "1.0", "~", "#x", "- y", "k: v", "it's", "say \"hi\"", "tab\there", "back\\slash",
                   "é 😀", " lead", "trail ", "\u{7}bell", "line\u{2028}sep", ""]
        let existing = KeyRingFile.Document(keys: odd.enumerated().map { index, value in
            KeyRingFile.Entry(kid: value, alg: "rsa:2048", private: "p\(index)/" + value, legacy: index % 2 == 0)
        })
        try KeyRingFile.yaml(existing, path: path).write(toFile: path, atomically: true, encoding: .utf8)
        try KeyRing.appendEntry(toFile: path, kid: "new", algorithm: .ecP384, privateKeyPath: "keys/new\nline.pem", legacy: false)
        let reread = try KeyRingFile.parse(String(contentsOfFile: path, encoding: .utf8), path: path)
        #expect(reread.entries == existing.keys! + [KeyRingFile.Entry(kid: "new", alg: "ec:secp384r1", private: "keys/new\nline.pem", legacy: false)])
    }

    /// A separate `keyring:` list of legacy markers is folded into the entries it marks.
    @Test func legacyMarkersFoldIn() throws {
        let folder = try Folder()
        let path = folder.path("keyring.yaml")
        try """
            keys:
              - kid: old
                alg: rsa:2048
                private: old.pem
              - kid: other
                alg: rsa:2048
                private: other.pem
            keyring:
              - kid: old
                legacy: true
            """.write(toFile: path, atomically: true, encoding: .utf8)
        try KeyRing.appendEntry(toFile: path, kid: "e1", algorithm: .ecP256, privateKeyPath: "e1.pem", legacy: false)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("\nkeyring:"))
        let reread = try KeyRingFile.parse(text, path: path)
        #expect(reread.entries.map(\.legacy) == [true, false, false])
        #expect(throws: KeyRingError.duplicateKid("old")) {
            try KeyRing.appendEntry(toFile: path, kid: "old", algorithm: .rsa2048, privateKeyPath: "x.pem", legacy: false)
        }
    }
}
