import Foundation
import RewrapAWSWire
import RewrapCrypto
import RewrapWire
import Synchronization

extension SimulatedKMS {
    // MARK: Symmetric keys (the blob format is the simulator's own, as KMS's is opaque)

    /// `version(1) ‖ key id (36) ‖ nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)`.
    public func encryptSymmetric(keyID: String, plaintext: [UInt8]) -> [UInt8]? {
        guard let key = lookup(keyID), let material = key.symmetricKey else { return nil }
        let header = [UInt8(1)] + Array(key.id.utf8)
        var sealed = [UInt8](repeating: 0, count: plaintext.count + CryptoWorker.gcmOverhead)
        guard let nonce = try? CryptoPrimitives.randomBytes(count: 12) else { return nil }
        let worker = CryptoWorker()
        let ok = material.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in
                plaintext.withUnsafeBytes { p in
                    sealed.withUnsafeMutableBytes { o in (try? worker.aesGCMSeal(key: k, nonce: n, plaintext: p, into: o)) != nil }
                }
            }
        }
        return ok ? header + sealed : nil
    }

    func openSymmetric(_ blob: [UInt8], key: Key) -> SecureBytes? {
        let headerCount = 1 + key.id.utf8.count
        guard let material = key.symmetricKey, blob.count > headerCount + CryptoWorker.gcmOverhead, blob[0] == 1,
              Array(blob[1..<headerCount]) == Array(key.id.utf8)
        else { return nil }
        let sealed = Array(blob[headerCount...])
        let out = SecureBytes(count: sealed.count - CryptoWorker.gcmOverhead)
        let worker = CryptoWorker()
        let ok = material.withUnsafeBytes { k in
            sealed.withUnsafeBytes { s in (try? worker.aesGCMOpen(key: k, sealed: s, into: out.slice(0..<out.count))) != nil }
        }
        return ok ? out : nil
    }
}
