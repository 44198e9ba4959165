/// The rewrap response, `kas.RewrapResponse` (spec §4.1).
public struct RewrapResponse: Sendable, Equatable {
    /// PEM SPKI of the KAS's per-request EC session key; "" for RSA clients.
    public var sessionPublicKey: String
    public var responses: [PolicyRewrapResult]
    /// Deprecated `entity_wrapped_key` (field 2): set only for a v1 request body (spec §3.5).
    public var entityWrappedKey: [UInt8]

    public init(sessionPublicKey: String = "", responses: [PolicyRewrapResult], entityWrappedKey: [UInt8] = []) {
        self.sessionPublicKey = sessionPublicKey
        self.responses = responses
        self.entityWrappedKey = entityWrappedKey
    }

    /// The result for (policy id, KAO id), as a client matches them (order is not meaningful
    /// on the wire, spec §4.1).
    public func result(policyID: String, keyAccessObjectID: String) -> KeyAccessRewrapResult? {
        responses.first { $0.policyId == policyID }?.results.first { $0.keyAccessObjectId == keyAccessObjectID }
    }
}

public struct PolicyRewrapResult: Sendable, Equatable {
    public var policyId: String
    public var results: [KeyAccessRewrapResult]

    public init(policyId: String, results: [KeyAccessRewrapResult]) {
        self.policyId = policyId
        self.results = results
    }
}

public struct KeyAccessRewrapResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The DEK re-wrapped to the client key.
        case permit(kasWrappedKey: [UInt8])
        /// The exact error string of spec §4.4.
        case fail(error: String)
    }

    public var keyAccessObjectId: String
    public var outcome: Outcome
    /// `metadata["X-Required-Obligations"]`, always present on the wire.
    public var requiredObligations: [String]

    public init(keyAccessObjectId: String, outcome: Outcome, requiredObligations: [String] = []) {
        self.keyAccessObjectId = keyAccessObjectId
        self.outcome = outcome
        self.requiredObligations = requiredObligations
    }

    /// `"permit"` or `"fail"`.
    public var status: String {
        if case .permit = outcome { return "permit" }
        return "fail"
    }

    public var kasWrappedKey: [UInt8]? {
        if case .permit(let key) = outcome { return key }
        return nil
    }

    public var error: String? {
        if case .fail(let error) = outcome { return error }
        return nil
    }
}

public let requiredObligationsMetadataKey = obligationsKey.description
private let obligationsKey: StaticString = "X-Required-Obligations"

// MARK: - JSON encoding (protojson field order, JSON names, omitting empty fields)

extension RewrapResponse {
    /// The response as proto3 JSON, built into one buffer.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: estimatedJSONSize())
        writer.raw("{")
        var needsComma = false
        if !entityWrappedKey.isEmpty {
            writer.key("entityWrappedKey")
            writer.base64(entityWrappedKey)
            needsComma = true
        }
        if !sessionPublicKey.isEmpty {
            if needsComma { writer.raw(",") }
            writer.key("sessionPublicKey")
            writer.string(sessionPublicKey)
            needsComma = true
        }
        if !responses.isEmpty {
            if needsComma { writer.raw(",") }
            writer.key("responses")
            writer.raw("[")
            for (policyIndex, policy) in responses.enumerated() {
                if policyIndex > 0 { writer.raw(",") }
                writer.raw("{")
                writer.key("policyId")
                writer.string(policy.policyId)
                writer.raw(",")
                writer.key("results")
                writer.raw("[")
                for (index, result) in policy.results.enumerated() {
                    if index > 0 { writer.raw(",") }
                    result.write(to: &writer)
                }
                writer.raw("]}")
            }
            writer.raw("]")
        }
        writer.raw("}")
        return writer.bytes
    }

    private func estimatedJSONSize() -> Int {
        var size = 64 + sessionPublicKey.utf8.count + Base64.encodedCount(entityWrappedKey.count)
        for policy in responses {
            size += 48 + policy.policyId.utf8.count
            for result in policy.results {
                size += 96 + result.keyAccessObjectId.utf8.count
                switch result.outcome {
                case .permit(let key): size += Base64.encodedCount(key.count)
                case .fail(let error): size += error.utf8.count + 8
                }
                for obligation in result.requiredObligations { size += obligation.utf8.count + 4 }
            }
        }
        return size
    }
}

extension KeyAccessRewrapResult {
    func write(to writer: inout JSONWriter) {
        writer.raw("{")
        writer.key("metadata")
        writer.raw("{")
        writer.key(requiredObligationsMetadataKey)
        writer.raw("[")
        for (index, obligation) in requiredObligations.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(obligation)
        }
        writer.raw("]},")
        writer.key("keyAccessObjectId")
        writer.string(keyAccessObjectId)
        writer.raw(",")
        writer.key("status")
        writer.string(status)
        writer.raw(",")
        switch outcome {
        case .permit(let key):
            writer.key("kasWrappedKey")
            writer.base64(key)
        case .fail(let error):
            writer.key("error")
            writer.string(error)
        }
        writer.raw("}")
    }
}

// MARK: - Decoding (for clients)

extension RewrapResponse: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([
        ("sessionPublicKey", "session_public_key"), ("responses", nil), ("entityWrappedKey", "entity_wrapped_key"),
    ])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        self.init(responses: [])
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: sessionPublicKey = try reader.string(fields)
            case 1: responses = try reader.messages(PolicyRewrapResult.self, fields)
            default: entityWrappedKey = try reader.bytes(fields)
            }
        }
    }
}

extension PolicyRewrapResult: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([("policyId", "policy_id"), ("results", nil)])

    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        self.init(policyId: "", results: [])
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: policyId = try reader.string(fields)
            default: results = try reader.messages(KeyAccessRewrapResult.self, fields)
            }
        }
    }
}

extension KeyAccessRewrapResult: ProtoJSONMessage {
    private static let fields = ProtoJSONFields([
        ("keyAccessObjectId", "key_access_object_id"), ("metadata", nil), ("status", nil),
        ("kasWrappedKey", "kas_wrapped_key"), ("error", nil),
    ])

    /// The outcome is `permit` when `status` says so and a (non-null) `kasWrappedKey` is there,
    /// whatever the members' order.
    package init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
        var id = "", obligations: [String] = [], status = "", wrappedKey: [UInt8]?, error = ""
        var fields = try reader.fields(Self.fields)
        while let field = try reader.next(&fields) {
            switch field {
            case 0: id = try reader.string(fields)
            case 1: obligations = try reader.message(Metadata.self, fields)?.obligations ?? []
            case 2: status = try reader.string(fields)
            case 3: wrappedKey = try reader.optionalBytes(fields)
            default: error = try reader.string(fields)
            }
        }
        let outcome: Outcome = if status == "permit", let wrappedKey { .permit(kasWrappedKey: wrappedKey) } else { .fail(error: error) }
        self.init(keyAccessObjectId: id, outcome: outcome, requiredObligations: obligations)
    }

    /// `metadata`, a `map<string, google.protobuf.Value>`: only the obligations list is read.
    private struct Metadata: ProtoJSONMessage {
        private static let fields = ProtoJSONFields([(obligationsKey, nil)])
        var obligations: [String] = []

        init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError) {
            var fields = try reader.fields(Self.fields)
            while try reader.next(&fields) != nil {
                obligations = try reader.strings(fields)
            }
        }
    }
}
