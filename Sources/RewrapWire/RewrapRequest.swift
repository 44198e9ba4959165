/// The rewrap request body, `kas.UnsignedRewrapRequest` (spec §3.4). Decoding follows proto3
/// JSON as protojson does with `DiscardUnknown`: JSON names or proto names, unknown fields
/// ignored, `bytes` in either base64 alphabet, padded or not.
public struct UnsignedRewrapRequest: Sendable, Equatable {
    /// PEM SPKI of the key to rewrap DEKs to (RSA or EC).
    public var clientPublicKey: String
    public var requests: [WithPolicyRequest]
    /// Deprecated top-level fields (filled by the Go SDK for single-KAO requests): parsed so a
    /// malformed one fails like protojson would, otherwise ignored.
    public var keyAccess: KeyAccess?
    public var policy: String
    public var algorithm: String

    public init(
        clientPublicKey: String, requests: [WithPolicyRequest],
        keyAccess: KeyAccess? = nil, policy: String = "", algorithm: String = ""
    ) {
        self.clientPublicKey = clientPublicKey
        self.requests = requests
        self.keyAccess = keyAccess
        self.policy = policy
        self.algorithm = algorithm
    }

    /// One policy and the KAOs that carry it.
    public struct WithPolicyRequest: Sendable, Equatable {
        public var keyAccessObjects: [WithKeyAccessObject]
        public var policy: WithPolicy?
        /// Audit only; "" means `rsa:2048`.
        public var algorithm: String

        public init(keyAccessObjects: [WithKeyAccessObject], policy: WithPolicy?, algorithm: String = "") {
            self.keyAccessObjects = keyAccessObjects
            self.policy = policy
            self.algorithm = algorithm
        }
    }

    public struct WithPolicy: Sendable, Equatable {
        public var id: String
        /// The manifest's `encryptionInformation.policy`: base64 of the policy JSON. The binding
        /// HMAC is over these exact characters.
        public var body: String

        public init(id: String, body: String) {
            self.id = id
            self.body = body
        }
    }

    public struct WithKeyAccessObject: Sendable, Equatable {
        /// Echoed verbatim in the result (`kao-<index>` from the Go SDK).
        public var keyAccessObjectId: String
        public var keyAccessObject: KeyAccess?

        public init(keyAccessObjectId: String, keyAccessObject: KeyAccess?) {
            self.keyAccessObjectId = keyAccessObjectId
            self.keyAccessObject = keyAccessObject
        }
    }
}

/// A Key Access Object as sent in a rewrap request (proto `kas.KeyAccess`, spec §1.4).
public struct KeyAccess: Sendable, Equatable {
    /// `wrapped`, `ec-wrapped`, `hybrid-wrapped`, `mlkem-wrapped`. JSON name `type`.
    public var keyType: String
    /// JSON name `url`; not checked by the KAS.
    public var kasURL: String
    public var `protocol`: String
    /// Empty means "kid-free": legacy RSA keys are tried.
    public var kid: String
    /// JSON name `sid`.
    public var splitID: String
    /// Raw wrapped DEK (base64 on the wire).
    public var wrappedKey: [UInt8]
    public var policyBinding: PolicyBinding?
    /// `ec-wrapped` only: PEM SPKI of the writer's ephemeral key.
    public var ephemeralPublicKey: String
    public var encryptedMetadata: String
    public var header: [UInt8]

    public init(
        keyType: String, kasURL: String = "", protocol: String = "kas", kid: String = "", splitID: String = "",
        wrappedKey: [UInt8], policyBinding: PolicyBinding?, ephemeralPublicKey: String = "",
        encryptedMetadata: String = "", header: [UInt8] = []
    ) {
        self.keyType = keyType
        self.kasURL = kasURL
        self.protocol = `protocol`
        self.kid = kid
        self.splitID = splitID
        self.wrappedKey = wrappedKey
        self.policyBinding = policyBinding
        self.ephemeralPublicKey = ephemeralPublicKey
        self.encryptedMetadata = encryptedMetadata
        self.header = header
    }
}

/// `{"alg": "HS256", "hash": base64(hex(HMAC-SHA256(DEK, policy)))}` (spec §1.2). `alg` is
/// never checked.
public struct PolicyBinding: Sendable, Equatable {
    public var algorithm: String
    public var hash: String

    public init(algorithm: String = "HS256", hash: String) {
        self.algorithm = algorithm
        self.hash = hash
    }
}

// MARK: - Decoding (proto3 JSON)

extension UnsignedRewrapRequest: ProtoJSONMessage {
    package init(protoJSON c: ProtoJSONObject) throws(ProtoJSONError) {
        clientPublicKey = try c.string("clientPublicKey", "client_public_key")
        requests = try c.messages(WithPolicyRequest.self, "requests")
        keyAccess = try c.message(KeyAccess.self, "keyAccess", "key_access")
        policy = try c.string("policy")
        algorithm = try c.string("algorithm")
    }
}

extension UnsignedRewrapRequest.WithPolicyRequest: ProtoJSONMessage {
    package init(protoJSON c: ProtoJSONObject) throws(ProtoJSONError) {
        keyAccessObjects = try c.messages(UnsignedRewrapRequest.WithKeyAccessObject.self, "keyAccessObjects", "key_access_objects")
        policy = try c.message(UnsignedRewrapRequest.WithPolicy.self, "policy")
        algorithm = try c.string("algorithm")
    }
}

extension UnsignedRewrapRequest.WithPolicy: ProtoJSONMessage {
    package init(protoJSON c: ProtoJSONObject) throws(ProtoJSONError) {
        id = try c.string("id")
        body = try c.string("body")
    }
}

extension UnsignedRewrapRequest.WithKeyAccessObject: ProtoJSONMessage {
    package init(protoJSON c: ProtoJSONObject) throws(ProtoJSONError) {
        keyAccessObjectId = try c.string("keyAccessObjectId", "key_access_object_id")
        keyAccessObject = try c.message(KeyAccess.self, "keyAccessObject", "key_access_object")
    }
}

extension KeyAccess: ProtoJSONMessage {
    package init(protoJSON c: ProtoJSONObject) throws(ProtoJSONError) {
        keyType = try c.string("type", "key_type")
        kasURL = try c.string("url", "kas_url")
        `protocol` = try c.string("protocol")
        kid = try c.string("kid")
        splitID = try c.string("sid", "split_id")
        wrappedKey = try c.bytes("wrappedKey", "wrapped_key")
        policyBinding = try c.message(PolicyBinding.self, "policyBinding", "policy_binding")
        ephemeralPublicKey = try c.string("ephemeralPublicKey", "ephemeral_public_key")
        encryptedMetadata = try c.string("encryptedMetadata", "encrypted_metadata")
        header = try c.bytes("header")
    }
}

extension PolicyBinding: ProtoJSONMessage {
    package init(protoJSON c: ProtoJSONObject) throws(ProtoJSONError) {
        algorithm = try c.string("alg", "algorithm")
        hash = try c.string("hash")
    }
}

// MARK: - Encoding (what the Go SDK sends: JSON names, standard padded base64)

/// A coding key that is any string: the JSON names below are written as protojson writes them.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension UnsignedRewrapRequest: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(clientPublicKey, forKey: AnyKey("clientPublicKey"))
        try c.encode(requests, forKey: AnyKey("requests"))
        if let keyAccess { try c.encode(keyAccess, forKey: AnyKey("keyAccess")) }
        if !policy.isEmpty { try c.encode(policy, forKey: AnyKey("policy")) }
        if !algorithm.isEmpty { try c.encode(algorithm, forKey: AnyKey("algorithm")) }
    }
}

extension UnsignedRewrapRequest.WithPolicyRequest: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(keyAccessObjects, forKey: AnyKey("keyAccessObjects"))
        if let policy { try c.encode(policy, forKey: AnyKey("policy")) }
        if !algorithm.isEmpty { try c.encode(algorithm, forKey: AnyKey("algorithm")) }
    }
}

extension UnsignedRewrapRequest.WithPolicy: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(id, forKey: AnyKey("id"))
        try c.encode(body, forKey: AnyKey("body"))
    }
}

extension UnsignedRewrapRequest.WithKeyAccessObject: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(keyAccessObjectId, forKey: AnyKey("keyAccessObjectId"))
        if let keyAccessObject { try c.encode(keyAccessObject, forKey: AnyKey("keyAccessObject")) }
    }
}

extension KeyAccess: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        if let policyBinding { try c.encode(policyBinding, forKey: AnyKey("policyBinding")) }
        if !`protocol`.isEmpty { try c.encode(`protocol`, forKey: AnyKey("protocol")) }
        try c.encode(keyType, forKey: AnyKey("type"))
        if !kasURL.isEmpty { try c.encode(kasURL, forKey: AnyKey("url")) }
        if !kid.isEmpty { try c.encode(kid, forKey: AnyKey("kid")) }
        if !splitID.isEmpty { try c.encode(splitID, forKey: AnyKey("sid")) }
        try c.encode(Base64.encode(wrappedKey), forKey: AnyKey("wrappedKey"))
        if !ephemeralPublicKey.isEmpty { try c.encode(ephemeralPublicKey, forKey: AnyKey("ephemeralPublicKey")) }
        if !encryptedMetadata.isEmpty { try c.encode(encryptedMetadata, forKey: AnyKey("encryptedMetadata")) }
        if !header.isEmpty { try c.encode(Base64.encode(header), forKey: AnyKey("header")) }
    }
}

extension PolicyBinding: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(algorithm, forKey: AnyKey("alg"))
        try c.encode(hash, forKey: AnyKey("hash"))
    }
}
