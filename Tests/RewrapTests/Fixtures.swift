import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapKeyRing
import RewrapWire

/// Test fixtures: fixed keys and known-answer vectors made by `Fixtures/make-vectors.py`
/// (pyca/cryptography, independent of the OpenSSL calls under test).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared/vectors` beside the repository (present in CI, maybe not elsewhere).
    static let sharedVectors = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors")

    static func keyPath(_ name: String, _ half: String = "private") -> String {
        directory.appendingPathComponent("keys/\(name)-\(half).pem").path
    }

    static func pem(_ name: String, _ half: String = "private") -> String {
        try! String(contentsOfFile: keyPath(name, half), encoding: .utf8)
    }

    static func privateKey(_ name: String) -> PrivateKey { try! PrivateKey(pem: pem(name)) }
    static func publicKey(_ name: String) -> PublicKey { try! PublicKey(pem: pem(name, "public")) }

    /// The KAS key file name for an algorithm.
    static func kasKeyName(_ algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .rsa(let bits): return "kas-rsa\(bits)"
        case .ec(let curve): return "kas-" + curve.rawValue.replacingOccurrences(of: "ec:", with: "")
        }
    }

    static func clientKeyName(_ algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .rsa: return "client-rsa2048"
        case .ec(let curve): return "client-" + curve.rawValue.replacingOccurrences(of: "ec:", with: "")
        }
    }

    struct Vectors: Decodable {
        struct RSA: Decodable { var alg, key, dek, wrappedKey, binding: String }
        struct EC: Decodable {
            var alg, key, ephemeralKey, dek, nonce, ephemeralPublicKey, wrapKey, wrappedKey, binding: String
        }
        struct Session: Decodable { var alg, clientKey, sessionKey, dek, nonce, wrapKey, kasWrappedKey: String }
        var policy: String
        var salt: String
        var rsa: [RSA]
        var ec: [EC]
        var session: [Session]
    }

    static let vectors: Vectors = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("vectors.json"))
        return try! JSONDecoder().decode(Vectors.self, from: data)
    }()

    /// Kids: one KAS key per algorithm, kid = the algorithm string.
    static let allKASAlgorithms: [KeyAlgorithm] = KeyAlgorithm.kasAlgorithms

    static let keyRing: KeyRing = {
        try! KeyRing(keys: allKASAlgorithms.map { KASKey(kid: $0.description, privateKey: privateKey(kasKeyName($0))) })
    }()

    static func kas(_ algorithm: KeyAlgorithm) -> TDFWriter.KASPublicKey {
        TDFWriter.KASPublicKey(kid: algorithm.description, key: publicKey(kasKeyName(algorithm)))
    }
}

func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        out.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
    }
    return out
}

func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// A request with one policy and the given KAOs, as the Go SDK would send it.
func makeRequest(client: String, policy: String = Fixtures.vectors.policy, kaos: [KeyAccess], policyID: String = "policy")
    -> UnsignedRewrapRequest {
    RewrapRequestBuilder.request(clientPublicKeyPEM: client, policies: [(id: policyID, body: policy, kaos: kaos)])
}

/// A KAO for a fresh DEK wrapped to `algorithm`'s fixture KAS key; returns the DEK too.
func makeKAO(_ algorithm: KeyAlgorithm, policy: String = Fixtures.vectors.policy, includeKid: Bool = true)
    throws -> (KeyAccess, [UInt8]) {
    let dek = try TDFWriter.makeDEK()
    let kao = try TDFWriter().keyAccess(dek: dek, policyBase64: policy, kas: Fixtures.kas(algorithm), includeKid: includeKid)
    return (kao, dek.copyBytes())
}

func engine(
    _ keys: any KeySource = Fixtures.keyRing, authorizer: any RewrapAuthorizer = DenyAttributedPolicies(),
    configure: (inout RewrapConfiguration) -> Void = { _ in }
) -> RewrapEngine {
    var configuration = RewrapConfiguration()
    configure(&configuration)
    return RewrapEngine(keys: keys, authorizer: authorizer, configuration: configuration)
}
