import Foundation
@testable import RewrapClient
import RewrapEngine
import RewrapWire
import Testing

/// The one JSON writer in each of its uses: every output pinned, byte for byte, to what the
/// writer it replaced produced (the response encoder's own loop, the manifest's `GoJSON`,
/// `JSONEncoder` for the policy, string replacement for the Connect envelope), for strings with
/// quotes, backslashes, control characters, `/`, `<>&`, U+2028/U+2029, DEL and non-ASCII.
@Suite struct JSONWriterTests {
    static let tricky = "q\"b\\s/n\nr\rt\tc\u{1}b\u{8}f\u{C}u\u{1F}d\u{7F}<>&\u{2028}\u{2029}é😀"

    // Outputs of the writers before the merge, run on `tricky`.
    static let minimalTricky = "\"q\\\"b\\\\s/n\\nr\\rt\\tc\\u0001b\\u0008f\\u000cu\\u001fd\u{7F}<>&\u{2028}\u{2029}é😀\""
    static let goTricky = "\"q\\\"b\\\\s/n\\nr\\rt\\tc\\u0001b\\u0008f\\u000cu\\u001fd\u{7F}\\u003c\\u003e\\u0026\\u2028\\u2029é😀\""
    static let foundationTricky = "\"q\\\"b\\\\s\\/n\\nr\\rt\\tc\\u0001b\\bf\\fu\\u001fd\u{7F}<>&\u{2028}\u{2029}é😀\""

    @Test func escapingModes() {
        #expect(JSONWriter.quoted(Self.tricky, escaping: .minimal) == Self.minimalTricky)
        #expect(JSONWriter.quoted(Self.tricky, escaping: .goHTMLSafe) == Self.goTricky)
        #expect(JSONWriter.quoted(Self.tricky, escaping: .foundation) == Self.foundationTricky)
        for mode in [JSONWriter.Escaping.minimal, .goHTMLSafe, .foundation] {
            #expect(JSONWriter.quoted("", escaping: mode) == "\"\"")
            // A lone E2 80 prefix that is not U+2028/2029 (U+2020 †) passes through.
            #expect(JSONWriter.quoted("†\u{2027}", escaping: mode) == "\"†\u{2027}\"")
        }
    }

    /// `.foundation` is exactly `JSONEncoder`'s default string escaping (the policy's old writer).
    @Test func foundationModeIsJSONEncoder() throws {
        var every = ""
        for value in 0..<0x80 { every.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        for text in [Self.tricky, every, "\u{2028}\u{2029}\u{FEFF}\u{10FFFF}"] {
            let encoded = String(decoding: try JSONEncoder().encode(text), as: UTF8.self)
            #expect(JSONWriter.quoted(text, escaping: .foundation) == encoded)
        }
    }

    /// The response encoder (protojson output): every string field escaped minimally.
    @Test func responseEncoderOutput() {
        let response = RewrapResponse(sessionPublicKey: Self.tricky, responses: [
            PolicyRewrapResult(policyId: Self.tricky, results: [
                KeyAccessRewrapResult(keyAccessObjectId: Self.tricky, outcome: .fail(error: Self.tricky),
                                      requiredObligations: [Self.tricky, "o"]),
                KeyAccessRewrapResult(keyAccessObjectId: "k", outcome: .permit(kasWrappedKey: [0xFB, 0xFF, 0x01])),
            ]),
        ])
        let m = Self.minimalTricky
        let expected = "{\"sessionPublicKey\":\(m),\"responses\":[{\"policyId\":\(m),\"results\":["
            + "{\"metadata\":{\"X-Required-Obligations\":[\(m),\"o\"]},\"keyAccessObjectId\":\(m),\"status\":\"fail\",\"error\":\(m)},"
            + "{\"metadata\":{\"X-Required-Obligations\":[]},\"keyAccessObjectId\":\"k\",\"status\":\"permit\",\"kasWrappedKey\":\"+/8B\"}]}]}"
        #expect(String(decoding: response.jsonBytes(), as: UTF8.self) == expected)
    }

    /// The manifest, as `GoJSON` wrote it: field order, `omitempty`, null binding, HTML-safe
    /// escaping in every string, and `schemaVersion` only for raw integrity values.
    @Test func manifestOutput() {
        let kaos = [
            KeyAccess(keyType: "wrapped", kasURL: "https://kas.example/a?b=<c>&d", kid: "r1", wrappedKey: [1, 2, 3, 4],
                      policyBinding: PolicyBinding(algorithm: "HS256", hash: "aGFzaA==")),
            KeyAccess(keyType: "ec-wrapped", kasURL: "http://localhost:8080", splitID: "s\u{2028}1", wrappedKey: [255, 254],
                      policyBinding: nil, ephemeralPublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                      encryptedMetadata: "meta\"data"),
        ]
        let body = #"{"encryptionInformation":{"type":"split","policy":"eyJ1dWlkIjoi","keyAccess":[{"type":"wrapped","url":"https://kas.example/a?b=\u003cc\u003e\u0026d","protocol":"kas","wrappedKey":"AQIDBA==","policyBinding":{"alg":"HS256","hash":"aGFzaA=="},"kid":"r1","schemaVersion":"1.0"},{"type":"ec-wrapped","url":"http://localhost:8080","protocol":"kas","wrappedKey":"//4=","policyBinding":null,"encryptedMetadata":"meta\"data","sid":"s\u20281","schemaVersion":"1.0","ephemeralPublicKey":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}],"method":{"algorithm":"AES-256-GCM","iv":"","isStreamable":true},"integrityInformation":{"rootSignature":{"alg":"HS256","sig":"CQgH"},"segmentHashAlg":"GMAC","segmentSizeDefault":10,"encryptedSegmentSizeDefault":38,"segments":[{"hash":"AQE=","segmentSize":10,"encryptedSegmentSize":38},{"hash":"AgIC","segmentSize":3,"encryptedSegmentSize":31}]}},"payload":{"type":"reference","url":"0.payload","protocol":"zip","mimeType":"application/octet-stream","isEncrypted":true}"#
        for (encoding, tail) in [(TDFArchive.IntegrityEncoding.raw, #","schemaVersion":"4.3.0"}"#), (.legacyHex, "}")] {
            let manifest = TDFArchive.manifestJSON(
                policyBase64: "eyJ1dWlkIjoi", keyAccess: kaos, rootSignature: [9, 8, 7],
                segments: [([1, 1], 10), ([2, 2, 2], 3)], segmentSize: 10, encoding: encoding)
            #expect(String(decoding: manifest, as: UTF8.self) == body + tail)
        }
    }

    /// The policy JSON, as it was written with `JSONEncoder` per string.
    @Test func policyOutput() {
        #expect(TDFWriter.policyJSON(uuid: "u-1", attributes: [])
            == #"{"uuid":"u-1","body":{"dataAttributes":null,"dissem":null}}"#)
        let f = Self.foundationTricky
        #expect(TDFWriter.policyJSON(uuid: "u/\"1", attributes: ["https://example.com/attr/a/value/b", Self.tricky])
            == #"{"uuid":"u\/\"1","body":{"dataAttributes":[{"attribute":"https:\/\/example.com\/attr\/a\/value\/b","displayName":"","isDefault":false,"pubKey":"","kasURL":""},{"attribute":"#
            + f + #","displayName":"","isDefault":false,"pubKey":"","kasURL":""}],"dissem":[]}}"#)
    }

    /// The Connect envelope: byte-identical to the old string replacement wherever that made
    /// JSON, and valid JSON (which the old output was not) for other control characters.
    @Test func connectEnvelopeOutput() throws {
        let safe = RewrapRequestError(.invalidArgument, "q\"b\\s/n\nd<>&\u{2028}é😀")
        #expect(safe.connectJSON == "{\"code\":\"invalid_argument\",\"message\":\"request error\\nrpc error: code = InvalidArgument desc = q\\\"b\\\\s/n\\nd<>&\u{2028}é😀\"}")
        let control = RewrapRequestError(.resourceExhausted, Self.tricky)
        let parsed = try JSONSerialization.jsonObject(with: Data(control.connectJSON.utf8)) as? [String: String]
        #expect(parsed == ["code": "resource_exhausted", "message": control.message])
    }
}
