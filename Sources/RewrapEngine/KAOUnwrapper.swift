import RewrapCrypto
import RewrapWire

/// Step 8 of spec §5 for one KAO: unwrap the DEK with the KAS key, then verify the policy
/// binding. Runs on a worker thread; the DEK is written into caller-owned secure memory.
struct KAOUnwrapper {
    let keys: any KeySource
    let configuration: RewrapConfiguration

    enum Outcome {
        /// The DEK is in the caller's buffer and the binding verified.
        case verified
        case failed(KAOError)
        /// The key is in a remote key service: `finishRemote` completes it after the call.
        case remote(RemoteWork)
    }

    /// What a remote key service must do for one KAO.
    struct RemoteWork: Sendable {
        enum Operation: Sendable {
            case decrypt([UInt8])
            case deriveSharedSecret(curve: Curve, peerSPKI: [UInt8])
        }
        let key: any RemoteKey
        let operation: Operation

        func perform() async -> Result<SecureBytes, RemoteKeyError> {
            do {
                switch operation {
                case .decrypt(let ciphertext): return .success(try await key.decrypt(ciphertext))
                case .deriveSharedSecret(_, let spki): return .success(try await key.deriveSharedSecret(peerSPKI: spki))
                }
            } catch {
                return .failure(error)
            }
        }
    }

    /// One step's result before the binding check.
    private enum Step {
        case unwrapped
        case failed(KAOError)
        case remote(RemoteWork)
    }

    func unwrap(
        _ kao: KeyAccess, policy: DecodedPolicy, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer
    ) -> Outcome {
        guard !kao.wrappedKey.isEmpty else { return .failed(.wrappedKeyEmpty) }
        guard kao.wrappedKey.count <= configuration.limits.maxWrappedKeyBytes else { return .failed(.wrappedKeyTooLarge) }
        let step: Step
        switch kao.keyType {
        case "wrapped": step = unwrapRSA(kao, worker: worker, into: dek)
        case "ec-wrapped": step = unwrapEC(kao, worker: worker, into: dek)
        case "hybrid-wrapped", "mlkem-wrapped": step = .failed(.badRequest)  // preview-gated, not enabled
        default: step = .failed(.unsupportedKeyType)
        }
        switch step {
        case .failed(let error): return .failed(error)
        case .remote(let work): return .remote(work)
        case .unwrapped:
            let failure = verifyBinding(kao.policyBinding, message: policy.bindingMessage, dek: UnsafeRawBufferPointer(dek), worker: worker)
            return failure.map(Outcome.failed) ?? .verified
        }
    }

    /// Completes a remote KAO with the key service's answer: the DEK (RSA), or the shared secret
    /// then HKDF and AES-GCM (EC); then the binding.
    func finishRemote(
        _ work: RemoteWork, result: Result<SecureBytes, RemoteKeyError>, kao: KeyAccess, policy: DecodedPolicy,
        worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer
    ) -> Outcome {
        let secret: SecureBytes
        switch result {
        case .failure(.rejected): return .failed(.badRequest)
        case .failure(.unavailable): return .failed(.keyServiceUnavailable)
        case .success(let value): secret = value
        }
        switch work.operation {
        case .decrypt:
            guard secret.count == dek.count else { return .failed(.badRequest) }
            secret.withUnsafeBytes { dek.copyMemory(from: $0) }
        case .deriveSharedSecret(let curve, _):
            guard secret.count == curve.coordinateByteCount else { return .failed(.badRequest) }
            if let failure = secret.withUnsafeBytes({ openEC(kao, sharedSecret: $0, worker: worker, into: dek) }) {
                return .failed(failure)
            }
        }
        let failure = verifyBinding(kao.policyBinding, message: policy.bindingMessage, dek: UnsafeRawBufferPointer(dek), worker: worker)
        return failure.map(Outcome.failed) ?? .verified
    }

    // MARK: wrapped (RSA-OAEP)

    private func unwrapRSA(_ kao: KeyAccess, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer) -> Step {
        if !kao.kid.isEmpty {
            switch keys.resolve(kid: kao.kid) {
            case nil: return .failed(.badRequest)
            case .unavailable(let error)?: return .failed(error)
            case .remote(let key)?:
                guard key.algorithm.isRSA else { return .failed(.badRequest) }
                return .remote(RemoteWork(key: key, operation: .decrypt(kao.wrappedKey)))
            case .local(let key)?:
                guard key.algorithm.isRSA else { return .failed(.badRequest) }
                return decrypt(kao.wrappedKey, with: key, worker: worker, into: dek) ? .unwrapped : .failed(.badRequest)
            }
        }
        let candidates = keys.legacyKeys()
        guard !candidates.isEmpty else { return .failed(.noLegacyKeyIDs) }
        for key in candidates where decrypt(kao.wrappedKey, with: key, worker: worker, into: dek) {
            return .unwrapped
        }
        return .failed(.badRequest)
    }

    private func decrypt(_ wrapped: [UInt8], with key: KASKey, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer) -> Bool {
        let length = wrapped.withUnsafeBytes { ciphertext in
            try? worker.crypto.rsaOAEPDecrypt(ciphertext, with: key.privateKey, into: dek)
        }
        return length == dek.count
    }

    // MARK: ec-wrapped (ECDH + HKDF-SHA256 + AES-256-GCM)

    private func unwrapEC(_ kao: KeyAccess, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer) -> Step {
        guard configuration.ecWrappedEnabled else { return .failed(.ecWrappedNotEnabled) }
        let curve: Curve
        let pointCount: Int
        switch EphemeralKeyParser.parse(
            kao.ephemeralPublicKey, scratch: worker.scratch, maxBytes: configuration.limits.maxPEMBytes) {
        case .failure(let error): return .failed(error)
        case .success(let parsed): (curve, pointCount) = parsed
        }
        let point = UnsafeRawBufferPointer(rebasing: worker.scratch[0..<pointCount])
        // No legacy fallback for EC; a key on another curve cannot have made this KAO.
        let key: KASKey
        switch keys.resolve(kid: kao.kid) {
        case nil: return .failed(.badRequest)
        case .unavailable(let error)?: return .failed(error)
        case .remote(let remote)?:
            guard remote.algorithm == .ec(curve), kao.wrappedKey.count == dek.count + CryptoWorker.gcmOverhead else {
                return .failed(.badRequest)
            }
            // Key services take the peer as DER SPKI with an uncompressed point.
            guard let uncompressed = try? PublicKey(ecPoint: point, curve: curve).ecPoint() else {
                return .failed(.invalidECPublicKey)
            }
            return .remote(RemoteWork(key: remote, operation: .deriveSharedSecret(
                curve: curve, peerSPKI: curve.uncompressedSPKIPrefix + uncompressed)))
        case .local(let found)?: key = found
        }
        guard key.algorithm == .ec(curve), kao.wrappedKey.count == dek.count + CryptoWorker.gcmOverhead else {
            return .failed(.badRequest)
        }
        let shared = UnsafeMutableRawBufferPointer(rebasing: worker.sharedSecret[0..<curve.coordinateByteCount])
        defer { worker.secrets.wipe() }
        do {
            try worker.crypto.ecdh(key.privateKey, peerPoint: point, into: shared)
        } catch .invalidPoint {
            return .failed(.invalidECPublicKey)
        } catch {
            return .failed(.badRequest)
        }
        return openEC(kao, sharedSecret: UnsafeRawBufferPointer(shared), worker: worker, into: dek).map(Step.failed) ?? .unwrapped
    }

    /// DEK = AES-256-GCM-open(HKDF-SHA256(Z, salt = SHA-256("TDF")), wrappedKey).
    private func openEC(
        _ kao: KeyAccess, sharedSecret: UnsafeRawBufferPointer, worker: EngineWorker, into dek: UnsafeMutableRawBufferPointer
    ) -> KAOError? {
        let wrapKey = worker.wrapKey
        defer { secureWipe(wrapKey) }
        do {
            try withBytes(CryptoPrimitives.tdfSalt) { (salt) throws(CryptoError) in
                try worker.crypto.hkdfSHA256(inputKeyMaterial: sharedSecret, salt: salt, into: wrapKey)
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
        return CryptoPrimitives.constantTimeEquals(expected, UnsafeRawBufferPointer(mac)) ? nil : .badRequest
    }
}
