import RewrapWire
import Testing

/// The proto3-JSON reader the engine decodes requests with (protojson with `DiscardUnknown`),
/// and the JSON string reader under it.
@Suite struct ProtoJSONTests {
    private static func decode(_ json: String) throws(ProtoJSONError) -> UnsignedRewrapRequest {
        try ProtoJSON.decode(UnsignedRewrapRequest.self, from: Array(json.utf8))
    }

    private static let kao = #"{"type":"wrapped","wrappedKey":"AQID","policyBinding":{"alg":"HS256","hash":"aGFzaA=="}}"#

    @Test func jsonAndProtoNamesReadTheSameField() throws {
        let camel = try Self.decode(#"{"clientPublicKey":"pem","requests":[{"keyAccessObjects":[{"keyAccessObjectId":"kao-0","keyAccessObject":\#(Self.kao)}],"policy":{"id":"p","body":"b"}}]}"#)
        let snake = try Self.decode(#"{"client_public_key":"pem","requests":[{"key_access_objects":[{"key_access_object_id":"kao-0","key_access_object":\#(Self.kao)}],"policy":{"id":"p","body":"b"}}]}"#)
        #expect(camel == snake)
        #expect(camel.clientPublicKey == "pem")
        let kao = try #require(camel.requests.first?.keyAccessObjects.first?.keyAccessObject)
        #expect(kao.wrappedKey == [1, 2, 3])
        #expect(kao.policyBinding == PolicyBinding(algorithm: "HS256", hash: "aGFzaA=="))
    }

    /// protojson refuses a field given twice, also under its two names; the old Foundation
    /// decoder silently took one of them.
    @Test func aFieldGivenTwiceIsRefused() {
        for json in [
            #"{"clientPublicKey":"a","clientPublicKey":"b","requests":[]}"#,
            #"{"clientPublicKey":"a","client_public_key":"b","requests":[]}"#,
            #"{"clientPublicKey":"a","requests":[{"keyAccessObjects":[{"keyAccessObject":{"type":"wrapped","kid":"x","kid":"y"}}]}]}"#,
        ] {
            #expect(throws: ProtoJSONError.self, "\(json)") { _ = try Self.decode(json) }
        }
    }

    @Test func nullIsTheDefaultAndWrongTypesAreRefused() throws {
        let request = try Self.decode(#"{"clientPublicKey":null,"requests":null,"keyAccess":null,"algorithm":null}"#)
        #expect(request == UnsignedRewrapRequest(clientPublicKey: "", requests: []))
        for json in [
            #"{"clientPublicKey":1}"#, #"{"requests":{}}"#, #"{"requests":[null]}"#, #"{"requests":["x"]}"#,
            #"{"keyAccess":"x"}"#, #"{"keyAccess":{"wrappedKey":"not base64!"}}"#, #"[]"#, #""pem""#, #"{"#,
        ] {
            #expect(throws: ProtoJSONError.self, "\(json)") { _ = try Self.decode(json) }
        }
    }

    /// Unknown members are skipped whatever their shape, but must be JSON; nothing may follow
    /// the message; an escaped name is the name it spells; nesting is bounded.
    @Test func unknownMembersAndTheDocumentAroundTheMessage() throws {
        let request = try Self.decode(#" {"x":{"a":[1,2.5e3,{"b":null}],"c":"\u00e9"},"clientPublicKey":"pem","y":[],"z":true} "#)
        #expect(request == UnsignedRewrapRequest(clientPublicKey: "pem", requests: []))
        #expect(try Self.decode(#"{"client\u0050ublicKey":"pem"}"#).clientPublicKey == "pem")
        #expect(try Self.decode(#"{"keyAccess":{"wrappedKey":"","header":null,"policyBinding":{"hash":"h"}}}"#).keyAccess
            == KeyAccess(keyType: "", protocol: "", wrappedKey: [], policyBinding: PolicyBinding(algorithm: "", hash: "h")))
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        for json in [
            #"{"x":[1,}"#, #"{"x":tru}"#, #"{"clientPublicKey":"pem"} {}"#, #"{"clientPublicKey":"pem",}"#, #"{,}"#,
            #"{"clientPublicKey" "pem"}"#, #"{"x":\#(deep)}"#, #"null"#, "",
        ] {
            #expect(throws: ProtoJSONError.self, "\(json)") { _ = try Self.decode(json) }
        }
    }

    /// A result is `permit` only with a non-null key, whatever the members' order.
    @Test func resultOutcomeWhateverTheOrder() throws {
        func result(_ json: String) throws -> KeyAccessRewrapResult? {
            try ProtoJSON.decode(RewrapResponse.self, from: Array(#"{"responses":[{"results":[\#(json)]}]}"#.utf8)).responses.first?.results.first
        }
        #expect(try result(#"{"kasWrappedKey":"AQI=","status":"permit","keyAccessObjectId":"k"}"#)
            == KeyAccessRewrapResult(keyAccessObjectId: "k", outcome: .permit(kasWrappedKey: [1, 2])))
        #expect(try result(#"{"status":"permit","kasWrappedKey":null,"error":"e"}"#)?.outcome == .fail(error: "e"))
        #expect(try result(#"{"status":"fail","error":"bad request","metadata":{"other":1,"X-Required-Obligations":["o"]}}"#)
            == KeyAccessRewrapResult(keyAccessObjectId: "", outcome: .fail(error: "bad request"), requiredObligations: ["o"]))
    }

    @Test func responsesRoundTrip() throws {
        let response = RewrapResponse(sessionPublicKey: "pem", responses: [
            PolicyRewrapResult(policyId: "p", results: [
                KeyAccessRewrapResult(keyAccessObjectId: "kao-0", outcome: .permit(kasWrappedKey: [9, 8, 7]), requiredObligations: ["o"]),
                KeyAccessRewrapResult(keyAccessObjectId: "kao-1", outcome: .fail(error: "bad request")),
            ]),
        ])
        #expect(try ProtoJSON.decode(RewrapResponse.self, from: response.jsonBytes()) == response)
    }

    // MARK: Strings (JSONValue's reader)

    private static func string(_ literal: String) -> String? {
        JSONValue.parse(Array(literal.utf8))?.stringValue
    }

    @Test func stringsWithAndWithoutEscapes() {
        #expect(Self.string(#""plain text""#) == "plain text")
        #expect(Self.string(#""""#) == "")
        #expect(Self.string(#""a\"b\\c\/d\b\f\n\r\t""#) == "a\"b\\c/d\u{8}\u{C}\n\r\t")
        #expect(Self.string(#""\u00e9\u20AC""#) == "é€")
        #expect(Self.string(#""\ud83d\ude00 pair""#) == "😀 pair")
        #expect(Self.string(#""lone \ud83d high""#) == "lone \u{FFFD} high")
        #expect(Self.string("\"é raw UTF-8 \\n after\"") == "é raw UTF-8 \n after")
        #expect(Self.string(#""\ud83d\u0041 high then not low""#) == "\u{FFFD}A high then not low")
        #expect(Self.string(#""ends in an escaped backslash \\""#) == "ends in an escaped backslash \\")
        #expect(Self.string(#""\"""#) == "\"")
        #expect(Self.string(#""pair at the end \ud83d\ude00""#) == "pair at the end 😀")
        // The SRT's requestBody: JSON inside a JSON string, every quote escaped.
        let inner = #"{"requests":[{"policy":{"id":"p"}}]}"#
        let outer = "\"" + inner.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        #expect(Self.string(outer) == inner)
    }

    @Test func malformedStringsAreRefused() {
        for literal in [
            #""unterminated"#, #""bad \x escape""#, "\"control \u{1} char\"", #""\u12""#, #""ends in \"#,
            "\"escape then control \\n\u{1F}\"", #""escaped quote, unterminated \""#, #""\ud83d\u12""#,
        ] {
            #expect(Self.string(literal) == nil, "\(literal)")
        }
    }
}
