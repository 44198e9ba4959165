import Foundation
import RewrapAWSWire
import RewrapCrypto
import RewrapWire
import Synchronization

/// Key lookup, ARNs, metadata and AWS-shaped replies.
extension SimulatedKMS {
    // MARK: Helpers

    func lookup(_ keyID: String) -> Key? {
        let id = keyID.hasPrefix("arn:") ? String(keyID.split(separator: "/").last ?? "") : keyID
        return state.withLock { $0.keys[id] }
    }

    func arn(_ id: String) -> String { KMSWire.arn(region: region, account: account, keyID: id) }

    func metadata(_ key: Key) -> KMSWire.KeyMetadata {
        var encryption: [String]?
        var agreement: [String]?
        switch key.spec.algorithm {
        case .rsa?: encryption = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        case .ec?: agreement = ["ECDH"]
        case nil: encryption = ["SYMMETRIC_DEFAULT"]
        }
        return KMSWire.KeyMetadata(KeyId: key.id, Arn: arn(key.id), KeySpec: key.spec, KeyUsage: key.usage, KeyState: "Enabled",
                                   Enabled: true, CreationDate: key.created.timeIntervalSince1970, Origin: key.origin,
                                   EncryptionAlgorithms: encryption, KeyAgreementAlgorithms: agreement)
    }


    func ok<T: Encodable>(_ value: T) -> Reply {
        Reply(status: 200, headers: [("Content-Type", KMSWire.contentType), ("x-amzn-RequestId", UUID().uuidString.lowercased())],
              body: KMSWire.encode(value))
    }

    func error(_ status: Int, _ code: String, _ message: String) -> Reply {
        state.withLock { $0.counters.errors[code, default: 0] += 1 }
        return Reply(status: status, headers: [("Content-Type", KMSWire.contentType), ("x-amzn-RequestId", UUID().uuidString.lowercased())],
                     body: KMSWire.encode(KMSWire.ErrorBody(code, message)))
    }

    func notFound(_ keyID: String) -> Reply { error(400, "NotFoundException", "Key '\(keyID)' does not exist") }
    func invalidCiphertext() -> Reply { error(400, "InvalidCiphertextException", "The ciphertext is invalid for this key.") }
    func serializationError() -> Reply { error(400, "SerializationException", "The request body is not valid JSON for this operation.") }
}
