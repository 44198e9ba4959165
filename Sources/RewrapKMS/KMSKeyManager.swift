import Foundation
import RewrapCrypto
import RewrapEngine
import RewrapRegistry
import RewrapWire

/// The key manager for keys held in AWS KMS (`opentdf.io/aws`, REMOTE mode): the private key
/// never leaves KMS; each unwrap is a `Decrypt` (RSAES_OAEP_SHA_1) or a `DeriveSharedSecret`
/// (then HKDF locally, in the engine).
public struct KMSKeyManager: KeyManager {
    public static let managerName = "opentdf.io/aws"
    public var name: String { Self.managerName }
    public let client: KMSClient

    public init(client: KMSClient) { self.client = client }

    public func resolve(_ record: KeyRecord) throws(KeyManagerError) -> KeyResolution {
        switch record.mode {
        case .remote:
            guard let keyID = record.privateKeyContext?.keyID, !keyID.isEmpty else {
                throw .unusableKey(kid: record.kid, reason: "no KMS key id in the private key context")
            }
            return .remote(KMSRemoteKey(kid: record.kid, algorithm: record.algorithm, keyID: keyID, client: client))
        case .providerRootKey:
            // Only usable once `prepare` (async) has had KMS unwrap it and the cache holds it.
            throw .unusableKey(kid: record.kid, reason: "PROVIDER_ROOT_KEY keys are unwrapped by KMS before use")
        default:
            throw .unusableKey(kid: record.kid, reason: "\(record.mode) keys are not handled by \(name)")
        }
    }

    /// PROVIDER_ROOT_KEY: KMS decrypts the wrapped private key (SYMMETRIC_DEFAULT under the
    /// provider key named by the private key context's key id); it is parsed here and then used
    /// locally like a root-wrapped key.
    public func prepare(_ record: KeyRecord) async throws(KeyManagerError) -> KeyResolution? {
        guard record.mode == .providerRootKey else { return nil }
        guard let context = record.privateKeyContext, !context.keyID.isEmpty,
              let wrapped = Base64.decode(context.wrappedKey, options: .protoJSON)
        else { throw .unusableKey(kid: record.kid, reason: "no provider key id or wrapped key") }
        let pem: SecureBytes
        do {
            pem = try await client.decrypt(keyID: context.keyID, ciphertext: wrapped, algorithm: "SYMMETRIC_DEFAULT")
        } catch {
            throw .unusableKey(kid: record.kid, reason: "\(error)")
        }
        let key: PrivateKey
        do {
            key = try PrivateKey(pem: pem)
        } catch {
            throw .unusableKey(kid: record.kid, reason: "the unwrapped key does not parse: \(error)")
        }
        guard key.algorithm == record.algorithm else {
            throw .unusableKey(kid: record.kid, reason: "the private key is \(key.algorithm), the record says \(record.algorithm)")
        }
        return .local(KASKey(kid: record.kid, privateKey: key, legacy: record.legacy))
    }
}

/// One KMS key as the engine sees it.
struct KMSRemoteKey: RemoteKey {
    let kid: String
    let algorithm: KeyAlgorithm
    let keyID: String
    let client: KMSClient

    func decrypt(_ ciphertext: [UInt8]) async throws(RemoteKeyError) -> SecureBytes {
        do {
            return try await client.decrypt(keyID: keyID, ciphertext: ciphertext)
        } catch {
            throw Self.map(error)
        }
    }

    func deriveSharedSecret(peerSPKI: [UInt8]) async throws(RemoteKeyError) -> SecureBytes {
        do {
            return try await client.deriveSharedSecret(keyID: keyID, peerSPKI: peerSPKI)
        } catch {
            throw Self.map(error)
        }
    }

    static func map(_ error: KMSError) -> RemoteKeyError {
        error.isInputRejection ? .rejected : .unavailable(error.description)
    }
}
