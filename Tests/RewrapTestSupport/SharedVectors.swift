import Foundation

/// Vectors from outside the repository: `../shared/vectors` beside it (present in CI, maybe not
/// elsewhere), or the directory `REWRAP_SHARED_VECTORS` names. Tests that need a file here are
/// disabled with `skipReason(for:)` when it is missing, so the run says why they did not run.
public enum SharedVectors {
    public static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["REWRAP_SHARED_VECTORS"], !override.isEmpty {
            return URL(fileURLWithPath: override, isDirectory: true)
        }
        return Fixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors", isDirectory: true)
    }()

    public static func path(_ name: String) -> URL { directory.appendingPathComponent(name) }

    public static func available(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name).path) }

    /// What a disabled test prints: which file is missing, where it was looked for, and how to
    /// point the tests at another copy.
    public static func skipReason(for name: String) -> String {
        "\(name) not found in \(directory.path) (set REWRAP_SHARED_VECTORS to the directory that holds it)"
    }
}

/// `opentdf-registry-fixtures.json` (spec §8.2): OpenTDF's registry keys, private keys wrapped by
/// the development root key exactly as the platform stores them.
public enum OpenTDFRegistryFixtures {
    public static let fileName = "opentdf-registry-fixtures.json"
    public static var path: URL { SharedVectors.path(fileName) }
    public static var available: Bool { SharedVectors.available(fileName) }
    public static var skipReason: String { SharedVectors.skipReason(for: fileName) }

    public struct File: Decodable, Sendable {
        public struct Key: Decodable, Sendable {
            public var key_id: String
            public var key_algorithm: Int
            public var private_key_ctx: String
            public var public_key_ctx: String
        }
        public var root_key_hex: String
        public var algorithm_enum: [String: String]
        public var keys: [Key]
    }

    public struct PrivateContext: Decodable, Sendable {
        public var wrapped: String
        public init(from decoder: any Decoder) throws {
            // The fixtures use both spellings, as protojson accepts both.
            struct Keys: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
            let c = try decoder.container(keyedBy: Keys.self)
            wrapped = try c.decodeIfPresent(String.self, forKey: Keys(stringValue: "wrappedKey"))
                ?? c.decode(String.self, forKey: Keys(stringValue: "wrapped_key"))
        }
    }

    public struct PublicContext: Decodable, Sendable { public var pem: String }

    public static func load() throws -> File { try JSONDecoder().decode(File.self, from: Data(contentsOf: path)) }
}
