import Foundation
import RewrapAWSWire
import RewrapCrypto
import RewrapWire
import Synchronization

/// The KMS operations proper, on request bodies already admitted.
extension SimulatedKMS {
    // MARK: Operations

    func createKey(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.CreateKeyRequest.self, body) else { return serializationError() }
        let spec = request.KeySpec ?? .symmetricDefault
        let usage = request.KeyUsage ?? .encryptDecrypt
        switch (spec, usage) {
        case (.rsa2048, .encryptDecrypt), (.rsa3072, .encryptDecrypt), (.rsa4096, .encryptDecrypt),
             (.eccNistP256, .keyAgreement), (.eccNistP384, .keyAgreement), (.eccNistP521, .keyAgreement),
             (.symmetricDefault, .encryptDecrypt):
            break
        default:
            return error(400, "ValidationException", "KeyUsage \(usage.rawValue) is not compatible with KeySpec \(spec.rawValue).")
        }
        var key = Key(id: UUID().uuidString.lowercased(), spec: spec, usage: usage, created: Date(), origin: "AWS_KMS")
        if let algorithm = spec.algorithm {
            guard let generated = try? PrivateKey.generate(algorithm) else { return error(500, "KMSInternalException", "Key generation failed.") }
            key.privateKey = generated
        } else {
            let material = SecureBytes(count: 32)
            guard (try? CryptoPrimitives.randomBytes(material.slice(0..<32))) != nil else { return error(500, "KMSInternalException", "No randomness.") }
            key.symmetricKey = material
        }
        insert(key)
        return ok(KMSWire.KeyMetadataResponse(KeyMetadata: metadata(key)))
    }

    func describeKey(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.KeyIDRequest.self, body) else { return serializationError() }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        return ok(KMSWire.KeyMetadataResponse(KeyMetadata: metadata(key)))
    }

    func listKeys(_ body: [UInt8]) -> Reply {
        let request = KMSWire.decode(KMSWire.ListKeysRequest.self, body) ?? KMSWire.ListKeysRequest(Limit: nil, Marker: nil)
        let limit = Swift.max(1, Swift.min(request.Limit ?? 100, 1000))
        let ids = state.withLock { $0.order }
        let start = request.Marker.flatMap { marker in ids.firstIndex(of: marker) } ?? 0
        let page = Array(ids[start..<Swift.min(ids.count, start + limit)])
        let truncated = start + limit < ids.count
        return ok(KMSWire.ListKeysResponse(
            Keys: page.map { .init(KeyId: $0, KeyArn: KMSWire.arn(region: region, account: account, keyID: $0)) },
            Truncated: truncated, NextMarker: truncated ? ids[start + limit] : nil))
    }

    func getPublicKey(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.KeyIDRequest.self, body) else { return serializationError() }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        guard let privateKey = key.privateKey, let der = try? privateKey.publicKey.spkiDER() else {
            return error(400, "UnsupportedOperationException", "GetPublicKey is not valid for a symmetric key.")
        }
        let m = metadata(key)
        return ok(KMSWire.GetPublicKeyResponse(
            KeyId: m.Arn, PublicKey: Base64.encode(der), KeySpec: key.spec, KeyUsage: key.usage,
            EncryptionAlgorithms: m.EncryptionAlgorithms, KeyAgreementAlgorithms: m.KeyAgreementAlgorithms))
    }

    func decrypt(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.DecryptRequest.self, body) else { return serializationError() }
        guard let ciphertext = Base64.decode(request.CiphertextBlob, options: .protoJSON),
              (1...6144).contains(ciphertext.count)
        else { return error(400, "ValidationException", "CiphertextBlob must be 1 to 6144 bytes of base64.") }
        let algorithm = request.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT"
        guard let keyID = request.KeyId else {
            return error(400, "ValidationException", "KeyId is required.")  // every key here is addressed by id
        }
        guard let key = lookup(keyID) else { return notFound(keyID) }
        guard key.usage == .encryptDecrypt else {
            return error(400, "InvalidKeyUsageException", "\(arn(key.id)) key usage is \(key.usage.rawValue) which is not valid for Decrypt.")
        }
        let plaintext: SecureBytes
        switch (key.spec.algorithm, algorithm) {
        case (.rsa?, "RSAES_OAEP_SHA_1"), (.rsa?, "RSAES_OAEP_SHA_256"):
            if benchmarkMode {
                guard let answer = key.decryptAnswers[ciphertext] else { return invalidCiphertext() }
                plaintext = answer
            } else {
                guard let privateKey = key.privateKey,
                      let opened = try? privateKey.decryptOAEP(ciphertext, hash: algorithm == "RSAES_OAEP_SHA_1" ? .sha1 : .sha256)
                else { return invalidCiphertext() }
                plaintext = opened
            }
        case (nil, "SYMMETRIC_DEFAULT"):
            guard let opened = openSymmetric(ciphertext, key: key) else { return invalidCiphertext() }
            plaintext = opened
        default:
            return error(400, "InvalidKeyUsageException", "The encryption algorithm \(algorithm) is not valid for \(key.spec.rawValue).")
        }
        return ok(KMSWire.DecryptResponse(KeyId: arn(key.id), Plaintext: plaintext.withUnsafeBytes { Base64.encode($0) },
                                          EncryptionAlgorithm: algorithm))
    }

    /// Encrypt: SYMMETRIC_DEFAULT into the simulator's own blob (what PROVIDER_ROOT_KEY wrapping
    /// uses), or RSA-OAEP under an RSA key's public half. Plaintext at most 4096 bytes.
    func encrypt(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.EncryptRequest.self, body) else { return serializationError() }
        guard let plaintext = Base64.decode(request.Plaintext, options: .protoJSON), (1...4096).contains(plaintext.count) else {
            return error(400, "ValidationException", "Plaintext must be 1 to 4096 bytes of base64.")
        }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        guard key.usage == .encryptDecrypt else {
            return error(400, "InvalidKeyUsageException", "\(arn(key.id)) key usage is \(key.usage.rawValue) which is not valid for Encrypt.")
        }
        let algorithm = request.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT"
        let ciphertext: [UInt8]?
        switch (key.spec.algorithm, algorithm) {
        case (nil, "SYMMETRIC_DEFAULT"):
            ciphertext = encryptSymmetric(keyID: key.id, plaintext: plaintext)
        case (.rsa?, "RSAES_OAEP_SHA_1"), (.rsa?, "RSAES_OAEP_SHA_256"):
            ciphertext = try? key.privateKey?.encryptOAEP(plaintext, hash: algorithm == "RSAES_OAEP_SHA_1" ? .sha1 : .sha256)
        default:
            return error(400, "InvalidKeyUsageException", "The encryption algorithm \(algorithm) is not valid for \(key.spec.rawValue).")
        }
        guard let ciphertext else { return error(400, "ValidationException", "Plaintext is too long for this key.") }
        return ok(KMSWire.EncryptResponse(KeyId: arn(key.id), CiphertextBlob: Base64.encode(ciphertext), EncryptionAlgorithm: algorithm))
    }

    func deriveSharedSecret(_ body: [UInt8]) -> Reply {
        guard let request = KMSWire.decode(KMSWire.DeriveSharedSecretRequest.self, body) else { return serializationError() }
        guard let key = lookup(request.KeyId) else { return notFound(request.KeyId) }
        guard request.KeyAgreementAlgorithm == "ECDH" else {
            return error(400, "ValidationException", "KeyAgreementAlgorithm must be ECDH.")
        }
        guard key.usage == .keyAgreement, case .ec(let curve)? = key.spec.algorithm else {
            return error(400, "InvalidKeyUsageException", "\(arn(key.id)) key usage is \(key.usage.rawValue) which is not valid for DeriveSharedSecret.")
        }
        guard let spki = Base64.decode(request.PublicKey, options: .protoJSON), (1...8192).contains(spki.count) else {
            return error(400, "ValidationException", "PublicKey must be 1 to 8192 bytes of base64 DER SubjectPublicKeyInfo.")
        }
        let secret: SecureBytes
        if benchmarkMode {
            guard let answer = key.agreementAnswers[spki] else {
                return error(400, "ValidationException", "PublicKey is not a registered peer (benchmark mode).")
            }
            secret = answer
        } else {
            guard let peer = try? withBytes(spki, { (d) throws(CryptoError) in try PublicKey(spkiDER: d) }), peer.algorithm == .ec(curve),
                  let privateKey = key.privateKey
            else { return error(400, "ValidationException", "PublicKey is not a valid \(key.spec.rawValue) SubjectPublicKeyInfo.") }
            let shared = SecureBytes(count: curve.coordinateByteCount)
            guard (try? CryptoWorker().ecdh(privateKey, peer: peer, into: shared.slice(0..<shared.count))) != nil else {
                return error(400, "ValidationException", "PublicKey is not a valid point.")
            }
            secret = shared
        }
        return ok(KMSWire.DeriveSharedSecretResponse(KeyId: arn(key.id), SharedSecret: secret.withUnsafeBytes { Base64.encode($0) },
                                                     KeyAgreementAlgorithm: "ECDH", KeyOrigin: key.origin))
    }
}
