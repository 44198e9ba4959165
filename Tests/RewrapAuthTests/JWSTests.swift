import RewrapAuth
import RewrapWire
import Testing

/// CompactJWS: RFC 7515 §7.1 form and the input bounds.
@Suite struct JWSTests {
    static let header = Base64.encodeURL(Array(#"{"alg":"RS256"}"#.utf8))
    static let claims = Base64.encodeURL(Array(#"{"sub":"x"}"#.utf8))

    @Test func form() throws {
        let jws = try CompactJWS(parsing: "\(Self.header).\(Self.claims).AAAA")
        #expect(jws.algorithmName == "RS256")
        #expect(jws.signature == [0, 0, 0])
        for bad in ["\(Self.header).\(Self.claims)", "\(Self.header).\(Self.claims).AA.AA", "\(Self.header)=.\(Self.claims).AA",
                    "\(Self.header).\(Self.claims).A+A", Base64.encodeURL(Array("[1]".utf8)) + ".\(Self.claims).AA",
                    "\(Self.header).\(Base64.encodeURL(Array("\"s\"".utf8))).AA",
                    Base64.encodeURL(Array(#"{"alg":"RS256","crit":["b64"]}"#.utf8)) + ".\(Self.claims).AA"] {
            #expect(throws: JWSError.self, "\(bad)") { try CompactJWS(parsing: bad) }
        }
    }

    @Test func bounds() throws {
        let deep = Base64.encodeURL(Array((#"{"a":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}").utf8))
        #expect(throws: JWSError.malformed("payload is not a JSON object")) { try CompactJWS(parsing: "\(Self.header).\(deep).AA") }
        let long = "\(Self.header).\(Self.claims)." + String(repeating: "A", count: 100)
        #expect(throws: JWSError.tooLarge(limit: 64)) { try CompactJWS(parsing: long, maxLength: 64) }
    }
}
