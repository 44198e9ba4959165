/// Appends JSON tokens to one growing byte buffer: the response encoder's only allocation, and
/// the one JSON writer of the package (the TDF manifest, the policy JSON and the Connect error
/// envelope are written with it too, each with the string escaping its peer expects).
package struct JSONWriter {
    /// Which characters of a string are escaped. Every mode escapes what RFC 8259 requires; the
    /// others add what a particular encoder escapes, so output stays byte-identical to it.
    package enum Escaping: Sendable {
        /// `"` `\` and control characters only (`\n` `\r` `\t` short, the rest `\u00XX`):
        /// protojson's output for the response, and the Connect error envelope.
        case minimal
        /// Go's `encoding/json` as the Go SDK writes manifests (HTML-safe): `minimal` plus `<`
        /// `>` `&` U+2028 U+2029 as `\u003c` `\u003e` `\u0026` `\u2028` `\u2029`.
        case goHTMLSafe
        /// Foundation's `JSONEncoder` with default options: `minimal` plus `/` as `\/` and
        /// backspace and form feed as `\b` `\f`.
        case foundation
    }

    package private(set) var bytes: [UInt8]
    package let escaping: Escaping

    package init(capacity: Int, escaping: Escaping = .minimal) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.escaping = escaping
    }

    package mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends text that is already JSON (a serialized JWK), unchanged; the caller vouches for it.
    package mutating func appendRaw(_ json: String) {
        bytes.append(contentsOf: json.utf8)
    }

    /// A quoted key and `:`; the name is written as is (a literal needs no escaping).
    package mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    package mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    package mutating func number(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
    }

    package mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// A quoted string, escaped as `escaping` says. The mode is checked once per string; the
    /// `minimal` loop (the response encoder's) copies unescaped runs whole and allocates nothing
    /// beyond the buffer's growth.
    package mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            if escaping == .minimal {
                appendMinimallyEscaped(utf8)
            } else {
                appendEscaped(utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A quoted standard padded base64 of `value` (no character of it needs escaping).
    package mutating func base64(_ value: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        let start = bytes.count
        let length = Base64.encodedCount(value.count)
        bytes.append(contentsOf: repeatElement(0, count: length))
        bytes.withUnsafeMutableBytes { output in
            value.withUnsafeBytes { input in
                Base64.encode(input, into: UnsafeMutableRawBufferPointer(rebasing: output[start..<(start + length)]))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `value` as one JSON string literal, quotes included.
    package static func quoted(_ value: String, escaping: Escaping) -> String {
        var writer = JSONWriter(capacity: value.utf8.count + 2, escaping: escaping)
        writer.string(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    // MARK: Escaping

    private mutating func appendMinimallyEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            runStart = index + 1
            appendEscape(byte)
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }

    /// The `goHTMLSafe` and `foundation` modes: not on the response path, so clarity over speed.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            switch (escaping, byte) {
            case (.goHTMLSafe, UInt8(ascii: "<")), (.goHTMLSafe, UInt8(ascii: ">")), (.goHTMLSafe, UInt8(ascii: "&")):
                appendUnicodeEscape(UInt16(byte))
            case (.goHTMLSafe, 0xE2) where index + 2 < utf8.count && utf8[index + 1] == 0x80
                && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                // U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (UTF-8 E2 80 A8/A9).
                appendUnicodeEscape(0x2000 | UInt16(utf8[index + 2] - 0x80))
                index += 2
            case (.foundation, UInt8(ascii: "/")): raw("\\/")
            case (.foundation, 0x08): raw("\\b")
            case (.foundation, 0x0C): raw("\\f")
            default:
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    appendEscape(byte)
                } else {
                    bytes.append(byte)
                }
            }
            index += 1
        }
    }

    /// What every mode does with `"`, `\` and a control character.
    private mutating func appendEscape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        default: appendUnicodeEscape(UInt16(byte))
        }
    }

    /// `\uXXXX`, lowercase hex, as Go and Foundation write it.
    private mutating func appendUnicodeEscape(_ value: UInt16) {
        raw("\\u")
        bytes.append(Hex.digit(UInt8(value >> 12)))
        bytes.append(Hex.digit(UInt8(value >> 8 & 0xF)))
        bytes.append(Hex.digit(UInt8(value >> 4 & 0xF)))
        bytes.append(Hex.digit(UInt8(value & 0xF)))
    }
}
