import Foundation

/// Why a proto3-JSON body could not be read. Callers map every case to the wire's
/// `invalid request body`; the text names the shape only (`field`, `duplicate`), never a value.
package struct ProtoJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    package let description: String

    init(_ description: String) { self.description = description }

    static let notJSON = ProtoJSONError("not a JSON value")
}

/// A message that reads itself from proto3 JSON.
package protocol ProtoJSONMessage {
    init(protoJSON object: ProtoJSONObject) throws(ProtoJSONError)
}

/// Proto3-JSON decoding entry point shared by the request and response types: the bytes are
/// parsed once by `JSONValue`'s reader and the message reads its fields from the tree.
///
/// This replaced Foundation's `JSONDecoder` on the request path: at batch 64 its `Decodable`
/// machinery was 14 % of `rewrap serve`'s CPU (perf, P-256, 2-vCPU VM, 2026-12-02), several
/// times the parse itself.
package enum ProtoJSON {
    /// Nesting the messages need is at most six levels; unknown fields may nest deeper and are
    /// parsed (then ignored) up to this bound.
    package static let maxDepth = 64

    package static func decode<T: ProtoJSONMessage>(_ type: T.Type, from json: UnsafeRawBufferPointer) throws(ProtoJSONError) -> T {
        guard let value = JSONValue.parse(json, maxDepth: maxDepth) else { throw .notJSON }
        return try T(protoJSON: ProtoJSONObject(value, field: "body"))
    }

    package static func decode<T: ProtoJSONMessage>(_ type: T.Type, from json: [UInt8]) throws(ProtoJSONError) -> T {
        let result: Result<T, ProtoJSONError> = json.withUnsafeBytes { bytes in
            Result { () throws(ProtoJSONError) -> T in try decode(T.self, from: bytes) }
        }
        return try result.get()
    }

    package static func decode<T: ProtoJSONMessage>(_ type: T.Type, from json: Data) throws(ProtoJSONError) -> T {
        try decode(T.self, from: [UInt8](json))
    }
}

/// One JSON object read as a proto3 message, as protojson reads it with `DiscardUnknown`: a
/// field under its JSON name or its proto name, `null` meaning the default, unknown members
/// ignored, a field given twice (under either name) refused, and a value of the wrong JSON type
/// refused.
package struct ProtoJSONObject {
    private let members: [JSONMember]

    init(_ value: JSONValue, field: String) throws(ProtoJSONError) {
        guard case .object(let members) = value else { throw ProtoJSONError("\(field) is not an object") }
        self.members = members
    }

    /// The field's value; nil when it is absent or `null`. Names are given separately rather
    /// than as a variadic list so a lookup allocates nothing.
    package func value(_ jsonName: String, _ protoName: String? = nil) throws(ProtoJSONError) -> JSONValue? {
        var found: JSONValue?
        var seen = false
        for member in members where member.key == jsonName || (protoName != nil && member.key == protoName) {
            guard !seen else { throw ProtoJSONError("duplicate field \(jsonName)") }
            seen = true
            found = member.value
        }
        if case .null? = found { return nil }
        return found
    }

    /// A `string` field; "" when absent.
    package func string(_ jsonName: String, _ protoName: String? = nil) throws(ProtoJSONError) -> String {
        switch try value(jsonName, protoName) {
        case nil: return ""
        case .string(let text)?: return text
        default: throw ProtoJSONError("\(jsonName) is not a string")
        }
    }

    /// A `bytes` field: base64, standard or URL-safe alphabet, padded or not; empty when absent.
    package func bytes(_ jsonName: String, _ protoName: String? = nil) throws(ProtoJSONError) -> [UInt8] {
        let text = try string(jsonName, protoName)
        guard !text.isEmpty else { return [] }
        guard let bytes = Base64.decode(text, options: .protoJSON) else { throw ProtoJSONError("\(jsonName) is not base64") }
        return bytes
    }

    /// A message field; nil when absent.
    package func message<T: ProtoJSONMessage>(_ type: T.Type, _ jsonName: String, _ protoName: String? = nil) throws(ProtoJSONError) -> T? {
        guard let value = try value(jsonName, protoName) else { return nil }
        return try T(protoJSON: ProtoJSONObject(value, field: jsonName))
    }

    /// A repeated message field; empty when absent. A `null` element is refused, as protojson does.
    package func messages<T: ProtoJSONMessage>(_ type: T.Type, _ jsonName: String, _ protoName: String? = nil) throws(ProtoJSONError) -> [T] {
        guard let value = try value(jsonName, protoName) else { return [] }
        guard case .array(let elements) = value else { throw ProtoJSONError("\(jsonName) is not an array") }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for element in elements { result.append(try T(protoJSON: ProtoJSONObject(element, field: jsonName))) }
        return result
    }

    /// A repeated string (or a `google.protobuf.ListValue` of strings); empty when absent.
    package func strings(_ jsonName: String, _ protoName: String? = nil) throws(ProtoJSONError) -> [String] {
        guard let value = try value(jsonName, protoName) else { return [] }
        guard case .array(let elements) = value else { throw ProtoJSONError("\(jsonName) is not an array") }
        return try elements.map { element throws(ProtoJSONError) in
            guard case .string(let text) = element else { throw ProtoJSONError("\(jsonName) holds a non-string") }
            return text
        }
    }
}
