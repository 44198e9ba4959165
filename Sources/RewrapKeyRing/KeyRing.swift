import Foundation
import RewrapCrypto
import RewrapEngine
import Yams

/// Keys held in memory, loaded from a keyring file or built in code.
public final class KeyRing: KeySource {
    private let byKid: [String: KASKey]
    public let keys: [KASKey]
    private let legacy: [KASKey]

    /// `keys` in file order. As OpenTDF's keyring does (provider.go), when no key is marked
    /// legacy every RSA-2048 key is a legacy candidate; legacy candidates are RSA-2048 only.
    public init(keys: [KASKey]) throws(KeyRingError) {
        var byKid: [String: KASKey] = [:]
        for key in keys {
            guard byKid[key.kid] == nil else { throw .duplicateKid(key.kid) }
            byKid[key.kid] = key
        }
        self.byKid = byKid
        self.keys = keys
        let rsa2048 = keys.filter { $0.algorithm == .rsa2048 }
        let marked = rsa2048.filter(\.legacy)
        self.legacy = keys.contains(where: \.legacy) ? marked : rsa2048
    }

    public func key(forKid kid: String) -> KASKey? { byKid[kid] }

    public func resolve(kid: String) -> KeyResolution? { byKid[kid].map(KeyResolution.local) }

    public func legacyKeys() -> [KASKey] { legacy }

    /// Loads a keyring file (YAML or JSON; JSON is YAML). Field names follow OpenTDF's
    /// `server.cryptoProvider.standard.keys` and `services.kas.keyring`:
    ///
    /// ```yaml
    /// keys:
    ///   - kid: r1
    ///     alg: rsa:2048
    ///     private: kas-r1-private.pem   # relative to this file
    ///     legacy: true
    ///   - kid: e1
    ///     alg: ec:secp256r1
    ///     private: kas-e1-private.pem
    /// ```
    /// A bare list of entries is accepted too, and a `keyring:` list of `{kid, alg, legacy}` may
    /// mark legacy keys separately. Every private key is parsed here, once.
    public static func load(file path: String) throws(KeyRingError) -> KeyRing {
        let url = URL(fileURLWithPath: path)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        let file = try KeyRingFile.parse(text, path: path)
        let directory = url.deletingLastPathComponent()
        var keys: [KASKey] = []
        for (index, entry) in file.entries.enumerated() {
            keys.append(try entry.load(index: index, relativeTo: directory, legacyKids: file.legacyKids))
        }
        return try KeyRing(keys: keys)
    }
}

public enum KeyRingError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case invalidEntry(entry: String, reason: String)
    case duplicateKid(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read keyring \(path): \(reason)"
        case .malformed(let path, let reason): return "keyring \(path) is not valid: \(reason)"
        case .invalidEntry(let entry, let reason): return "keyring entry \(entry): \(reason)"
        case .duplicateKid(let kid): return "keyring has two keys with kid \"\(kid)\""
        }
    }
}

/// The on-disk shape, read and written through Yams.
struct KeyRingFile {
    /// One key; every field optional so a bad entry is reported by name, not as a YAML error.
    struct Entry: Codable, Equatable {
        var kid: String?
        var alg: String?
        var `private`: String?
        var legacy: Bool?
    }

    struct Marker: Codable, Equatable {
        var kid: String
        var legacy: Bool?
    }

    /// The `keys:` form (what `appendEntry` writes), with the optional separate `keyring:` list.
    struct Document: Codable, Equatable {
        var keys: [Entry]?
        var keyring: [Marker]?
    }

    var entries: [Entry]
    var legacyKids: Set<String>

    static func parse(_ text: String, path: String) throws(KeyRingError) -> KeyRingFile {
        let decoder = YAMLDecoder()
        if let list = try? decoder.decode([Entry].self, from: text) {
            return KeyRingFile(entries: list, legacyKids: [])
        }
        do {
            let document = try decoder.decode(Document.self, from: text)
            guard let keys = document.keys, !keys.isEmpty else {
                throw KeyRingError.malformed(path: path, reason: "no `keys:` list of {kid, alg, private, legacy} entries")
            }
            let legacy = Set((document.keyring ?? []).filter { $0.legacy == true }.map(\.kid))
            return KeyRingFile(entries: keys, legacyKids: legacy)
        } catch let error as KeyRingError {
            throw error
        } catch {
            throw .malformed(path: path, reason: String(describing: error))
        }
    }
}

extension KeyRingFile.Entry {
    func load(index: Int, relativeTo directory: URL, legacyKids: Set<String>) throws(KeyRingError) -> KASKey {
        let name = kid.map { "\"\($0)\"" } ?? "#\(index + 1)"
        guard let kid, !kid.isEmpty else { throw .invalidEntry(entry: name, reason: "missing `kid`") }
        guard let alg else { throw .invalidEntry(entry: name, reason: "missing `alg`") }
        guard let algorithm = KeyAlgorithm(alg) else {
            throw .invalidEntry(entry: name, reason: "unknown `alg` \"\(alg)\" (use \(KeyAlgorithm.kasAlgorithmsListed))")
        }
        guard let privatePath = self.private, !privatePath.isEmpty else {
            throw .invalidEntry(entry: name, reason: "missing `private` (path to the PEM private key)")
        }
        let resolved = privatePath.hasPrefix("/") ? URL(fileURLWithPath: privatePath)
            : directory.appendingPathComponent(privatePath)
        let pem: SecureBytes
        do {
            pem = try readSecretFile(resolved.path, maxBytes: 1 << 20)
        } catch {
            throw .invalidEntry(entry: name, reason: "cannot read private key \(resolved.path): \(error)")
        }
        let key: PrivateKey
        do {
            key = try PrivateKey(pem: pem)
        } catch {
            throw .invalidEntry(entry: name, reason: "\(resolved.path) is not a usable private key: \(error)")
        }
        guard key.algorithm == algorithm else {
            throw .invalidEntry(entry: name, reason: "`alg` says \(algorithm) but \(resolved.path) holds a \(key.algorithm) key")
        }
        key.warmUp()
        return KASKey(kid: kid, privateKey: key, legacy: legacy ?? legacyKids.contains(kid))
    }
}

/// Reads a file straight into a wiping buffer, so private-key text never sits in an array.
func readSecretFile(_ path: String, maxBytes: Int) throws -> SecureBytes {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    let size = Int(info.st_size)
    guard size <= maxBytes else { throw POSIXError(.EFBIG) }
    let buffer = SecureBytes(count: size)
    var offset = 0
    while offset < size {
        let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, size - offset) }
        if got < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        if got == 0 { break }
        offset += got
    }
    guard offset == size else { throw POSIXError(.EIO) }
    return buffer
}

// MARK: - Writing keyring files

extension KeyRing {
    /// Adds `{kid, alg, private, legacy}` to the keyring file at `path`, creating it if needed.
    /// The file is rewritten in the canonical `keys:` form (comments are not kept). Fails if the
    /// kid is already present.
    public static func appendEntry(
        toFile path: String, kid: String, algorithm: KeyAlgorithm, privateKeyPath: String, legacy: Bool
    ) throws(KeyRingError) {
        var entries: [KeyRingFile.Entry] = []
        var legacyKids: Set<String> = []
        if FileManager.default.fileExists(atPath: path) {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
            }
            if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                let file = try KeyRingFile.parse(text, path: path)
                entries = file.entries
                legacyKids = file.legacyKids
            }
        }
        guard !entries.contains(where: { $0.kid == kid }) else { throw .duplicateKid(kid) }
        entries.append(.init(kid: kid, alg: algorithm.description, private: privateKeyPath, legacy: legacy))
        // Canonical form: every entry says whether it is legacy, so `keyring:` markers fold in.
        for index in entries.indices {
            entries[index].legacy = entries[index].legacy ?? legacyKids.contains(entries[index].kid ?? "")
        }
        let yaml = try KeyRingFile.yaml(KeyRingFile.Document(keys: entries), path: path)
        do {
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: "cannot write: \((error as NSError).localizedDescription)")
        }
    }
}

extension KeyRingFile {
    /// The comment `appendEntry` puts on top (YAML encoders write no comments).
    static let header = "# OpenTDF keyring: kid, alg, private (PEM path relative to this file), legacy\n"

    /// `document` as YAML by Yams' encoder, which quotes and escapes whatever needs it (a path
    /// with a newline or a kid that reads as a boolean round-trips). Block style, no line
    /// folding (paths stay on one line), non-ASCII written as is.
    static func yaml(_ document: Document, path: String) throws(KeyRingError) -> String {
        let encoder = YAMLEncoder()
        encoder.options = YAMLEncoder.Options(
            indent: 2, width: -1, allowUnicode: true, sequenceStyle: .block, mappingStyle: .block,
            newLineScalarStyle: .doubleQuoted)
        do {
            return header + (try encoder.encode(document))
        } catch {
            throw .malformed(path: path, reason: "cannot encode the keyring: \(error)")
        }
    }
}

/// Writes a secret to a new file readable by its owner only, straight from wiping memory.
public func writeSecretFile(_ secret: SecureBytes, to path: String, overwrite: Bool) throws {
    let flags = O_WRONLY | O_CREAT | O_TRUNC | (overwrite ? 0 : O_EXCL)
    let fd = open(path, flags, 0o600)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    guard fchmod(fd, 0o600) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    var offset = 0
    while offset < secret.count {
        let written = secret.withUnsafeBytes { write(fd, $0.baseAddress! + offset, secret.count - offset) }
        guard written > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        offset += written
    }
}
