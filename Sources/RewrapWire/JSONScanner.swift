/// The byte-level half of reading JSON (RFC 8259): whitespace, literals, numbers, strings and
/// skipping a whole value, over borrowed bytes and without building anything. Two readers sit on
/// it: `JSONValue.parse`, which builds a tree (JOSE headers and claims, the policy), and
/// `ProtoJSONReader`, which reads a request straight into its message structs.
///
/// Every method leaves `index` just past what it read and returns nil (or false) for text
/// that is not JSON; the caller then stops, so `index` is not meaningful after a failure.
package struct JSONScanner {
    package let bytes: UnsafeRawBufferPointer
    package let maxDepth: Int
    package var index = 0

    package init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// A string's content: the bytes between its quotes when they hold no escape (every key and
    /// almost every value), else the unescaped bytes gathered once.
    package enum StringContent {
        case plain(Range<Int>)
        case unescaped([UInt8])
    }

    package var atEnd: Bool { index >= bytes.count }

    /// The next byte after whitespace, not consumed; nil at the end.
    package mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    /// Consumes `byte` if it is next (after whitespace).
    package mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    package mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    package mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// `true`, `false` or `null` at `index`, by its first byte.
    package mutating func keyword() -> JSONValue? {
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        default: return nil
        }
    }

    /// A number's literal text (RFC 8259 §6 grammar) at `index`.
    package mutating func number() -> Range<Int>? {
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
        return index > start ? start..<index : nil
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    package func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The string at `index` (its opening quote) as a Swift string.
    package mutating func string() -> String? {
        switch stringContent() {
        case .plain(let range)?: return text(range)
        case .unescaped(let unescaped)?: return String(decoding: unescaped, as: UTF8.self)
        case nil: return nil
        }
    }

    /// Lends a string's content bytes (after unescaping) to `body`; nil if it is not a string.
    package mutating func withStringBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T? {
        switch stringContent() {
        case .plain(let range)?: return body(UnsafeRawBufferPointer(rebasing: bytes[range]))
        case .unescaped(let unescaped)?: return unescaped.withUnsafeBytes(body)
        case nil: return nil
        }
    }

    /// The string at `index` (its opening quote). Without escapes it is a range of the input;
    /// with them the unescaped bytes are gathered once, runs between escapes copied whole.
    /// (An earlier reader built a scalar view per string: 9 % of `rewrap serve`'s CPU at batch
    /// 64, whose SRT `requestBody` is a string of escaped JSON.)
    package mutating func stringContent() -> StringContent? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        let start = index
        while index < bytes.count {
            index = plainRunEnd(from: index)
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return .plain(start..<(index - 1))
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        return escapedString(from: start).map(StringContent.unescaped)
    }

    /// The rest of a string that holds an escape at `index`, its first `start..<index` plain.
    private mutating func escapedString(from start: Int) -> [UInt8]? {
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
                return unescaped
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

    /// Reads past one whole value, checking it is JSON, building nothing but the unescaped
    /// text of strings that hold escapes. `depth` is the value's nesting level.
    package mutating func skipValue(depth: Int) -> Bool {
        guard depth <= maxDepth, let first = peek() else { return false }
        switch first {
        case UInt8(ascii: "{"):
            index += 1
            if consume(UInt8(ascii: "}")) { return true }
            repeat {
                skipWhitespace()
                guard stringContent() != nil, consume(UInt8(ascii: ":")), skipValue(depth: depth + 1) else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            index += 1
            if consume(UInt8(ascii: "]")) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]"))
        case UInt8(ascii: "\""):
            return stringContent() != nil
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return keyword() != nil
        default:
            return number() != nil
        }
    }

    /// True when every byte of `bytes` is ASCII (8 at a time): such text is valid UTF-8 as it
    /// stands, with nothing for `String(decoding:)` to repair.
    package static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        var high: UInt64 = 0
        while index + 8 <= bytes.count {
            high |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            high |= UInt64(bytes[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
