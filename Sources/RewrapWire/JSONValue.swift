/// A JSON document as written: object members keep their order and their duplicates, so a
/// reader can apply Go's `encoding/json` rules (case-insensitive field names, last value wins)
/// where the engine must decide exactly as the Go KAS does (the policy's attributes decide
/// whether the PDP is asked).
///
/// Not `indirect`: a box per value with a payload was one allocation per string and number,
/// about 12 of the server's mallocs per KAO (`rewrap-bench server`, P-256 batch 64: 2305 →
/// 1507 per request without it). Members are `JSONMember` structs, not tuples: with
/// `[(key: String, value: JSONValue)]` and no box, the debug test process crashed
/// deterministically (Swift 6.3, a nil object far from any JSON code, in
/// `DevIdentityProviderTests`); with the struct, none of the dozen full runs since has.
package enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's literal text as written (RFC 8259 grammar), so a reader picks its own
    /// precision: JWT NumericDates (RFC 7519 §2) are read as whole seconds from it.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// Parses one JSON value (RFC 8259; surrounding whitespace allowed, nothing else after it).
    /// Nesting deeper than `maxDepth` is refused rather than risking the stack.
    package static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) -> JSONValue? {
        var parser = Parser(scanner: JSONScanner(bytes: bytes, maxDepth: maxDepth))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.scanner.skipWhitespace()
        return parser.scanner.atEnd ? value : nil
    }

    package static func parse(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONValue? {
        bytes.withUnsafeBytes { parse($0, maxDepth: maxDepth) }
    }

    /// Go's field lookup: the last member whose name equals `name` under Unicode simple case
    /// folding (`strings.EqualFold`), or nil.
    package func member(_ name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        var folded: String?
        return members.last { member in
            // ASCII on both sides (every name the wire model asks for, and the usual key): no
            // allocation. The Unicode folds cost ~40 µs a request in the policy decode (perf,
            // `rewrap serve` at batch 1) and are kept for keys with non-ASCII bytes.
            if let equal = Self.asciiEqualFold(member.key, name) { return equal }
            if folded == nil { folded = Self.fold(name) }
            return Self.fold(member.key) == folded
        }?.value
    }

    /// `EqualFold` for two ASCII strings; nil when either holds a non-ASCII byte (ſ and the
    /// Kelvin sign fold to ASCII letters, so those go through `fold`).
    private static func asciiEqualFold(_ a: String, _ b: String) -> Bool? {
        if a.utf8.contains(where: { $0 >= 0x80 }) || b.utf8.contains(where: { $0 >= 0x80 }) { return nil }
        return ASCII.equalsIgnoringCase(a, b)
    }

    private static func fold(_ text: String) -> String {
        // lowercased() plus the two folds it misses that EqualFold has: ſ → s and K (Kelvin) → k.
        text.lowercased().replacingOccurrences(of: "ſ", with: "s").replacingOccurrences(of: "\u{212A}", with: "k")
    }

    /// Builds the tree on `JSONScanner`, which reads the tokens.
    private struct Parser {
        var scanner: JSONScanner

        /// Members and elements of the containers still open, innermost last: a container is
        /// gathered here and copied out once at its close, so each costs one allocation of its
        /// exact size instead of an array grown by doubling (3–4 allocations for a KAO's
        /// members).
        private var openMembers: [JSONMember] = []
        private var openElements: [JSONValue] = []

        init(scanner: JSONScanner) { self.scanner = scanner }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth <= scanner.maxDepth, let first = scanner.peek() else { return nil }
            switch first {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return scanner.string().map(JSONValue.string)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): return scanner.keyword()
            default: return scanner.number().map { .number(scanner.text($0)) }
            }
        }

        private mutating func object(depth: Int) -> JSONValue? {
            scanner.index += 1
            let base = openMembers.count
            defer { openMembers.removeSubrange(base...) }
            if scanner.consume(UInt8(ascii: "}")) { return .object([]) }
            repeat {
                scanner.skipWhitespace()
                guard let key = scanner.string(), scanner.consume(UInt8(ascii: ":")),
                      let member = value(depth: depth + 1) else { return nil }
                openMembers.append(JSONMember(key: key, value: member))
            } while scanner.consume(UInt8(ascii: ","))
            return scanner.consume(UInt8(ascii: "}")) ? .object(Array(openMembers[base...])) : nil
        }

        private mutating func array(depth: Int) -> JSONValue? {
            scanner.index += 1
            let base = openElements.count
            defer { openElements.removeSubrange(base...) }
            if scanner.consume(UInt8(ascii: "]")) { return .array([]) }
            repeat {
                guard let element = value(depth: depth + 1) else { return nil }
                openElements.append(element)
            } while scanner.consume(UInt8(ascii: ","))
            return scanner.consume(UInt8(ascii: "]")) ? .array(Array(openElements[base...])) : nil
        }
    }
}

/// An object member as written (a struct, not a tuple: see `JSONValue`).
package struct JSONMember: Sendable {
    package var key: String
    package var value: JSONValue

    package init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
