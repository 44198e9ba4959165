import Foundation
import RewrapWire

/// A policy of the request, decoded once before the KAOs that carry it (spec §5 step 7).
struct DecodedPolicy: Sendable {
    let id: String
    /// The base64 text as UTF-8 bytes: the binding HMAC's message.
    let bindingMessage: [UInt8]
    /// `body.dataAttributes[].attribute`; empty ⇒ permitted without asking the PDP.
    let attributeFQNs: [String]
    /// Set when the policy could not be decoded: every KAO of it fails with this.
    let failure: KAOError?

    init(_ policy: UnsignedRewrapRequest.WithPolicy, limits: RewrapConfiguration.Limits) {
        id = policy.id
        guard policy.body.utf8.count <= limits.maxPolicyBytes else {
            bindingMessage = []
            attributeFQNs = []
            failure = .policyTooLarge
            return
        }
        bindingMessage = Array(policy.body.utf8)
        if let document = Self.decode(bindingMessage) {
            attributeFQNs = document
            failure = nil
        } else {
            attributeFQNs = []
            failure = .badRequest
        }
    }

    private struct Document: Decodable {
        struct Body: Decodable {
            struct Attribute: Decodable { var attribute: String? }
            var dataAttributes: [Attribute]?
        }
        var uuid: String?
        var body: Body?
    }

    /// base64 (strict standard) → JSON; nil when either fails or `uuid` is not a UUID.
    private static func decode(_ base64: [UInt8]) -> [String]? {
        let json = base64.withUnsafeBytes { Base64.decode($0, options: .strictStandard) }
        guard let json, let document = try? JSONDecoder().decode(Document.self, from: Data(json)) else { return nil }
        if let uuid = document.uuid, !uuid.isEmpty, !isUUID(uuid) { return nil }
        return (document.body?.dataAttributes ?? []).compactMap(\.attribute)
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
