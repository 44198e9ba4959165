/// Hex as OpenTDF uses it: the policy binding is base64 of the lowercase hex of the HMAC, and
/// root keys are configured as hex.
package enum Hex {
    /// The value of one hex digit (either case), or nil.
    @inlinable
    package static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Decodes the hex digits `buffer[0..<count]` into `buffer[0..<count/2]`; false (buffer
    /// untouched) if any character is not a hex digit or `count` is odd.
    package static func decodeInPlace(_ buffer: UnsafeMutableRawBufferPointer, count: Int) -> Bool {
        guard count % 2 == 0, count <= buffer.count else { return false }
        for index in 0..<count where value(of: buffer[index]) == nil { return false }
        for index in 0..<(count / 2) {
            buffer[index] = value(of: buffer[2 * index])! << 4 | value(of: buffer[2 * index + 1])!
        }
        return true
    }

    /// The lowercase hex digit (UTF-8) of `nibble` (0…15): computed, no table to load.
    @inlinable
    package static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }

    /// Lowercase hex digits of `bytes`, as UTF-8.
    package static func lowercase(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digit(byte >> 4))
            out.append(digit(byte & 0xF))
        }
        return out
    }

    /// Lowercase hex text of `bytes` (root keys, test vectors).
    package static func lowercaseString(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.withUnsafeBytes { lowercase($0) }, as: UTF8.self)
    }
}
