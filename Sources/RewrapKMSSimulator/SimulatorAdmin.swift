import RewrapAWSWire
import RewrapCrypto

/// The simulator's admin operations (`X-Amz-Target: RewrapKMSSimulator.<Op>`): load an existing
/// private key, and register benchmark-mode answers ahead of a run.
public enum SimulatorAdmin {
    /// The admin operations' target prefix, apart from AWS's `TrentService.`.
    public static let targetPrefix = "RewrapKMSSimulator."

    public enum Operation: String, Sendable {
        case importKey = "ImportKey"
        case registerDecrypt = "RegisterDecrypt"
        case registerSharedSecret = "RegisterSharedSecret"

        public var target: String { SimulatorAdmin.targetPrefix + rawValue }
    }

    public struct ImportKeyRequest: Codable, Sendable {
        public var PrivateKeyPEM: String
        public var KeyId: String?
        public init(PrivateKeyPEM: String, KeyId: String? = nil) {
            self.PrivateKeyPEM = PrivateKeyPEM
            self.KeyId = KeyId
        }
    }

    public struct RegisterDecryptRequest: Codable, Sendable {
        public var KeyId: String
        public var CiphertextBlob: String
        public var Plaintext: String
        public init(KeyId: String, CiphertextBlob: String, Plaintext: String) {
            self.KeyId = KeyId
            self.CiphertextBlob = CiphertextBlob
            self.Plaintext = Plaintext
        }
    }

    public struct RegisterSharedSecretRequest: Codable, Sendable {
        public var KeyId: String
        public var PublicKey: String
        public var SharedSecret: String
        public init(KeyId: String, PublicKey: String, SharedSecret: String) {
            self.KeyId = KeyId
            self.PublicKey = PublicKey
            self.SharedSecret = SharedSecret
        }
    }
}
