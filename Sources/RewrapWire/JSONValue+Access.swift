/// Exact-name reads for JOSE documents. JWS headers, JWT claims and JWKs name their members
/// case-sensitively (RFC 7515 §4, RFC 7519 §4, RFC 7517 §4), unlike Go's `encoding/json`
/// struct binding that `member(_:)` reproduces for the policy.
extension JSONValue {
    /// The last member named exactly `name` (a duplicate name keeps the last value, as the Go
    /// JOSE libraries the spec cites do, RFC 7519 §4), or nil.
    package subscript(exact name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == name }?.value
    }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// A JWT NumericDate (RFC 7519 §2) as whole seconds, fractions dropped toward negative
    /// infinity; nil for a non-number or one outside ±2^53 (no real date is).
    package var numericDate: Int64? {
        guard case .number(let text) = self, let value = Double(text), value.isFinite,
              abs(value) <= 9_007_199_254_740_992 else { return nil }
        return Int64(value.rounded(.down))
    }
}
