import Foundation

/// Why a proto3-JSON body could not be read. Callers map every case to the wire's
/// `invalid request body`; the text names the shape only (`field`, `duplicate`), never a value.
package struct ProtoJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    package let description: String

    init(_ description: String) { self.description = description }

    static let notJSON = ProtoJSONError("not a JSON value")
}

/// A message that reads itself from proto3 JSON: `init` is called with the reader at the
/// message's `{` and reads it through `ProtoJSONReader.fields(_:)` and `next(_:)`.
package protocol ProtoJSONMessage {
    init(protoJSON reader: inout ProtoJSONReader) throws(ProtoJSONError)
}

/// Proto3-JSON decoding entry point shared by the request and response types: the bytes are
/// read once, front to back, straight into the message structs (no tree in between).
///
/// History, measured with perf on `rewrap serve` (P-256, 2-vCPU VM): Foundation's
/// `JSONDecoder` was 14 % of the CPU at batch 64 (2026-12-02), several times the parse itself;
/// the `JSONValue` tree that replaced it was still 4.7 % (2026-12-03), a `String` and an array
/// per field before a KAO's base64 was even decoded.
package enum ProtoJSON {
    /// Nesting the messages need is at most six levels; unknown fields may nest deeper and are
    /// checked (then ignored) up to this bound.
    package static let maxDepth = 64

    package static func decode<T: ProtoJSONMessage>(_ type: T.Type, from json: UnsafeRawBufferPointer) throws(ProtoJSONError) -> T {
        var reader = ProtoJSONReader(JSONScanner(bytes: json, maxDepth: maxDepth))
        guard let message = try reader.message(T.self, "body") else { throw ProtoJSONError("body is null") }
        guard reader.atEnd else { throw .notJSON }
        return message
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

/// A message's field names: the JSON name and, where it differs, the proto name. A field is
/// known by its position here.
package struct ProtoJSONFields: Sendable {
    fileprivate let names: [(json: StaticString, proto: StaticString?)]

    package init(_ names: [(json: StaticString, proto: StaticString?)]) {
        precondition(names.count <= 64, "one bit per field in ProtoJSONReader.Fields.seen")
        self.names = names
    }

    fileprivate func index(of key: UnsafeRawBufferPointer) -> Int? {
        for (index, name) in names.enumerated() {
            if Self.equal(key, name.json) { return index }
            if let proto = name.proto, Self.equal(key, proto) { return index }
        }
        return nil
    }

    private static func equal(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        key.count == name.utf8CodeUnitCount && (key.count == 0 || memcmp(key.baseAddress!, name.utf8Start, key.count) == 0)
    }

    fileprivate func jsonName(_ index: Int) -> String { names[index].json.description }
}

/// Reads proto3 JSON as protojson does with `DiscardUnknown`: a field under its JSON name or
/// its proto name, `null` meaning the default, unknown members skipped (but checked to be
/// JSON), a field given twice (under either name) refused, and a value of the wrong JSON type
/// refused. Strings are made once from the input bytes; `bytes` fields are base64-decoded
/// straight from them.
package struct ProtoJSONReader {
    private var scanner: JSONScanner
    private var depth = 0

    init(_ scanner: JSONScanner) { self.scanner = scanner }

    /// Nothing but whitespace is left.
    var atEnd: Bool {
        mutating get {
            scanner.skipWhitespace()
            return scanner.atEnd
        }
    }

    /// One message being read: its names, the fields seen so far (a bit each), and whether the
    /// next member is its first.
    package struct Fields {
        fileprivate let names: ProtoJSONFields
        fileprivate var seen: UInt64 = 0
        fileprivate var first = true
        /// The field whose value is next, for error texts.
        fileprivate var current = 0
    }

    /// Enters the message at the reader (its `{`).
    package mutating func fields(_ names: ProtoJSONFields) throws(ProtoJSONError) -> Fields {
        guard depth <= scanner.maxDepth, scanner.consume(UInt8(ascii: "{")) else { throw .notJSON }
        depth += 1
        return Fields(names: names)
    }

    /// The next known field of the message (its index in the names), the reader at its value;
    /// unknown members are skipped; nil at the message's `}`.
    package mutating func next(_ fields: inout Fields) throws(ProtoJSONError) -> Int? {
        while true {
            if fields.first {
                fields.first = false
                if scanner.consume(UInt8(ascii: "}")) { return end() }
            } else if !scanner.consume(UInt8(ascii: ",")) {
                guard scanner.consume(UInt8(ascii: "}")) else { throw .notJSON }
                return end()
            }
            scanner.skipWhitespace()
            let known: Int?
            switch scanner.stringContent() {
            case .plain(let range)?: known = fields.names.index(of: UnsafeRawBufferPointer(rebasing: scanner.bytes[range]))
            case .unescaped(let key)?: known = key.withUnsafeBytes { fields.names.index(of: $0) }
            case nil: throw .notJSON
            }
            guard scanner.consume(UInt8(ascii: ":")) else { throw .notJSON }
            guard let index = known else {
                guard scanner.skipValue(depth: depth) else { throw .notJSON }
                continue
            }
            let bit: UInt64 = 1 << UInt64(index)
            guard fields.seen & bit == 0 else { throw ProtoJSONError("duplicate field \(fields.names.jsonName(index))") }
            fields.seen |= bit
            fields.current = index
            return index
        }
    }

    private mutating func end() -> Int? {
        depth -= 1
        return nil
    }

    /// Consumes a `null` value; false (nothing consumed) for anything else.
    private mutating func null() -> Bool {
        guard scanner.peek() == UInt8(ascii: "n") else { return false }
        return scanner.literal("null")
    }

    /// A `string` field; "" for `null`.
    package mutating func string(_ fields: Fields) throws(ProtoJSONError) -> String {
        if null() { return "" }
        guard scanner.peek() == UInt8(ascii: "\"") else { throw wrongType(fields, "a string") }
        guard let text = scanner.string() else { throw .notJSON }
        return text
    }

    /// A `bytes` field: base64, standard or URL-safe alphabet, padded or not; empty for `null`.
    package mutating func bytes(_ fields: Fields) throws(ProtoJSONError) -> [UInt8] {
        try optionalBytes(fields) ?? []
    }

    /// A `bytes` field; nil for `null` (a reader that tells absent from present).
    package mutating func optionalBytes(_ fields: Fields) throws(ProtoJSONError) -> [UInt8]? {
        if null() { return nil }
        guard scanner.peek() == UInt8(ascii: "\"") else { throw wrongType(fields, "a string") }
        guard let decoded = scanner.withStringBytes({ text -> [UInt8]? in
            text.isEmpty ? [] : Base64.decode(text, options: .protoJSON)
        }) else { throw .notJSON }
        guard let decoded else { throw ProtoJSONError("\(fields.names.jsonName(fields.current)) is not base64") }
        return decoded
    }

    /// A message field; nil for `null`.
    package mutating func message<T: ProtoJSONMessage>(_ type: T.Type, _ fields: Fields) throws(ProtoJSONError) -> T? {
        try message(T.self, fields.names.jsonName(fields.current))
    }

    fileprivate mutating func message<T: ProtoJSONMessage>(_ type: T.Type, _ name: @autoclosure () -> String) throws(ProtoJSONError) -> T? {
        if null() { return nil }
        guard scanner.peek() == UInt8(ascii: "{") else { throw ProtoJSONError("\(name()) is not an object") }
        return try T(protoJSON: &self)
    }

    /// A repeated message field; empty for `null`. A `null` element is refused, as protojson does.
    package mutating func messages<T: ProtoJSONMessage>(_ type: T.Type, _ fields: Fields) throws(ProtoJSONError) -> [T] {
        var result: [T] = []
        try elements(fields) { reader throws(ProtoJSONError) in
            guard reader.scanner.peek() == UInt8(ascii: "{") else { throw reader.wrongType(fields, "an array of objects") }
            result.append(try T(protoJSON: &reader))
        }
        return result
    }

    /// A repeated string (or a `google.protobuf.ListValue` of strings); empty for `null`.
    package mutating func strings(_ fields: Fields) throws(ProtoJSONError) -> [String] {
        var result: [String] = []
        try elements(fields) { reader throws(ProtoJSONError) in
            guard reader.scanner.peek() == UInt8(ascii: "\"") else { throw reader.wrongType(fields, "an array of strings") }
            guard let text = reader.scanner.string() else { throw .notJSON }
            result.append(text)
        }
        return result
    }

    /// Calls `element` at each element of the array at the reader (`null`: none).
    private mutating func elements(_ fields: Fields, _ element: (inout ProtoJSONReader) throws(ProtoJSONError) -> Void) throws(ProtoJSONError) {
        if null() { return }
        guard scanner.peek() == UInt8(ascii: "[") else { throw wrongType(fields, "an array") }
        guard depth <= scanner.maxDepth else { throw .notJSON }
        scanner.index += 1
        depth += 1
        defer { depth -= 1 }
        if scanner.consume(UInt8(ascii: "]")) { return }
        repeat {
            try element(&self)
        } while scanner.consume(UInt8(ascii: ","))
        guard scanner.consume(UInt8(ascii: "]")) else { throw .notJSON }
    }

    private func wrongType(_ fields: Fields, _ expected: String) -> ProtoJSONError {
        ProtoJSONError("\(fields.names.jsonName(fields.current)) is not \(expected)")
    }
}
