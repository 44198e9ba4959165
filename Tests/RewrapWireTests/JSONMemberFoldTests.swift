import RewrapWire
import Testing

/// `JSONValue.member` is Go's field lookup (`strings.EqualFold`, last match wins): the ASCII fast
/// path and the Unicode folds must agree with it.
@Suite struct JSONMemberFoldTests {
    static func member(_ json: String, _ name: String) -> JSONValue? {
        JSONValue.parse(Array(json.utf8))?.member(name)
    }

    @Test func asciiNamesFoldCaseOnlyOnLetters() {
        #expect(Self.member(#"{"Policy":1,"POLICY":2}"#, "policy") == .number("2"))
        #expect(Self.member(#"{"x":1}"#, "X") == .number("1"))
        #expect(Self.member(#"{"a_b":1}"#, "A_B") == .number("1"))
        // '@' and '`' differ only in the bit a letter's case uses: not a fold.
        #expect(Self.member(#"{"kid@":1}"#, "kid`") == nil)
        #expect(Self.member(#"{"kid[":1}"#, "KID{") == nil)
        #expect(Self.member(#"{"kid":1}"#, "kids") == nil)
    }

    @Test func unicodeFoldsReachASCIINames() {
        // ſ (U+017F) folds to s, the Kelvin sign (U+212A) to k, as in Go.
        #expect(Self.member("{\"\u{17F}tatus\":1}", "status") == .number("1"))
        #expect(Self.member("{\"\u{212A}id\":7}", "kid") == .number("7"))
        #expect(Self.member("{\"Ä\":3}", "ä") == .number("3"))
        // Dotless ı has no simple fold to i.
        #expect(Self.member(#"{"kid":1}"#, "k\u{131}d") == nil)
    }
}
