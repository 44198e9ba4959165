import Foundation
import RewrapAsync
import RewrapAWSWire
import RewrapCrypto
import RewrapWire
import Synchronization

/// Request routing: admission (signature, outage, quota, faults, the HSM), then the operation,
/// then the injected service time. Admin targets skip the models.
extension SimulatedKMS {
    // MARK: Requests

    /// Handles one request as received: `target` is the `X-Amz-Target` header.
    public func handle(method: String, path: String, headers: [(String, String)], body: [UInt8], newConnection: Bool) async -> Reply {
        let target = headers.first { $0.0.lowercased() == "x-amz-target" }?.1 ?? ""
        let operation = target.hasPrefix(KMSWire.targetPrefix) ? String(target.dropFirst(KMSWire.targetPrefix.count)) : target
        state.withLock { $0.counters.requests[operation, default: 0] += 1 }
        guard method == "POST", path == "/" else {
            return error(404, "UnknownOperationException", "Only POST / is served.")
        }
        if let verifier {
            do {
                try verifier.verify(SigV4.Request(method: method, path: path, headers: headers, body: body), now: Date())
            } catch {
                let status = error == .invalidClientTokenID ? 403 : 400
                return self.error(status, error.awsErrorCode, "The request signature we calculated does not match the signature you provided.")
            }
        }
        if target.hasPrefix(SimulatorAdmin.targetPrefix) {
            return admin(String(target.dropFirst(SimulatorAdmin.targetPrefix.count)), body: body)
        }
        guard let op = KMSWire.Operation(rawValue: operation), target.hasPrefix(KMSWire.targetPrefix) else {
            return error(400, "UnknownOperationException", "Unknown operation \(target).")
        }
        // Admission: the outage window, then the quota, then transient faults.
        if let outage = profile.faults.outageStartSeconds {
            let elapsed = Date().timeIntervalSince(started)
            if elapsed >= outage && elapsed < outage + profile.faults.outageDurationSeconds {
                count(fault: "outage")
                return error(503, "ServiceUnavailable", "Service is unavailable.")
            }
        }
        let bucketName = quotaClass(op, body: body)
        let admitted = state.withLock { state -> Bool in
            let now = Date().timeIntervalSince(started)
            guard var bucket = state.buckets[bucketName] else { return true }
            let ok = bucket.take(now: now)
            state.buckets[bucketName] = bucket
            if !ok { state.counters.throttled += 1 }
            return ok
        }
        guard admitted else {
            return error(400, "ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.")
        }
        if let fault = drawFault() {
            count(fault: fault)
            switch fault {
            case "reset": return Reply(status: 0, headers: [], body: [], disposition: .resetConnection)
            case "hang": return Reply(status: 0, headers: [], body: [], disposition: .hang)
            case "ServiceUnavailable": return error(503, fault, "Service is unavailable.")
            default: return error(500, fault, "Internal failure.")
            }
        }
        // The HSM (when modelled): wait for a unit, hold it for the op's service time.
        if let hsm, let settings = profile.hsm, let hold = hsmMilliseconds(op, body: body, settings: settings) {
            do {
                try await hsm.acquire()
            } catch let refusal {
                switch refusal {
                case .queueFull:
                    state.withLock { $0.counters.throttled += 1 }
                    return error(400, "ThrottlingException", "HSM busy: too many requests are waiting. Reduce the frequency of your calls.")
                case .cancelled:
                    // The connection went away while the request waited: nobody reads an
                    // answer, and the unit goes to the next waiter.
                    return Reply(status: 0, headers: [], body: [], disposition: .resetConnection)
                }
            }
            await wait(hold)
            hsm.release()
        }
        let reply = execute(op, body: body)
        await wait(serviceMilliseconds(op, body: body) + (newConnection ? profile.newConnectionMilliseconds : 0))
        return reply
    }

    func execute(_ op: KMSWire.Operation, body: [UInt8]) -> Reply {
        switch op {
        case .createKey: return createKey(body)
        case .describeKey: return describeKey(body)
        case .listKeys: return listKeys(body)
        case .getPublicKey: return getPublicKey(body)
        case .decrypt: return decrypt(body)
        case .encrypt: return encrypt(body)
        case .deriveSharedSecret: return deriveSharedSecret(body)
        }
    }

    // MARK: Admin operations (no quota, latency or faults)

    func admin(_ name: String, body: [UInt8]) -> Reply {
        switch SimulatorAdmin.Operation(rawValue: name) {
        case .importKey?:
            guard let request = KMSWire.decode(SimulatorAdmin.ImportKeyRequest.self, body) else { return serializationError() }
            guard let key = try? PrivateKey(pem: request.PrivateKeyPEM) else {
                return error(400, "ValidationException", "PrivateKeyPEM is not a PKCS#8 (or PKCS#1 RSA) private key.")
            }
            let id = importKey(key, keyID: request.KeyId ?? UUID().uuidString.lowercased())
            return ok(KMSWire.KeyIDRequest(KeyId: id))
        case .registerDecrypt?:
            guard let request = KMSWire.decode(SimulatorAdmin.RegisterDecryptRequest.self, body),
                  let ciphertext = Base64.decode(request.CiphertextBlob, options: .protoJSON),
                  let plaintext = Base64.decode(request.Plaintext, options: .protoJSON)
            else { return serializationError() }
            guard lookup(request.KeyId) != nil else { return notFound(request.KeyId) }
            registerDecrypt(keyID: request.KeyId, ciphertext: ciphertext, plaintext: SecureBytes(copying: plaintext))
            return ok(KMSWire.KeyIDRequest(KeyId: request.KeyId))
        case .registerSharedSecret?:
            guard let request = KMSWire.decode(SimulatorAdmin.RegisterSharedSecretRequest.self, body),
                  let spki = Base64.decode(request.PublicKey, options: .protoJSON),
                  let secret = Base64.decode(request.SharedSecret, options: .protoJSON)
            else { return serializationError() }
            guard lookup(request.KeyId) != nil else { return notFound(request.KeyId) }
            registerSharedSecret(keyID: request.KeyId, peerSPKI: spki, secret: SecureBytes(copying: secret))
            return ok(KMSWire.KeyIDRequest(KeyId: request.KeyId))
        case nil:
            return error(400, "UnknownOperationException", "Unknown admin operation \(name).")
        }
    }
}
