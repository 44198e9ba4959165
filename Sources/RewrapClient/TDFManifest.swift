import RewrapCrypto
import RewrapWire

/// The manifest fields a KAS and the benchmark need.
///
/// Read from `0.manifest.json` as the Go SDK writes it (`sdk/manifest.go`): KAOs through
/// RewrapWire's `KeyAccess` decoder, integrity values base64-decoded.
public struct TDFManifest: Sendable {
    /// `encryptionInformation.keyAccess`, in file order.
    public var keyAccess: [KeyAccess]
    /// `encryptionInformation.policy`: the base64 policy text the bindings are computed over.
    public var policyBase64: String
    /// `integrityInformation.rootSignature`: `alg` ("HS256" or "GMAC") and the base64-decoded `sig`
    /// (32 raw HMAC bytes, or 64 ASCII hex digits in files older than spec 4.3.0).
    public var rootSignature: (algorithm: String, signature: [UInt8])
    /// `integrityInformation.segmentHashAlg` ("GMAC" as the Go SDK writes it).
    public var segmentHashAlgorithm: String
    /// `integrityInformation.segments[].hash`, decoded to raw bytes (legacy hex forms are
    /// hex-decoded).
    public var segmentHashes: [[UInt8]]

    /// `schemaVersion` ("" in legacy files).
    var specVersion: String
    /// The segment hashes exactly as stored (base64-decoded only): the root signature covers
    /// these bytes, hex text included in legacy files, as the Go SDK computes it.
    var storedSegmentHashes: [[UInt8]]
    var segmentSizes: [SegmentSize]
    var segmentSizeDefault: Int64
    var encryptedSegmentSizeDefault: Int64

    /// A segment's declared sizes; 0 means "omitted, use the default" (as the Go SDK reads them).
    struct SegmentSize: Sendable {
        var plain: Int64
        var encrypted: Int64
    }

    /// True when the DEK reproduces the root signature: HMAC-SHA256(DEK, concatenated segment
    /// hashes) equals the signature raw (spec ≥ 4.3.0) or as lowercase hex (legacy), compared in
    /// constant time. A `GMAC` root signature does not depend on the DEK, so it never counts as
    /// reproduced (false).
    public func rootSignatureMatches(dek: SecureBytes) -> Bool {
        guard !Self.isGMAC(rootSignature.algorithm) else { return false }
        return hmacRootSignatureMatches(dek: dek)
    }

    /// The Go reader's check (`validateRootSignature`): HMAC for `HS256` (or any other name),
    /// for `GMAC` the last 16 bytes of the aggregate, which only the segment tags authenticate.
    func rootSignatureValidates(dek: SecureBytes) -> Bool {
        guard Self.isGMAC(rootSignature.algorithm) else { return hmacRootSignatureMatches(dek: dek) }
        let aggregate = storedSegmentHashes.flatMap { $0 }
        guard aggregate.count >= 16 else { return false }
        let tail = Array(aggregate[(aggregate.count - 16)...])
        return rootSignature.signature == tail || rootSignature.signature == tail.withUnsafeBytes { Hex.lowercase($0) }
    }

    private func hmacRootSignatureMatches(dek: SecureBytes) -> Bool {
        let aggregate = storedSegmentHashes.flatMap { $0 }
        let mac = SecureBytes(count: 32)
        do {
            try dek.withUnsafeBytes { (key) throws(CryptoError) in
                try withBytes(aggregate) { (message) throws(CryptoError) in
                    try CryptoWorker().hmacSHA256(key: key, message: message, into: mac.slice(0..<32))
                }
            }
        } catch {
            return false
        }
        let signature = rootSignature.signature
        return mac.withUnsafeBytes { macBytes in
            signature.withUnsafeBytes { signatureBytes in
                var hex = Hex.lowercase(macBytes)
                defer { secureWipe(&hex) }
                let raw = CryptoPrimitives.constantTimeEquals(macBytes, signatureBytes)
                let legacy = hex.withUnsafeBytes { CryptoPrimitives.constantTimeEquals($0, signatureBytes) }
                return raw || legacy
            }
        }
    }

    static func isGMAC(_ algorithm: String) -> Bool { algorithm.lowercased() == "gmac" }
}
