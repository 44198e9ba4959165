import Foundation
import GRDB
import RewrapCrypto
import RewrapEngine
import RewrapRegistry
import Synchronization

/// The key registry in one SQLite file: versioned migrations, WAL (readers never wait for the
/// writer, a rotation is one transaction), `synchronous = FULL`, file mode 0600. A process
/// killed at any moment leaves every committed key readable.
public final class SQLiteKeyStore: KeyStore {
    private let pool: DatabasePool
    public let path: String
    private let observers = Mutex<[@Sendable ([String]) -> Void]>([])

    /// Opens (creating if needed) the registry at `path` and brings its schema up to date.
    public init(path: String) throws(RegistryError) {
        self.path = path
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Create the file owner-only before SQLite does; WAL/SHM files inherit its mode.
            let fd = open(path, O_RDWR | O_CREAT, 0o600)
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            close(fd)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA foreign_keys = ON")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                chmod(path + suffix, 0o600)
            }
        } catch {
            throw .storage("cannot open the key registry at \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-registry") { db in
            try db.execute(sql: """
                CREATE TABLE provider_configs (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL UNIQUE,
                    manager TEXT NOT NULL,
                    config_json TEXT NOT NULL DEFAULT '{}',
                    created_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL
                );
                CREATE TABLE keys (
                    id TEXT PRIMARY KEY NOT NULL,
                    kid TEXT NOT NULL UNIQUE,
                    algorithm TEXT NOT NULL,
                    algorithm_enum INTEGER NOT NULL,
                    status INTEGER NOT NULL CHECK (status IN (1, 2)),
                    mode INTEGER NOT NULL CHECK (mode IN (1, 2, 3, 4)),
                    public_key_pem TEXT NOT NULL,
                    private_key_id TEXT,
                    wrapped_key TEXT,
                    provider_config_id TEXT REFERENCES provider_configs(id),
                    legacy INTEGER NOT NULL DEFAULT 0 CHECK (legacy IN (0, 1)),
                    created_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL
                );
                -- At most one legacy key (OpenTDF: unique partial index on kas_keys).
                CREATE UNIQUE INDEX keys_single_legacy ON keys(legacy) WHERE legacy = 1;
                CREATE INDEX keys_algorithm_status ON keys(algorithm, status, created_at);
                CREATE TABLE base_key (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    key_id TEXT NOT NULL REFERENCES keys(id)
                );
                CREATE TABLE key_mappings (
                    kind TEXT NOT NULL CHECK (kind IN ('namespace', 'definition', 'value')),
                    fqn TEXT NOT NULL,
                    key_id TEXT NOT NULL REFERENCES keys(id),
                    PRIMARY KEY (kind, fqn, key_id)
                );
                """)
        }
        return migrator
    }

    /// Applied migration identifiers, for diagnostics and tests.
    public func appliedMigrations() throws(RegistryError) -> [String] {
        try read { db in try Self.migrator.appliedMigrations(db) }
    }

    // MARK: Reads

    private static let selectKeys = """
        SELECT k.*, p.id AS p_id, p.name AS p_name, p.manager AS p_manager, p.config_json AS p_config
        FROM keys k LEFT JOIN provider_configs p ON p.id = k.provider_config_id
        """

    public func key(kid: String) throws(RegistryError) -> KeyRecord? {
        try read { db in try Row.fetchOne(db, sql: Self.selectKeys + " WHERE k.kid = ?", arguments: [kid]).map(Self.record) }
    }

    public func keys(_ filter: KeyFilter) throws(RegistryError) -> [KeyRecord] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let algorithm = filter.algorithm {
            clauses.append("k.algorithm = ?")
            _ = arguments.append(contentsOf: [algorithm.description])
        }
        if let status = filter.status {
            clauses.append("k.status = ?")
            _ = arguments.append(contentsOf: [status.rawValue])
        }
        if let legacy = filter.legacy {
            clauses.append("k.legacy = ?")
            _ = arguments.append(contentsOf: [legacy ? 1 : 0])
        }
        let whereClause = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let sql = Self.selectKeys + whereClause + " ORDER BY k.created_at, k.kid"
        return try read { db in try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.record) }
    }

    public func legacyKeys() throws(RegistryError) -> [KeyRecord] {
        try keys(KeyFilter(legacy: true))
    }

    public func activeKey(algorithm: KeyAlgorithm) throws(RegistryError) -> KeyRecord? {
        try read { db in
            try Row.fetchOne(db, sql: Self.selectKeys + """
                 WHERE k.algorithm = ? AND k.status = 1 AND k.legacy = 0 ORDER BY k.created_at DESC, k.rowid DESC LIMIT 1
                """, arguments: [algorithm.description]).map(Self.record)
        }
    }

    public func baseKey() throws(RegistryError) -> KeyRecord? {
        try read { db in
            try Row.fetchOne(db, sql: Self.selectKeys + " WHERE k.id = (SELECT key_id FROM base_key WHERE singleton = 1)")
                .map(Self.record)
        }
    }

    public func mappings(kid: String?) throws(RegistryError) -> [KeyMapping] {
        try read { db in
            var sql = "SELECT m.kind, m.fqn, k.kid FROM key_mappings m JOIN keys k ON k.id = m.key_id"
            var arguments: StatementArguments = []
            if let kid {
                sql += " WHERE k.kid = ?"
                arguments = [kid]
            }
            sql += " ORDER BY m.kind, m.fqn, k.kid"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                KeyMapping(kind: KeyMapping.Kind(rawValue: row["kind"]) ?? .value, fqn: row["fqn"], kid: row["kid"])
            }
        }
    }

    public func providers() throws(RegistryError) -> [ProviderConfig] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM provider_configs ORDER BY name").map { row in
                ProviderConfig(id: row["id"], name: row["name"], manager: row["manager"], configJSON: row["config_json"])
            }
        }
    }

    // MARK: Writes

    @discardableResult
    public func create(_ record: KeyRecord) throws(RegistryError) -> KeyRecord {
        try record.validate()
        try write(changing: [record.kid]) { db in
            try Self.insert(record, db)
        }
        return record
    }

    public func setLegacy(kid: String, _ legacy: Bool) throws(RegistryError) {
        try write(changing: [kid]) { db in
            let record = try Self.requireKey(kid, db)
            if legacy, record.algorithm != .rsa2048 {
                throw RegistryError.invalid("only rsa:2048 keys serve kid-free KAOs; \(kid) is \(record.algorithm)")
            }
            try db.execute(sql: "UPDATE keys SET legacy = ?, updated_at = ? WHERE kid = ?",
                           arguments: [legacy ? 1 : 0, Date().timeIntervalSince1970, kid])
        }
    }

    public func rotate(kid: String, to newKey: KeyRecord) throws(RegistryError) -> RotationResult {
        var newKey = newKey
        newKey.status = .active
        try newKey.validate()
        return try write(changing: [kid, newKey.kid]) { db in
            var old = try Self.requireKey(kid, db)
            guard old.status == .active else { throw RegistryError.conflict("\(kid) is already ROTATED") }
            guard newKey.algorithm == old.algorithm else {
                throw RegistryError.invalid("the new key is \(newKey.algorithm); \(kid) is \(old.algorithm)")
            }
            let now = Date()
            // The legacy flag stays with the old key: kid-free KAOs were made for it.
            try db.execute(sql: "UPDATE keys SET status = 2, updated_at = ? WHERE id = ?",
                           arguments: [now.timeIntervalSince1970, old.id])
            old.status = .rotated
            old.updatedAt = now
            newKey.legacy = false
            try Self.insert(newKey, db)
            try db.execute(sql: "UPDATE base_key SET key_id = ? WHERE key_id = ?", arguments: [newKey.id, old.id])
            let baseMoved = db.changesCount > 0
            let moved = try Row.fetchAll(db, sql: "SELECT kind, fqn FROM key_mappings WHERE key_id = ?", arguments: [old.id])
                .map { KeyMapping(kind: KeyMapping.Kind(rawValue: $0["kind"]) ?? .value, fqn: $0["fqn"], kid: newKey.kid) }
            try db.execute(sql: """
                INSERT OR IGNORE INTO key_mappings (kind, fqn, key_id) SELECT kind, fqn, ? FROM key_mappings WHERE key_id = ?
                """, arguments: [newKey.id, old.id])
            try db.execute(sql: "DELETE FROM key_mappings WHERE key_id = ?", arguments: [old.id])
            return RotationResult(newKey: newKey, rotatedKey: old, baseKeyMoved: baseMoved, movedMappings: moved)
        }
    }

    public func delete(kid: String) throws(RegistryError) {
        try write(changing: [kid]) { db in
            let record = try Self.requireKey(kid, db)
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM base_key WHERE key_id = ?", arguments: [record.id]) ?? 0 > 0 {
                throw RegistryError.conflict("\(kid) is the base key; set another base key first")
            }
            try db.execute(sql: "DELETE FROM key_mappings WHERE key_id = ?", arguments: [record.id])
            try db.execute(sql: "DELETE FROM keys WHERE id = ?", arguments: [record.id])
        }
    }

    public func setBaseKey(kid: String) throws(RegistryError) {
        try write(changing: []) { db in
            let record = try Self.requireKey(kid, db)
            guard record.status == .active else { throw RegistryError.invalid("the base key must be ACTIVE; \(kid) is ROTATED") }
            try db.execute(sql: "INSERT INTO base_key (singleton, key_id) VALUES (1, ?) ON CONFLICT(singleton) DO UPDATE SET key_id = excluded.key_id",
                           arguments: [record.id])
        }
    }

    public func map(_ mapping: KeyMapping) throws(RegistryError) {
        guard !mapping.fqn.isEmpty else { throw .invalid("the FQN must not be empty") }
        try write(changing: []) { db in
            let record = try Self.requireKey(mapping.kid, db)
            try db.execute(sql: "INSERT OR IGNORE INTO key_mappings (kind, fqn, key_id) VALUES (?, ?, ?)",
                           arguments: [mapping.kind.rawValue, mapping.fqn, record.id])
        }
    }

    public func unmap(_ mapping: KeyMapping) throws(RegistryError) {
        try write(changing: []) { db in
            let record = try Self.requireKey(mapping.kid, db)
            try db.execute(sql: "DELETE FROM key_mappings WHERE kind = ? AND fqn = ? AND key_id = ?",
                           arguments: [mapping.kind.rawValue, mapping.fqn, record.id])
            guard db.changesCount > 0 else {
                throw RegistryError.notFound("no \(mapping.kind.rawValue) mapping \(mapping.fqn) → \(mapping.kid)")
            }
        }
    }

    @discardableResult
    public func createProvider(_ config: ProviderConfig) throws(RegistryError) -> ProviderConfig {
        guard !config.name.isEmpty, !config.manager.isEmpty else { throw .invalid("a provider needs a name and a manager") }
        guard (try? JSONSerialization.jsonObject(with: Data(config.configJSON.utf8))) != nil else {
            throw .invalid("the provider config is not JSON")
        }
        try write(changing: []) { db in
            let now = Date().timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO provider_configs (id, name, manager, config_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [config.id, config.name, config.manager, config.configJSON, now, now])
        }
        return config
    }

    public func provider(name: String) throws(RegistryError) -> ProviderConfig? {
        try providers().first { $0.name == name }
    }

    public func onChange(_ observer: @escaping @Sendable ([String]) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    // MARK: Plumbing

    private func read<T>(_ body: (Database) throws -> T) throws(RegistryError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Self.mapError(error)
        }
    }

    private func write<T>(changing kids: [String], _ body: (Database) throws -> T) throws(RegistryError) -> T {
        let result: T
        do {
            result = try pool.write(body)
        } catch {
            throw Self.mapError(error)
        }
        if !kids.isEmpty {
            for observer in observers.withLock({ $0 }) { observer(kids) }
        }
        return result
    }

    private static func mapError(_ error: any Error) -> RegistryError {
        if let registryError = error as? RegistryError { return registryError }
        if let database = error as? DatabaseError {
            if database.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || database.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                let message = database.message ?? ""
                if message.contains("keys.kid") { return .conflict("a key with this kid already exists") }
                if message.contains("legacy") { return .conflict("another key is already legacy (at most one)") }
                if message.contains("provider_configs.name") { return .conflict("a provider with this name already exists") }
                return .conflict(message)
            }
            return .storage(database.message ?? "\(database.resultCode)")
        }
        return .storage("\(error)")
    }

    private static func requireKey(_ kid: String, _ db: Database) throws -> KeyRecord {
        guard let row = try Row.fetchOne(db, sql: selectKeys + " WHERE k.kid = ?", arguments: [kid]) else {
            throw RegistryError.notFound("no key with kid \(kid)")
        }
        return try record(row)
    }

    private static func insert(_ record: KeyRecord, _ db: Database) throws {
        var providerID: String?
        if let provider = record.providerConfig {
            providerID = try String.fetchOne(db, sql: "SELECT id FROM provider_configs WHERE name = ?", arguments: [provider.name])
            guard providerID != nil else { throw RegistryError.notFound("no provider config named \(provider.name)") }
        }
        try db.execute(sql: """
            INSERT INTO keys (id, kid, algorithm, algorithm_enum, status, mode, public_key_pem, private_key_id, wrapped_key,
                              provider_config_id, legacy, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                record.id, record.kid, record.algorithm.description, record.algorithmEnumValue, record.status.rawValue,
                record.mode.rawValue, record.publicKeyPEM, record.privateKeyContext?.keyID,
                record.privateKeyContext?.wrappedKey, providerID, record.legacy ? 1 : 0,
                record.createdAt.timeIntervalSince1970, record.updatedAt.timeIntervalSince1970,
            ])
    }

    private static func record(_ row: Row) throws -> KeyRecord {
        let keyID: String? = row["private_key_id"]
        let wrapped: String? = row["wrapped_key"]
        let context = keyID == nil && wrapped == nil ? nil : PrivateKeyContext(keyID: keyID ?? "", wrappedKey: wrapped ?? "")
        var provider: ProviderConfig?
        if let id: String = row["p_id"] {
            provider = ProviderConfig(id: id, name: row["p_name"], manager: row["p_manager"], configJSON: row["p_config"])
        }
        let kid: String = row["kid"]
        let algorithmText: String? = row["algorithm"]
        // Never a default: a key read back under the wrong algorithm would be served as one.
        guard let algorithmText, let algorithm = KeyAlgorithm(algorithmText) else {
            throw RegistryError.storage("key \(kid): unreadable algorithm '\(algorithmText?.prefix(40) ?? "NULL")' in the registry")
        }
        return KeyRecord(
            id: row["id"], kid: kid, algorithm: algorithm,
            status: KeyStatus(rawValue: row["status"]) ?? .active, mode: KeyMode(rawValue: row["mode"]) ?? .publicKeyOnly,
            publicKeyPEM: row["public_key_pem"], privateKeyContext: context, providerConfig: provider,
            legacy: (row["legacy"] as Int) == 1,
            createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }
}
