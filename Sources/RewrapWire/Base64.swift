/// Base64 for the wire: proto3-JSON `bytes` accept the standard or URL-safe alphabet, padded or
/// not; OpenTDF's policy body and binding hash are standard base64 with padding (Go's
/// `base64.StdEncoding`, which skips CR and LF and, not being in strict mode, ignores non-zero
/// unused bits in the last group). Decoding works on UTF-8 bytes without Foundation, writing
/// into caller storage.
package enum Base64 {
    package struct Options: Sendable, Equatable {
        /// Accept `-` and `_` as well as `+` and `/`.
        package var acceptsURLSafe: Bool
        /// Require `=` padding to a multiple of four characters.
        package var requiresPadding: Bool
        /// Skip `\r` and `\n` anywhere (Go's decoder does).
        package var skipsNewlines: Bool
        /// Accept only `-` and `_` (not `+` and `/`) and no `=` at all: base64url without
        /// padding, the only encoding JOSE allows (RFC 7515 §2, §7.1).
        package var urlSafeOnlyUnpadded: Bool = false

        package init(acceptsURLSafe: Bool, requiresPadding: Bool, skipsNewlines: Bool, urlSafeOnlyUnpadded: Bool = false) {
            self.acceptsURLSafe = acceptsURLSafe
            self.requiresPadding = requiresPadding
            self.skipsNewlines = skipsNewlines
            self.urlSafeOnlyUnpadded = urlSafeOnlyUnpadded
        }

        /// proto3 JSON `bytes`: either alphabet, padding optional, CR/LF skipped (Go's decoders
        /// skip them in every mode).
        package static let protoJSON = Options(acceptsURLSafe: true, requiresPadding: false, skipsNewlines: true)
        /// Go `base64.StdEncoding.Decode`: standard alphabet, padding required, CR/LF skipped.
        package static let strictStandard = Options(acceptsURLSafe: false, requiresPadding: true, skipsNewlines: true)
        /// PEM bodies: standard alphabet, whitespace between lines.
        package static let pem = Options(acceptsURLSafe: false, requiresPadding: false, skipsNewlines: true)
        /// JOSE (RFC 7515 §2): URL-safe alphabet only, no padding, no line breaks.
        package static let base64URL = Options(
            acceptsURLSafe: true, requiresPadding: false, skipsNewlines: false, urlSafeOnlyUnpadded: true)
    }

    private static let invalid: UInt8 = 0xFF
    private static let skip: UInt8 = 0xFE

    private static let standardTable: [UInt8] = makeTable(urlSafe: false)
    private static let eitherTable: [UInt8] = makeTable(urlSafe: true)
    private static let urlOnlyTable: [UInt8] = makeTable(urlSafe: true, standard: false)

    private static func makeTable(urlSafe: Bool, standard: Bool = true) -> [UInt8] {
        var table = [UInt8](repeating: invalid, count: 256)
        for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(index)
        }
        if !standard {
            table[Int(UInt8(ascii: "+"))] = invalid
            table[Int(UInt8(ascii: "/"))] = invalid
        }
        if urlSafe {
            table[Int(UInt8(ascii: "-"))] = 62
            table[Int(UInt8(ascii: "_"))] = 63
        }
        return table
    }

    /// Upper bound on the decoded size of `count` characters.
    @inlinable
    package static func maxDecodedCount(_ count: Int) -> Int { (count / 4) * 3 + 3 }

    /// Decodes `input` into `output` (at least `maxDecodedCount(input.count)` bytes); returns
    /// the number of bytes written, or nil if the text is not valid under `options`.
    package static func decode(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, options: Options
    ) -> Int? {
        let table = options.urlSafeOnlyUnpadded ? urlOnlyTable : options.acceptsURLSafe ? eitherTable : standardTable
        return table.withUnsafeBufferPointer { table -> Int? in
            var accumulator: UInt32 = 0
            var sextets = 0
            var written = 0
            var padding = 0
            var characters = 0
            // Whole quads of alphabet characters, four table lookups and one test each (valid
            // values are below 64; `invalid` and `skip` have the top bits set): the usual input,
            // an SRT's 80 KB payload among it, is nothing else. The first quad holding a
            // newline, `=` or a stranger falls through to the byte-at-a-time loop below, which
            // starts there with an empty accumulator.
            var index = 0
            while index + 4 <= input.count {
                let a = table[Int(input[index])], b = table[Int(input[index + 1])]
                let c = table[Int(input[index + 2])], d = table[Int(input[index + 3])]
                guard (a | b | c | d) & 0xC0 == 0, written + 3 <= output.count else { break }
                let quad = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                output[written] = UInt8(truncatingIfNeeded: quad >> 16)
                output[written + 1] = UInt8(truncatingIfNeeded: quad >> 8)
                output[written + 2] = UInt8(truncatingIfNeeded: quad)
                written += 3
                characters += 4
                index += 4
            }
            for byte in UnsafeRawBufferPointer(rebasing: input[index...]) {
                if options.skipsNewlines, byte == 0x0A || byte == 0x0D { continue }
                if byte == UInt8(ascii: "=") {
                    if options.urlSafeOnlyUnpadded { return nil }
                    padding += 1
                    characters += 1
                    continue
                }
                if padding > 0 { return nil }  // data after padding
                let value = table[Int(byte)]
                if value == invalid { return nil }
                characters += 1
                accumulator = (accumulator << 6) | UInt32(value)
                sextets += 1
                if sextets == 4 {
                    guard written + 3 <= output.count else { return nil }
                    output[written] = UInt8(truncatingIfNeeded: accumulator >> 16)
                    output[written + 1] = UInt8(truncatingIfNeeded: accumulator >> 8)
                    output[written + 2] = UInt8(truncatingIfNeeded: accumulator)
                    written += 3
                    accumulator = 0
                    sextets = 0
                }
            }
            if padding > 2 { return nil }
            if options.requiresPadding, characters % 4 != 0 { return nil }
            if padding > 0, characters % 4 != 0 { return nil }
            switch sextets {
            case 0:
                if padding != 0 { return nil }
            case 2:
                guard padding == 0 || padding == 2, written + 1 <= output.count else { return nil }
                output[written] = UInt8(truncatingIfNeeded: accumulator >> 4)
                written += 1
            case 3:
                guard padding == 0 || padding == 1, written + 2 <= output.count else { return nil }
                output[written] = UInt8(truncatingIfNeeded: accumulator >> 10)
                output[written + 1] = UInt8(truncatingIfNeeded: accumulator >> 2)
                written += 2
            default:
                return nil
            }
            return written
        }
    }

    /// Decodes into a new array, or nil.
    package static func decode<Text: StringProtocol>(_ text: Text, options: Options) -> [UInt8]? {
        var text = String(text)
        return text.withUTF8 { utf8 in decode(UnsafeRawBufferPointer(utf8), options: options) }
    }

    package static func decode(_ input: UnsafeRawBufferPointer, options: Options) -> [UInt8]? {
        var failed = false
        let result = [UInt8](unsafeUninitializedCapacity: maxDecodedCount(input.count)) { buffer, count in
            if let written = decode(input, into: UnsafeMutableRawBufferPointer(buffer), options: options) {
                count = written
            } else {
                count = 0
                failed = true
            }
        }
        return failed ? nil : result
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    @inlinable
    package static func encodedCount(_ count: Int) -> Int { ((count + 2) / 3) * 4 }

    /// Standard alphabet, padded (what Go's `base64.StdEncoding` and protojson emit).
    package static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= encodedCount(input.count), "base64 output too small")
        alphabet.withUnsafeBufferPointer { alphabet in
            var out = 0
            var index = 0
            let count = input.count
            while index + 3 <= count {
                let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                output[out] = alphabet[Int(value >> 18 & 63)]
                output[out + 1] = alphabet[Int(value >> 12 & 63)]
                output[out + 2] = alphabet[Int(value >> 6 & 63)]
                output[out + 3] = alphabet[Int(value & 63)]
                index += 3
                out += 4
            }
            let remaining = count - index
            if remaining > 0 {
                var value = UInt32(input[index]) << 16
                if remaining == 2 { value |= UInt32(input[index + 1]) << 8 }
                output[out] = alphabet[Int(value >> 18 & 63)]
                output[out + 1] = alphabet[Int(value >> 12 & 63)]
                output[out + 2] = remaining == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "=")
                output[out + 3] = UInt8(ascii: "=")
            }
        }
    }

    package static func encode(_ input: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: encodedCount(input.count)) { buffer in
            encode(input, into: UnsafeMutableRawBufferPointer(buffer))
            return encodedCount(input.count)
        }
    }

    package static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// Characters of the unpadded encoding of `count` bytes.
    @inlinable
    package static func unpaddedCount(_ count: Int) -> Int { (count * 4 + 2) / 3 }

    /// base64url without padding (RFC 7515 §2, RFC 4648 §5): the standard encoding with `+/`
    /// mapped to `-_` and the `=` dropped.
    package static func encodeURL(_ input: UnsafeRawBufferPointer) -> String {
        let padded = encodedCount(input.count)
        let unpadded = unpaddedCount(input.count)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Swift.max(padded, 1)) { scratch in
            let scratch = UnsafeMutableRawBufferPointer(scratch)
            encode(input, into: scratch)
            for index in 0..<unpadded {
                if scratch[index] == UInt8(ascii: "+") { scratch[index] = UInt8(ascii: "-") }
                else if scratch[index] == UInt8(ascii: "/") { scratch[index] = UInt8(ascii: "_") }
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: scratch[0..<unpadded]), as: UTF8.self)
        }
    }

    package static func encodeURL<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        Array(bytes).withUnsafeBytes { encodeURL($0) }
    }
}
