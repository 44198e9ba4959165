import Foundation
import RewrapCrypto

/// Test fixtures: fixed keys and known-answer vectors made by `Fixtures/make-vectors.py`
/// (pyca/cryptography, independent of the OpenSSL calls under test). Read relative to this
/// file, so every test target finds the same copies without bundling them as resources.
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func keyPath(_ name: String, _ half: String = "private") -> String {
        directory.appendingPathComponent("keys/\(name)-\(half).pem").path
    }

    public static func pem(_ name: String, _ half: String = "private") -> String {
        try! String(contentsOfFile: keyPath(name, half), encoding: .utf8)
    }

    public static func privateKey(_ name: String) -> PrivateKey { try! PrivateKey(pem: pem(name)) }
    public static func publicKey(_ name: String) -> PublicKey { try! PublicKey(pem: pem(name, "public")) }

    /// The KAS key file name for an algorithm.
    public static func kasKeyName(_ algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .rsa(let bits): return "kas-rsa\(bits)"
        case .ec(let curve): return "kas-" + curve.rawValue.replacingOccurrences(of: "ec:", with: "")
        }
    }

    public static func clientKeyName(_ algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .rsa: return "client-rsa2048"
        case .ec(let curve): return "client-" + curve.rawValue.replacingOccurrences(of: "ec:", with: "")
        }
    }

    public struct Vectors: Decodable, Sendable {
        public struct RSA: Decodable, Sendable {
            public var alg, key, dek, wrappedKey, binding: String
            public init(alg: String, key: String, dek: String, wrappedKey: String, binding: String) {
                (self.alg, self.key, self.dek, self.wrappedKey, self.binding) = (alg, key, dek, wrappedKey, binding)
            }
        }
        public struct EC: Decodable, Sendable {
            public var alg, key, ephemeralKey, dek, nonce, ephemeralPublicKey, wrapKey, wrappedKey, binding: String
        }
        public struct Session: Decodable, Sendable { public var alg, clientKey, sessionKey, dek, nonce, wrapKey, kasWrappedKey: String }
        public var policy: String
        public var salt: String
        public var rsa: [RSA]
        public var ec: [EC]
        public var session: [Session]
    }

    public static let vectors: Vectors = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("vectors.json"))
        return try! JSONDecoder().decode(Vectors.self, from: data)
    }()
}

public func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        out.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
    }
    return out
}

public func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
