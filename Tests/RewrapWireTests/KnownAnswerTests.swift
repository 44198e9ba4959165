import RewrapWire
import Testing

/// The wire decoders against the spec's golden values.
@Suite struct KnownAnswerTests {
    /// Lowercase hex, written out here so this target needs no test support (and no crypto).
    static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
    }

    /// Spec §1.2: the golden manifest hash is base64 of the lowercase hex of HMAC
    /// 1949d4f5…6ddd12; our decoder must turn it into those 32 bytes and our encoder back.
    @Test func bindingFormOfTheSpecGolden() throws {
        let manifestHash = "MTk0OWQ0ZjUwYWY5YzE1ZDM1NWVkZjE5YTQ5MGM1N2M3ZmZmZjUzYjk5MTJiZWU4NTFhYzlhNjdmZTZkZGQxMg=="
        #expect(manifestHash.count == 88)
        let decoded = try #require(Base64.decode(manifestHash, options: .strictStandard))
        #expect(decoded.count == 64)
        var buffer = decoded
        let ok = buffer.withUnsafeMutableBytes { Hex.decodeInPlace($0, count: 64) }
        #expect(ok)
        let mac = Array(buffer[0..<32])
        #expect(Self.hexString(mac).hasPrefix("1949d4f5"))
        #expect(Self.hexString(mac).hasSuffix("6ddd12"))
        #expect(Base64.encode(Array(Self.hexString(mac).utf8)) == manifestHash)
    }
}
