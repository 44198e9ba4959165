import RewrapAWSWire

/// A token bucket: `rate` tokens a second, holding at most a second's worth (AWS KMS quotas
/// are enforced this way); an infinite rate never refuses.
struct QuotaBucket {
    var tokens: Double
    var rate: Double
    var last: Double
    mutating func take(now: Double) -> Bool {
        guard rate.isFinite else { return true }
        tokens = Swift.min(rate, tokens + (now - last) * rate)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

extension SimulatedKMS {
    /// The quota an operation draws from, as AWS groups them: per key class for cryptographic
    /// operations, shared buckets for the rest.
    func quotaClass(_ op: KMSWire.Operation, body: [UInt8]) -> String {
        switch op {
        case .getPublicKey: return "getPublicKey"
        case .describeKey, .listKeys, .createKey: return "describeKey"
        case .deriveSharedSecret: return "ecc"
        case .decrypt, .encrypt:
            let keyID = KMSWire.decode(KMSWire.KeyIDRequest.self, body)?.KeyId ?? ""
            switch lookup(keyID)?.spec.algorithm {
            case .rsa?: return "rsa"
            case .ec?: return "ecc"
            case nil: return "symmetric"
            }
        }
    }
}
