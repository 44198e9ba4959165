import Foundation
import RewrapCrypto
import RewrapWire

/// AWS KMS over its JSON 1.1 protocol (kms.md §1): `POST /`, `X-Amz-Target: TrentService.<Op>`,
/// `Content-Type: application/x-amz-json-1.1`, PascalCase members, blobs in base64, errors as
/// `{"__type": …, "message": …}`. Shared by the client and the simulator.
public enum KMSWire {
    public static let contentType = "application/x-amz-json-1.1"
    public static let targetPrefix = "TrentService."

    public enum Operation: String, Sendable, CaseIterable {
        case createKey = "CreateKey"
        case describeKey = "DescribeKey"
        case listKeys = "ListKeys"
        case getPublicKey = "GetPublicKey"
        case decrypt = "Decrypt"
        case encrypt = "Encrypt"
        case deriveSharedSecret = "DeriveSharedSecret"

        public var target: String { KMSWire.targetPrefix + rawValue }
    }

    public enum KeySpec: String, Codable, Sendable, CaseIterable {
        case rsa2048 = "RSA_2048", rsa3072 = "RSA_3072", rsa4096 = "RSA_4096"
        case eccNistP256 = "ECC_NIST_P256", eccNistP384 = "ECC_NIST_P384", eccNistP521 = "ECC_NIST_P521"
        case symmetricDefault = "SYMMETRIC_DEFAULT"

        public var algorithm: KeyAlgorithm? {
            switch self {
            case .rsa2048: return .rsa2048
            case .rsa3072: return .rsa3072
            case .rsa4096: return .rsa4096
            case .eccNistP256: return .ecP256
            case .eccNistP384: return .ecP384
            case .eccNistP521: return .ecP521
            case .symmetricDefault: return nil
            }
        }

        public init?(_ algorithm: KeyAlgorithm) {
            guard let spec = Self.allCases.first(where: { $0.algorithm == algorithm }) else { return nil }
            self = spec
        }
    }

    public enum KeyUsage: String, Codable, Sendable {
        case encryptDecrypt = "ENCRYPT_DECRYPT"
        case keyAgreement = "KEY_AGREEMENT"
        case signVerify = "SIGN_VERIFY"
    }

    public struct KeyMetadata: Codable, Sendable, Equatable {
        public var KeyId: String
        public var Arn: String
        public var KeySpec: KeySpec
        public var KeyUsage: KeyUsage
        public var KeyState: String
        public var Enabled: Bool
        public var CreationDate: Double
        public var Origin: String
        public var EncryptionAlgorithms: [String]?
        public var KeyAgreementAlgorithms: [String]?

        public init(KeyId: String, Arn: String, KeySpec: KeySpec, KeyUsage: KeyUsage, KeyState: String, Enabled: Bool, CreationDate: Double, Origin: String, EncryptionAlgorithms: [String]?, KeyAgreementAlgorithms: [String]?) {
            self.KeyId = KeyId
            self.Arn = Arn
            self.KeySpec = KeySpec
            self.KeyUsage = KeyUsage
            self.KeyState = KeyState
            self.Enabled = Enabled
            self.CreationDate = CreationDate
            self.Origin = Origin
            self.EncryptionAlgorithms = EncryptionAlgorithms
            self.KeyAgreementAlgorithms = KeyAgreementAlgorithms
        }
    }

    public struct CreateKeyRequest: Codable, Sendable {
        public var KeySpec: KeySpec?
        public var KeyUsage: KeyUsage?
        public var Description: String?
        public init(KeySpec: KeySpec?, KeyUsage: KeyUsage?, Description: String? = nil) {
            self.KeySpec = KeySpec
            self.KeyUsage = KeyUsage
            self.Description = Description
        }
    }

    public struct KeyMetadataResponse: Codable, Sendable {
        public var KeyMetadata: KeyMetadata
        public init(KeyMetadata: KeyMetadata) { self.KeyMetadata = KeyMetadata }
    }

    public struct KeyIDRequest: Codable, Sendable {
        public var KeyId: String
        public init(KeyId: String) { self.KeyId = KeyId }
    }

    public struct ListKeysRequest: Codable, Sendable {
        public var Limit: Int?
        public var Marker: String?
        public init(Limit: Int? = nil, Marker: String? = nil) {
            self.Limit = Limit
            self.Marker = Marker
        }
    }

    public struct ListKeysResponse: Codable, Sendable {
        public struct Entry: Codable, Sendable, Equatable {
            public var KeyId: String
            public var KeyArn: String
            public init(KeyId: String, KeyArn: String) {
                self.KeyId = KeyId
                self.KeyArn = KeyArn
            }
        }
        public var Keys: [Entry]
        public var Truncated: Bool
        public var NextMarker: String?

        public init(Keys: [Entry], Truncated: Bool, NextMarker: String?) {
            self.Keys = Keys
            self.Truncated = Truncated
            self.NextMarker = NextMarker
        }
    }

    public struct GetPublicKeyResponse: Codable, Sendable {
        public var KeyId: String
        /// base64 of DER SubjectPublicKeyInfo.
        public var PublicKey: String
        public var KeySpec: KeySpec
        public var KeyUsage: KeyUsage
        public var EncryptionAlgorithms: [String]?
        public var KeyAgreementAlgorithms: [String]?

        public init(KeyId: String, PublicKey: String, KeySpec: KeySpec, KeyUsage: KeyUsage, EncryptionAlgorithms: [String]?, KeyAgreementAlgorithms: [String]?) {
            self.KeyId = KeyId
            self.PublicKey = PublicKey
            self.KeySpec = KeySpec
            self.KeyUsage = KeyUsage
            self.EncryptionAlgorithms = EncryptionAlgorithms
            self.KeyAgreementAlgorithms = KeyAgreementAlgorithms
        }
    }

    public struct DecryptRequest: Codable, Sendable {
        public var KeyId: String?
        public var CiphertextBlob: String
        public var EncryptionAlgorithm: String?
        public init(KeyId: String?, CiphertextBlob: String, EncryptionAlgorithm: String?) {
            self.KeyId = KeyId
            self.CiphertextBlob = CiphertextBlob
            self.EncryptionAlgorithm = EncryptionAlgorithm
        }
    }

    public struct DecryptResponse: Codable, Sendable {
        public var KeyId: String
        public var Plaintext: String
        public var EncryptionAlgorithm: String

        public init(KeyId: String, Plaintext: String, EncryptionAlgorithm: String) {
            self.KeyId = KeyId
            self.Plaintext = Plaintext
            self.EncryptionAlgorithm = EncryptionAlgorithm
        }
    }

    public struct EncryptRequest: Codable, Sendable {
        public var KeyId: String
        public var Plaintext: String
        public var EncryptionAlgorithm: String?
        public init(KeyId: String, Plaintext: String, EncryptionAlgorithm: String?) {
            self.KeyId = KeyId
            self.Plaintext = Plaintext
            self.EncryptionAlgorithm = EncryptionAlgorithm
        }
    }

    public struct EncryptResponse: Codable, Sendable {
        public var KeyId: String
        public var CiphertextBlob: String
        public var EncryptionAlgorithm: String
        public init(KeyId: String, CiphertextBlob: String, EncryptionAlgorithm: String) {
            self.KeyId = KeyId
            self.CiphertextBlob = CiphertextBlob
            self.EncryptionAlgorithm = EncryptionAlgorithm
        }
    }

    public struct DeriveSharedSecretRequest: Codable, Sendable {
        public var KeyId: String
        public var KeyAgreementAlgorithm: String
        /// base64 of DER SubjectPublicKeyInfo.
        public var PublicKey: String
        public init(KeyId: String, KeyAgreementAlgorithm: String = "ECDH", PublicKey: String) {
            self.KeyId = KeyId
            self.KeyAgreementAlgorithm = KeyAgreementAlgorithm
            self.PublicKey = PublicKey
        }
    }

    public struct DeriveSharedSecretResponse: Codable, Sendable {
        public var KeyId: String
        public var SharedSecret: String
        public var KeyAgreementAlgorithm: String
        public var KeyOrigin: String

        public init(KeyId: String, SharedSecret: String, KeyAgreementAlgorithm: String, KeyOrigin: String) {
            self.KeyId = KeyId
            self.SharedSecret = SharedSecret
            self.KeyAgreementAlgorithm = KeyAgreementAlgorithm
            self.KeyOrigin = KeyOrigin
        }
    }

    /// An AWS error: `__type` (the code) and `message`.
    public struct ErrorBody: Codable, Sendable, Equatable {
        public var __type: String
        public var message: String
        public init(_ type: String, _ message: String) {
            __type = type
            self.message = message
        }
    }

    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return Array(try! encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(bytes))
    }

    /// The error code of a response body or header: `namespace#Code:url` → `Code` (as AWS SDKs
    /// sanitise it); `message` or `Message`.
    public static func errorCode(body: [UInt8], header: String?) -> (code: String, message: String) {
        struct Loose: Decodable {
            var __type: String?
            var message: String?
            var Message: String?
        }
        let loose = decode(Loose.self, body)
        let raw = header ?? loose?.__type ?? ""
        var code = Substring(raw)
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        return (String(code), loose?.message ?? loose?.Message ?? "")
    }

    /// The key service's own key ARN form.
    public static func arn(region: String, account: String, keyID: String) -> String {
        "arn:aws:kms:\(region):\(account):key/\(keyID)"
    }
}
