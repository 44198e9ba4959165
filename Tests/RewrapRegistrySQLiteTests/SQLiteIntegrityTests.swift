import Foundation
import RewrapCrypto
import RewrapRegistry
import RewrapRegistrySQLite
import RewrapRegistryTestSupport
import RewrapTestSupport
import Testing

/// A registry row the store cannot read is an error naming the key, never a guess: a key read
/// back as RSA-2048 when its row says something else would be served under the wrong algorithm.
@Suite struct SQLiteIntegrityTests {
    /// Runs one SQL statement on the file with Python's sqlite3 module, outside the store (as a
    /// damaged file or a hand edit would).
    static func rawSQL(_ sql: String, on path: String) throws {
        let run = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", path, sql,
        ])
        try #require(run.status == 0, "python3 sqlite3: \(run.stderr)")
    }

    @Test func unreadableAlgorithmIsAnErrorNamingTheKid() throws {
        let registry = try TemporaryRegistry()
        try registry.add("good", .ecP256)
        try registry.add("damaged", .ecP384)
        try Self.rawSQL("UPDATE keys SET algorithm = 'ec:secp999k1' WHERE kid = 'damaged'", on: registry.path)

        let store = try SQLiteKeyStore(path: registry.path)
        #expect(try store.key(kid: "good")?.algorithm == .ecP256, "other rows still read")
        do {
            let record = try store.key(kid: "damaged")
            Issue.record("read a damaged row as \(String(describing: record?.algorithm))")
        } catch {
            #expect(error.description.contains("damaged"), "\(error)")
            #expect(error.description.contains("ec:secp999k1"), "\(error)")
        }
        #expect(throws: RegistryError.self, "listing meets the damaged row too") { _ = try store.keys(.all) }
    }
}
