import RewrapWire
import Testing

/// The word-at-a-time paths of the base64 decoder (whole quads) and the JSON string reader (8
/// bytes at a time): every special byte at every offset around the word boundaries must be
/// seen exactly as the byte-at-a-time paths see it.
@Suite struct ScanFastPathTests {
    private static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    @Test func base64RoundTripsEveryLengthAndDialect() {
        for count in 0..<70 {
            let plain = Self.bytes(count, seed: UInt64(count) + 1)
            let padded = Base64.encode(plain)
            let url = Base64.encodeURL(plain)
            #expect(Base64.decode(padded, options: .strictStandard) == plain, "\(count)")
            #expect(Base64.decode(padded, options: .protoJSON) == plain, "\(count)")
            #expect(Base64.decode(url, options: .protoJSON) == plain, "\(count)")
            #expect(Base64.decode(url, options: .base64URL) == plain, "\(count)")
        }
    }

    @Test func base64SeesEveryStrangerAtEveryOffset() {
        let plain = Self.bytes(30, seed: 7)
        let text = Array(Base64.encode(plain).utf8)  // 40 characters, no padding
        for offset in 0..<text.count {
            var broken = text
            broken[offset] = UInt8(ascii: "*")
            #expect(Base64.decode(String(decoding: broken, as: UTF8.self), options: .protoJSON) == nil, "* at \(offset)")
            var padded = text
            padded[offset] = UInt8(ascii: "=")
            if offset < text.count - 2 {
                #expect(Base64.decode(String(decoding: padded, as: UTF8.self), options: .protoJSON) == nil, "= at \(offset)")
            }
            var wrapped = text
            wrapped.insert(0x0A, at: offset)
            #expect(Base64.decode(String(decoding: wrapped, as: UTF8.self), options: .protoJSON) == plain, "newline at \(offset)")
            #expect(Base64.decode(String(decoding: wrapped, as: UTF8.self), options: .base64URL) == nil, "newline at \(offset), JOSE")
            var standard = Array(Base64.encodeURL(plain).utf8)
            standard[offset] = UInt8(ascii: "+")
            #expect(Base64.decode(String(decoding: standard, as: UTF8.self), options: .base64URL) == nil, "+ at \(offset), JOSE")
        }
    }

    /// Strings of every length up to 40 with one special at every position: an escape reads
    /// as its character, a raw control byte refuses the document, a quote ends the string.
    @Test func jsonStringsSeeEverySpecialAtEveryOffset() {
        let escapes: [(text: String, value: String)] = [(#"\""#, "\""), (#"\\"#, "\\"), (#"\n"#, "\n"), (#"\u00e9"#, "é")]
        for length in 0..<40 {
            let plain = String(repeating: "a", count: length)
            #expect(JSONValue.parse(Array("\"\(plain)\"".utf8)) == .string(plain))
            for position in 0...length {
                let prefix = String(plain.prefix(position)), suffix = String(plain.dropFirst(position))
                for escape in escapes {
                    let json = "\"" + prefix + escape.text + suffix + "\""
                    #expect(JSONValue.parse(Array(json.utf8)) == .string(prefix + escape.value + suffix), "\(json)")
                }
                var raw = Array(("\"" + prefix + "x" + suffix + "\"").utf8)
                raw[1 + position] = 0x09
                #expect(JSONValue.parse(raw) == nil, "raw tab at \(position) of \(length)")
                let multibyte = "\"" + prefix + "é" + suffix + "\""
                #expect(JSONValue.parse(Array(multibyte.utf8)) == .string(prefix + "é" + suffix))
                let early = Array(("\"" + prefix + "\"" + suffix + "\"").utf8)
                #expect(JSONValue.parse(early) == nil, "a quote ends the string; what follows is not JSON")
            }
        }
    }
}
