import RewrapCrypto
import RewrapWire

/// Step 8 of spec §5 for one KAO: unwrap the DEK with the KAS key, then verify the policy
/// binding. Runs on a worker thread; the DEK is written into caller-owned secure memory.
struct KAOUnwrapper {
    let keys: any KeySource
    let configuration: RewrapConfiguration

    /// nil on success (the DEK is in `dek`), else the per-KAO error.
    func unwrap(
        _ kao: KeyAccess, policy: DecodedPolicy, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer
    ) -> KAOError? {
        guard !kao.wrappedKey.isEmpty else { return .wrappedKeyEmpty }
        guard kao.wrappedKey.count <= configuration.limits.maxWrappedKeyBytes else { return .wrappedKeyTooLarge }
        let failure: KAOError?
        switch kao.keyType {
        case "wrapped": failure = unwrapRSA(kao, worker: worker, into: dek)
        case "ec-wrapped": failure = unwrapEC(kao, worker: worker, into: dek)
        case "hybrid-wrapped", "mlkem-wrapped": failure = .badRequest  // preview-gated, not enabled
        default: failure = .unsupportedKeyType
        }
        if let failure { return failure }
        return verifyBinding(kao.policyBinding, message: policy.bindingMessage, dek: UnsafeRawBufferPointer(dek), worker: worker)
    }

    // MARK: wrapped (RSA-OAEP)

    private func unwrapRSA(_ kao: KeyAccess, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer) -> KAOError? {
        if !kao.kid.isEmpty {
            switch keys.resolve(kid: kao.kid) {
            case nil: return .badRequest
            case .unavailable(let error)?: return error
            case .local(let key)?:
                guard key.algorithm.isRSA else { return .badRequest }
                return decrypt(kao.wrappedKey, with: key, worker: worker, into: dek) ? nil : .badRequest
            }
        }
        let candidates = keys.legacyKeys()
        guard !candidates.isEmpty else { return .noLegacyKeyIDs }
        for key in candidates where decrypt(kao.wrappedKey, with: key, worker: worker, into: dek) {
            return nil
        }
        return .badRequest
    }

    private func decrypt(_ wrapped: [UInt8], with key: KASKey, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer) -> Bool {
        let length = wrapped.withUnsafeBytes { ciphertext in
            try? worker.crypto.rsaOAEPDecrypt(ciphertext, with: key.privateKey, into: dek)
        }
        return length == dek.count
    }

    // MARK: ec-wrapped (ECDH + HKDF-SHA256 + AES-256-GCM)

    private func unwrapEC(_ kao: KeyAccess, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer) -> KAOError? {
        guard configuration.ecWrappedEnabled else { return .ecWrappedNotEnabled }
        let curve: Curve
        let pointCount: Int
        switch EphemeralKeyParser.parse(
            kao.ephemeralPublicKey, scratch: worker.scratch, maxBytes: configuration.limits.maxPEMBytes) {
        case .failure(let error): return error
        case .success(let parsed): (curve, pointCount) = parsed
        }
        // No legacy fallback for EC; a key on another curve cannot have made this KAO.
        let key: KASKey
        switch keys.resolve(kid: kao.kid) {
        case nil: return .badRequest
        case .unavailable(let error)?: return error
        case .local(let found)?: key = found
        }
        guard key.algorithm == .ec(curve), kao.wrappedKey.count == dek.count + CryptoWorker.gcmOverhead else {
            return .badRequest
        }
        let shared = UnsafeMutableRawBufferPointer(rebasing: worker.sharedSecret[0..<curve.coordinateByteCount])
        let wrapKey = worker.wrapKey
        defer { worker.secrets.wipe() }
        do {
            try worker.crypto.ecdh(
                key.privateKey, peerPoint: UnsafeRawBufferPointer(rebasing: worker.scratch[0..<pointCount]), into: shared)
        } catch .invalidPoint {
            return .invalidECPublicKey
        } catch {
            return .badRequest
        }
        do {
            try withBytes(Crypto.tdfSalt) { (salt) throws(CryptoError) in
                try worker.crypto.hkdfSHA256(inputKeyMaterial: UnsafeRawBufferPointer(shared), salt: salt, into: wrapKey)
            }
            try withBytes(kao.wrappedKey) { (sealed) throws(CryptoError) in
                try worker.crypto.aesGCMOpen(key: UnsafeRawBufferPointer(wrapKey), sealed: sealed, into: dek)
            }
        } catch {
            return .badRequest
        }
        return nil
    }

    // MARK: Policy binding (spec §1.2)

    /// `hash` is base64 (strict standard) of either lowercase-hex HMAC (what every writer emits)
    /// or the raw 32-byte HMAC (what the spec text says); compared in constant time.
    private func verifyBinding(
        _ binding: PolicyBinding?, message: [UInt8], dek: UnsafeRawBufferPointer, worker: EngineWorker
    ) -> KAOError? {
        guard let binding else { return .missingPolicyBinding }
        let mac = worker.bindingMAC
        defer { secureWipe(mac) }
        var hash = binding.hash
        let expectedCount: Int? = hash.withUTF8 { utf8 in
            guard utf8.count <= 128 else { return nil }
            guard let decoded = Base64.decode(UnsafeRawBufferPointer(utf8), into: worker.scratch, options: .strictStandard)
            else { return nil }
            if decoded == 64, Hex.decodeInPlace(worker.scratch, count: 64) { return 32 }
            return decoded
        }
        guard let expectedCount else { return .badRequest }
        do {
            try withBytes(message) { (text) throws(CryptoError) in
                try worker.crypto.hmacSHA256(key: dek, message: text, into: mac)
            }
        } catch {
            return .badRequest
        }
        let expected = UnsafeRawBufferPointer(rebasing: worker.scratch[0..<expectedCount])
        return Crypto.constantTimeEquals(expected, UnsafeRawBufferPointer(mac)) ? nil : .badRequest
    }
}
