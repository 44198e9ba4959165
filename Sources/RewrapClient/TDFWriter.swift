import Foundation
import RewrapCrypto
import RewrapWire

/// The writer's side of OpenTDF, byte for byte as the Go SDK does it (spec §1.2, §2.1, §2.2,
/// §3.4): policy JSON, policy binding, DEK wrapping for RSA and EC KAS keys, and the request
/// body. Used by tests and the benchmark to prove round trips. Not thread-safe (one instance
/// per thread).
public final class TDFWriter {
    private let worker = CryptoWorker()

    public init() {}

    /// A KAS public key as a writer learns it from the KAS `PublicKey` RPC or the registry.
    public struct KASPublicKey: Sendable {
        public var kid: String
        public var key: PublicKey
        public var url: String

        public init(kid: String, key: PublicKey, url: String = "http://localhost:8080") {
            self.kid = kid
            self.key = key
            self.url = url
        }
    }

    /// Deterministic inputs for known-answer tests; production callers leave them nil.
    public struct FixedRandomness {
        public var ephemeralKey: PrivateKey?
        public var nonce: [UInt8]?
        public init(ephemeralKey: PrivateKey? = nil, nonce: [UInt8]? = nil) {
            self.ephemeralKey = ephemeralKey
            self.nonce = nonce
        }
    }

    // MARK: Policy

    /// `{"uuid":…,"body":{"dataAttributes":[…]|null,"dissem":[]|null}}` with Go's field order.
    /// Strings are escaped as Foundation's `JSONEncoder` escapes them (`/` as `\/`): the output
    /// this writer had before it used `JSONWriter`, kept byte for byte. (Go's `json.Marshal`
    /// leaves `/` alone and escapes `<` `>` `&` instead.)
    public static func policyJSON(uuid: String, attributes: [String]) -> String {
        var json = JSONWriter(capacity: 96 + attributes.reduce(0) { $0 + $1.utf8.count + 80 }, escaping: .foundation)
        json.raw("{")
        json.key("uuid")
        json.string(uuid)
        json.raw(",")
        json.key("body")
        json.raw("{")
        json.key("dataAttributes")
        if attributes.isEmpty {
            json.raw("null,")
            json.key("dissem")
            json.raw("null")
        } else {
            json.raw("[")
            for (index, attribute) in attributes.enumerated() {
                if index > 0 { json.raw(",") }
                json.raw("{")
                json.key("attribute")
                json.string(attribute)
                json.raw(#","displayName":"","isDefault":false,"pubKey":"","kasURL":""}"#)
            }
            json.raw("],")
            json.key("dissem")
            json.raw("[]")
        }
        json.raw("}}")
        return String(decoding: json.bytes, as: UTF8.self)
    }

    /// The manifest's `encryptionInformation.policy`: standard padded base64 of the JSON.
    public static func policyBase64(uuid: String = UUID().uuidString.lowercased(), attributes: [String] = []) -> String {
        Base64.encode(Array(policyJSON(uuid: uuid, attributes: attributes).utf8))
    }

    // MARK: Binding

    /// `base64(lowercase_hex(HMAC-SHA256(key: DEK, message: policy base64 text)))`.
    public func policyBinding(dek: SecureBytes, policyBase64: String) throws(CryptoError) -> PolicyBinding {
        let mac = SecureBytes(count: 32)
        try dek.withUnsafeBytes { (key) throws(CryptoError) in
            try withBytes(Array(policyBase64.utf8)) { (message) throws(CryptoError) in
                try worker.hmacSHA256(key: key, message: message, into: mac.slice(0..<32))
            }
        }
        return PolicyBinding(algorithm: "HS256", hash: Base64.encode(mac.withUnsafeBytes { Hex.lowercase($0) }))
    }

    // MARK: Wrapping

    /// A fresh 32-byte DEK.
    public static func makeDEK() throws(CryptoError) -> SecureBytes {
        let dek = SecureBytes(count: 32)
        try CryptoPrimitives.randomBytes(dek.slice(0..<32))
        return dek
    }

    /// Builds the KAO for `dek` wrapped to `kas`: `wrapped` (RSA-OAEP-SHA1) or `ec-wrapped`
    /// (ephemeral ECDH, HKDF-SHA256 with salt SHA-256("TDF"), AES-256-GCM nonce‖ct‖tag).
    public func keyAccess(
        dek: SecureBytes, policyBase64: String, kas: KASPublicKey, includeKid: Bool = true, splitID: String = "",
        fixed: FixedRandomness = FixedRandomness()
    ) throws(CryptoError) -> KeyAccess {
        let binding = try policyBinding(dek: dek, policyBase64: policyBase64)
        switch kas.key.algorithm {
        case .rsa:
            let wrapped = try dek.withUnsafeBytes { (plaintext) throws(CryptoError) in
                try worker.rsaOAEPEncrypt(plaintext, to: kas.key)
            }
            return KeyAccess(keyType: "wrapped", kasURL: kas.url, kid: includeKid ? kas.kid : "", splitID: splitID,
                             wrappedKey: wrapped, policyBinding: binding)
        case .ec(let curve):
            let ephemeral: PrivateKey
            if let fixedKey = fixed.ephemeralKey { ephemeral = fixedKey } else { ephemeral = try PrivateKey.generate(.ec(curve)) }
            guard ephemeral.algorithm == .ec(curve) else { throw .invalidKey("ephemeral key on the wrong curve") }
            let wrapKey = try ecWrapKey(ephemeral, kas.key)
            let nonce: [UInt8]
            if let fixedNonce = fixed.nonce { nonce = fixedNonce } else { nonce = try CryptoPrimitives.randomBytes(count: CryptoWorker.gcmNonceByteCount) }
            var wrapped = [UInt8](repeating: 0, count: dek.count + CryptoWorker.gcmOverhead)
            try wrapKey.withUnsafeBytes { (key) throws(CryptoError) in
                try dek.withUnsafeBytes { (plaintext) throws(CryptoError) in
                    try withBytes(nonce) { (nonceBytes) throws(CryptoError) in
                        let result: Result<Void, CryptoError> = wrapped.withUnsafeMutableBytes { output in
                            Result { () throws(CryptoError) in
                                try worker.aesGCMSeal(key: key, nonce: nonceBytes, plaintext: plaintext, into: output)
                            }
                        }
                        try result.get()
                    }
                }
            }
            return KeyAccess(keyType: "ec-wrapped", kasURL: kas.url, kid: includeKid ? kas.kid : "", splitID: splitID,
                             wrappedKey: wrapped, policyBinding: binding,
                             ephemeralPublicKey: try ephemeral.publicKey.pem())
        }
    }

    /// HKDF-SHA256(ECDH(private, peer), salt = SHA-256("TDF"), info = ∅, 32).
    func ecWrapKey(_ privateKey: PrivateKey, _ peer: PublicKey) throws(CryptoError) -> SecureBytes {
        guard case .ec(let curve) = privateKey.algorithm else { throw .invalidKey("not an EC key") }
        let shared = SecureBytes(count: curve.coordinateByteCount)
        try worker.ecdh(privateKey, peer: peer, into: shared.slice(0..<shared.count))
        let key = SecureBytes(count: 32)
        try shared.withUnsafeBytes { (ikm) throws(CryptoError) in
            try withBytes(CryptoPrimitives.tdfSalt) { (salt) throws(CryptoError) in
                try worker.hkdfSHA256(inputKeyMaterial: ikm, salt: salt, into: key.slice(0..<32))
            }
        }
        return key
    }

    // MARK: Client session: unwrapping the response

    /// Opens a `kasWrappedKey` with the client's session private key (spec §4.3): RSA-OAEP, or
    /// ECDH with `sessionPublicKey` + HKDF + AES-GCM.
    public func unwrapResult(
        _ kasWrappedKey: [UInt8], sessionPublicKeyPEM: String, clientPrivateKey: PrivateKey
    ) throws(CryptoError) -> SecureBytes {
        try opener(sessionPublicKeyPEM: sessionPublicKeyPEM, clientPrivateKey: clientPrivateKey).open(kasWrappedKey)
    }

    /// Opens the `kasWrappedKey`s of one response. For an EC client the session key is parsed and
    /// the wrapping key derived once, for all its KAOs (they share the response's session key):
    /// per KAO, a PEM parse and an ECDH were most of what a load generator spent checking a
    /// batch-64 answer.
    public func opener(sessionPublicKeyPEM: String, clientPrivateKey: PrivateKey) throws(CryptoError) -> ResponseOpener {
        switch clientPrivateKey.algorithm {
        case .rsa:
            return ResponseOpener(worker: worker, clientPrivateKey: clientPrivateKey, wrapKey: nil)
        case .ec:
            let session = try PublicKey(pem: sessionPublicKeyPEM, allowCertificate: false)
            return ResponseOpener(worker: worker, clientPrivateKey: clientPrivateKey, wrapKey: try ecWrapKey(clientPrivateKey, session))
        }
    }

    /// See `opener(sessionPublicKeyPEM:clientPrivateKey:)`.
    public struct ResponseOpener {
        let worker: CryptoWorker
        let clientPrivateKey: PrivateKey
        /// EC: HKDF(ECDH(client, session)); nil for an RSA client.
        let wrapKey: SecureBytes?

        public func open(_ kasWrappedKey: [UInt8]) throws(CryptoError) -> SecureBytes {
            guard let wrapKey else {
                let out = SecureBytes(count: 512)
                let length = try withBytes(kasWrappedKey) { (ciphertext) throws(CryptoError) in
                    try worker.rsaOAEPDecrypt(ciphertext, with: clientPrivateKey, into: out.slice(0..<512))
                }
                return out.withUnsafeBytes { SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            }
            let dek = SecureBytes(count: Swift.max(0, kasWrappedKey.count - CryptoWorker.gcmOverhead))
            try wrapKey.withUnsafeBytes { (key) throws(CryptoError) in
                try withBytes(kasWrappedKey) { (sealed) throws(CryptoError) in
                    try worker.aesGCMOpen(key: key, sealed: sealed, into: dek.slice(0..<dek.count))
                }
            }
            return dek
        }
    }

    /// The DEK of (policy, KAO) in `response`, or the KAO's error string.
    public func unwrap(
        _ response: RewrapResponse, policyID: String, keyAccessObjectID: String, clientPrivateKey: PrivateKey
    ) throws(RewrapClientError) -> SecureBytes {
        guard let result = response.result(policyID: policyID, keyAccessObjectID: keyAccessObjectID) else {
            throw .missingResult(policyID: policyID, keyAccessObjectID: keyAccessObjectID)
        }
        switch result.outcome {
        case .fail(let error):
            throw .failed(error)
        case .permit(let wrapped):
            do {
                return try unwrapResult(wrapped, sessionPublicKeyPEM: response.sessionPublicKey,
                                        clientPrivateKey: clientPrivateKey)
            } catch {
                throw .cannotOpen(error)
            }
        }
    }
}

public enum RewrapClientError: Error, Equatable, CustomStringConvertible {
    case missingResult(policyID: String, keyAccessObjectID: String)
    case failed(String)
    case cannotOpen(CryptoError)

    public var description: String {
        switch self {
        case .missingResult(let policy, let kao): return "no result for policy \(policy), KAO \(kao)"
        case .failed(let error): return "KAS refused the KAO: \(error)"
        case .cannotOpen(let error): return "cannot open the rewrapped key: \(error)"
        }
    }
}

/// Builds request bodies the way the Go SDK does (spec §3.4).
public enum RewrapRequestBuilder {
    /// One `WithPolicyRequest` per policy; KAO ids `kao-<i>`; for a single policy with a single
    /// KAO the deprecated top-level `keyAccess`/`policy` are filled too, as the SDK does.
    public static func request(
        clientPublicKeyPEM: String, policies: [(id: String, body: String, kaos: [KeyAccess])]
    ) -> UnsignedRewrapRequest {
        let requests = policies.map { policy in
            UnsignedRewrapRequest.WithPolicyRequest(
                keyAccessObjects: policy.kaos.enumerated().map { index, kao in
                    .init(keyAccessObjectId: "kao-\(index)", keyAccessObject: kao)
                },
                policy: .init(id: policy.id, body: policy.body))
        }
        var request = UnsignedRewrapRequest(clientPublicKey: clientPublicKeyPEM, requests: requests)
        if policies.count == 1, policies[0].kaos.count == 1 {
            request.keyAccess = policies[0].kaos[0]
            request.policy = policies[0].body
        }
        return request
    }

    /// The JSON body (what goes into the SRT's `requestBody` claim).
    public static func json(_ request: UnsignedRewrapRequest) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Array(try! encoder.encode(request))
    }
}
