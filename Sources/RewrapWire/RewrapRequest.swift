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
    private static let fields = ProtoJSONFields([
        ("clientPublicKey", "client_public_key"), ("requests", nil), ("keyAccess", "key_access"), ("policy", nil), ("algorithm", nil),
    ])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        self.init(clientPublicKey: "", requests: [])
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: clientPublicKey = try reader.string(fields)
            case 1: requests = try reader.messages(WithPolicyRequest.self, fields)
            case 2: keyAccess = try reader.message(KeyAccess.self, fields)
            case 3: policy = try reader.string(fields)
            default: algorithm = try reader.string(fields)
            }
        }
    }
}

extension UnsignedRewrapRequest.WithPolicyRequest: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([("keyAccessObjects", "key_access_objects"), ("policy", nil), ("algorithm", nil)])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        self.init(keyAccessObjects: [], policy: nil)
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: keyAccessObjects = try reader.messages(UnsignedRewrapRequest.WithKeyAccessObject.self, fields)
            case 1: policy = try reader.message(UnsignedRewrapRequest.WithPolicy.self, fields)
            default: algorithm = try reader.string(fields)
            }
        }
    }
}

extension UnsignedRewrapRequest.WithPolicy: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([("id", nil), ("body", nil)])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        self.init(id: "", body: "")
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: id = try reader.string(fields)
            default: body = try reader.string(fields)
            }
        }
    }
}

extension UnsignedRewrapRequest.WithKeyAccessObject: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([
        ("keyAccessObjectId", "key_access_object_id"), ("keyAccessObject", "key_access_object"),
    ])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        self.init(keyAccessObjectId: "", keyAccessObject: nil)
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: keyAccessObjectId = try reader.string(fields)
            default: keyAccessObject = try reader.message(KeyAccess.self, fields)
            }
        }
    }
}

extension KeyAccess: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([
        ("type", "key_type"), ("url", "kas_url"), ("protocol", nil), ("kid", nil), ("sid", "split_id"),
        ("wrappedKey", "wrapped_key"), ("policyBinding", "policy_binding"), ("ephemeralPublicKey", "ephemeral_public_key"),
        ("encryptedMetadata", "encrypted_metadata"), ("header", nil),
    ])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        // proto3 defaults: an absent `protocol` is "", not the memberwise default "kas".
        self.init(keyType: "", protocol: "", wrappedKey: [], policyBinding: nil)
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: keyType = try reader.string(fields)
            case 1: kasURL = try reader.string(fields)
            case 2: `protocol` = try reader.string(fields)
            case 3: kid = try reader.string(fields)
            case 4: splitID = try reader.string(fields)
            case 5: wrappedKey = try reader.bytes(fields)
            case 6: policyBinding = try reader.message(PolicyBinding.self, fields)
            case 7: ephemeralPublicKey = try reader.string(fields)
            case 8: encryptedMetadata = try reader.string(fields)
            default: header = try reader.bytes(fields)
            }
        }
    }
}

extension PolicyBinding: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([("alg", "algorithm"), ("hash", nil)])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        // proto3 default: an absent `alg` is "", not the memberwise default "HS256".
        self.init(algorithm: "", hash: "")
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: algorithm = try reader.string(fields)
            default: hash = try reader.string(fields)
            }
        }
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
