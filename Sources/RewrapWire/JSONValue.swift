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
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.index == bytes.count ? value : nil
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

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        let maxDepth: Int
        var index = 0

        init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth <= maxDepth else { return nil }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        private mutating func literal(_ text: StaticString, _ result: JSONValue) -> JSONValue? {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return nil }
            index += count
            return result
        }

        /// Members and elements of the containers still open, innermost last: a container is
        /// gathered here and copied out once at its close, so each costs one allocation of its
        /// exact size instead of an array grown by doubling (3–4 allocations for a KAO's
        /// members).
        private var openMembers: [JSONMember] = []
        private var openElements: [JSONValue] = []

        private mutating func object(depth: Int) -> JSONValue? {
            index += 1
            let base = openMembers.count
            defer { openMembers.removeSubrange(base...) }
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object([])
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                guard let member = value(depth: depth + 1) else { return nil }
                openMembers.append(JSONMember(key: key, value: member))
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(Array(openMembers[base...])) }
                return nil
            }
        }

        private mutating func array(depth: Int) -> JSONValue? {
            index += 1
            let base = openElements.count
            defer { openElements.removeSubrange(base...) }
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array([])
            }
            while true {
                guard let element = value(depth: depth + 1) else { return nil }
                openElements.append(element)
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(Array(openElements[base...])) }
                return nil
            }
        }

        /// A string's value. Without escapes (every key and most values) it is one copy out of
        /// the input; with them the unescaped bytes are gathered once, runs between escapes
        /// copied whole. (The earlier version built a scalar view per string: 9 % of
        /// `rewrap serve`'s CPU at batch 64, whose SRT `requestBody` is a string of escaped JSON.)
        private mutating func string() -> String? {
            index += 1  // opening quote
            let start = index
            while index < bytes.count {
                index = plainRunEnd(from: index)
                guard index < bytes.count else { break }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            return escapedString(from: start)
        }

        /// The rest of a string that holds an escape at `index`, its first `start..<index` plain.
        private mutating func escapedString(from start: Int) -> String? {
            var unescaped: [UInt8] = []
            unescaped.reserveCapacity(index - start + 64)
            var runStart = start
            while index < bytes.count {
                index = plainRunEnd(from: index)
                guard index < bytes.count else { break }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    unescaped.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                    index += 1
                    return String(decoding: unescaped, as: UTF8.self)
                }
                if byte < 0x20 { return nil }
                guard byte == UInt8(ascii: "\\") else {
                    index += 1
                    continue
                }
                unescaped.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): unescaped.append(0x22)
                case UInt8(ascii: "\\"): unescaped.append(0x5C)
                case UInt8(ascii: "/"): unescaped.append(0x2F)
                case UInt8(ascii: "b"): unescaped.append(0x08)
                case UInt8(ascii: "f"): unescaped.append(0x0C)
                case UInt8(ascii: "n"): unescaped.append(0x0A)
                case UInt8(ascii: "r"): unescaped.append(0x0D)
                case UInt8(ascii: "t"): unescaped.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(code), index + 6 <= bytes.count,
                       bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                        let save = index
                        index += 2
                        if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                        }
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"  // lone surrogate, as Go does
                    UTF8.encode(scalar) { unescaped.append($0) }
                default:
                    return nil
                }
                runStart = index
            }
            return nil
        }

        /// The first index from `start` whose word of 8 bytes may hold a byte that ends a
        /// plain run of string text (a quote, a backslash or a control byte), skipping 8 bytes
        /// at a time where none can: the classic "has a zero byte" test on the word XORed with
        /// each, and "has a byte below 0x20". Strings are most of a request's bytes (wrapped
        /// keys, PEM, the SRT's escaped `requestBody`).
        private func plainRunEnd(from start: Int) -> Int {
            let ones: UInt64 = 0x0101_0101_0101_0101
            var index = start
            while index + 8 <= bytes.count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let quote = word ^ (0x22 &* ones), backslash = word ^ (0x5C &* ones)
                let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- 0x20 &* ones) & ~word)
                if special & (0x80 &* ones) != 0 { break }
                index += 8
            }
            return index
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for offset in 0..<4 {
                guard let digit = Hex.value(of: bytes[index + offset]) else { return nil }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        private mutating func number() -> JSONValue? {
            let start = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return nil }
            }
            return index > start ? .number(String(decoding: bytes[start..<index], as: UTF8.self)) : nil
        }

        private mutating func digits() -> Int {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - start
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
