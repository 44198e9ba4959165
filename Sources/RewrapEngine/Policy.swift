import Foundation
import RewrapWire

/// A policy of the request, decoded once before the KAOs that carry it (spec §5 step 7).
struct DecodedPolicy: Sendable {
    let id: String
    /// The base64 text as UTF-8 bytes: the binding HMAC's message.
    let bindingMessage: [UInt8]
    /// `body.dataAttributes[].attribute`, "" for an entry without one; empty ⇒ permitted
    /// without asking the PDP.
    let attributeFQNs: [String]
    /// Set when the policy could not be decoded: every KAO of it fails with this.
    let failure: KAOError?
    /// The policy's `uuid` ("" if none): the audit record's object id.
    let uuid: String
    /// The request's `algorithm` for this policy ("" ⇒ `rsa:2048`): audit only.
    let algorithm: String

    init(_ policy: UnsignedRewrapRequest.WithPolicy, algorithm: String = "", limits: RewrapConfiguration.Limits) {
        id = policy.id
        self.algorithm = algorithm.isEmpty ? "rsa:2048" : algorithm
        guard policy.body.utf8.count <= limits.maxPolicyBytes else {
            bindingMessage = []
            attributeFQNs = []
            uuid = ""
            failure = .policyTooLarge
            return
        }
        bindingMessage = Array(policy.body.utf8)
        if let decoded = Self.decode(bindingMessage) {
            attributeFQNs = decoded.attributeFQNs
            uuid = decoded.uuid
            failure = nil
        } else {
            attributeFQNs = []
            uuid = ""
            failure = .badRequest
        }
    }

    /// base64 (strict standard) → JSON, read as the Go KAS reads it into its policy struct
    /// (`encoding/json`: field names matched case-insensitively, the last duplicate wins, a
    /// value of the wrong type is an error). Returns the attribute FQNs — one per
    /// `dataAttributes` entry, "" when an entry has none, so any entry means "ask the PDP" —
    /// and the uuid, or nil when the policy does not decode or its `uuid` is not a UUID.
    static func decode(_ base64: [UInt8]) -> (attributeFQNs: [String], uuid: String)? {
        var uuid = ""
        guard let fqns = decode(base64, uuid: &uuid) else { return nil }
        return (fqns, uuid)
    }

    private static func decode(_ base64: [UInt8], uuid found: inout String) -> [String]? {
        guard let json = base64.withUnsafeBytes({ Base64.decode($0, options: .strictStandard) }),
              let document = JSONValue.parse(json)
        else { return nil }
        switch document {
        case .null: return []
        case .object: break
        default: return nil
        }
        switch document.member("uuid") {
        case nil, .null?: break
        case .string(let uuid)?:
            guard isUUID(uuid) else { return nil }
            found = uuid
        default: return nil
        }
        let body: JSONValue
        switch document.member("body") {
        case nil, .null?: return []
        case let value? where isObject(value): body = value
        default: return nil
        }
        guard isStringList(body.member("dissem")) else { return nil }
        switch body.member("dataAttributes") {
        case nil, .null?:
            return []
        case .array(let entries)?:
            var fqns: [String] = []
            for entry in entries {
                guard entry == .null || isObject(entry),
                      isString(entry.member("displayName")), isString(entry.member("pubKey")),
                      isString(entry.member("kasURL")), isBool(entry.member("isDefault"))
                else { return nil }
                switch entry.member("attribute") {
                case nil, .null?: fqns.append("")
                case .string(let fqn)?: fqns.append(fqn)
                default: return nil
                }
            }
            return fqns
        default:
            return nil
        }
    }

    private static func isObject(_ value: JSONValue) -> Bool {
        if case .object = value { return true }
        return false
    }

    /// Absent, null or a string.
    private static func isString(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?, .string?: return true
        default: return false
        }
    }

    private static func isBool(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?, .bool?: return true
        default: return false
        }
    }

    private static func isStringList(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: return true
        case .array(let items)?: return items.allSatisfy { isString($0) }
        default: return false
        }
    }

    /// Go's uuid.Parse forms: canonical 36, `urn:uuid:` prefix, braces, or 32 hex digits.
    static func isUUID(_ text: String) -> Bool {
        var text = Substring(text)
        if text.lowercased().hasPrefix("urn:uuid:") { text = text.dropFirst(9) }
        if text.hasPrefix("{"), text.hasSuffix("}") { text = text.dropFirst().dropLast() }
        if text.count == 32 { return text.allSatisfy(\.isHexDigit) }
        return UUID(uuidString: String(text)) != nil
    }
}
