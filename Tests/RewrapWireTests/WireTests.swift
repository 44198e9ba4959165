import Foundation
import RewrapWire
import Testing

/// The response model's JSON (spec §4.1) and the base64 dialects (protojson `bytes` vs Go's
/// strict `StdEncoding`).
@Suite struct WireTests {
    /// The client-side decoder also reads proto field names.
    @Test func responseDecoderAcceptsProtoNames() throws {
        let json = Array("""
            {"session_public_key":"PEM","responses":[{"policy_id":"p","results":[
              {"metadata":{"X-Required-Obligations":["o1","o2"]},"key_access_object_id":"k","status":"permit","kas_wrapped_key":"AQID"},
              {"key_access_object_id":"f","status":"fail","error":"boom"}]}]}
            """.utf8)
        let response = try ProtoJSON.decode(RewrapResponse.self, from: json)
        #expect(response.sessionPublicKey == "PEM")
        #expect(response.result(policyID: "p", keyAccessObjectID: "k")?.kasWrappedKey == [1, 2, 3])
        #expect(response.result(policyID: "p", keyAccessObjectID: "k")?.requiredObligations == ["o1", "o2"])
        #expect(response.result(policyID: "p", keyAccessObjectID: "f")?.error == "boom")
    }

    /// `jsonBytes()` → `ProtoJSON.decode` is the identity on responses.
    @Test func responseJSONRoundTrips() throws {
        let response = RewrapResponse(sessionPublicKey: "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n", responses: [
            .init(policyId: "a", results: [
                .init(keyAccessObjectId: "k0", outcome: .permit(kasWrappedKey: Array(0...255)), requiredObligations: ["x", "y\"z"]),
                .init(keyAccessObjectId: "k1", outcome: .fail(error: "line1\nline2\t\\end"), requiredObligations: []),
            ]),
            .init(policyId: "b", results: []),
        ])
        #expect(try ProtoJSON.decode(RewrapResponse.self, from: response.jsonBytes()) == response)
    }

    // MARK: Base64 dialects

    @Test func strictStandardRejectsURLSafeAndMissingPadding() {
        #expect(Base64.decode("QQ==", options: .strictStandard) == [0x41])
        #expect(Base64.decode("QUE=", options: .strictStandard) == [0x41, 0x41])
        #expect(Base64.decode("+/+/", options: .strictStandard) == [0xFB, 0xFF, 0xBF])
        for bad in ["QQ", "QUE", "-_-_", "+/-_", "QQ=", "Q===", "QQ==QQ==", "QQ= =", "Q", "QUFB QUFB", "QUFB\t"] {
            #expect(Base64.decode(bad, options: .strictStandard) == nil, "\(bad.debugDescription)")
        }
        // Go's StdEncoding skips CR and LF anywhere.
        #expect(Base64.decode("QU\r\nFB\nQQ==\n", options: .strictStandard) == Array("AAAA".utf8))
    }

    @Test func protoJSONAcceptsBothAlphabetsPaddedOrNot() {
        for text in ["+/+/", "-_-_", "+/-_"] {
            #expect(Base64.decode(text, options: .protoJSON) == [0xFB, 0xFF, 0xBF], "\(text)")
        }
        for text in ["QQ==", "QQ"] { #expect(Base64.decode(text, options: .protoJSON) == [0x41], "\(text)") }
        for text in ["QUE=", "QUE"] { #expect(Base64.decode(text, options: .protoJSON) == [0x41, 0x41], "\(text)") }
        for bad in ["Q", "QQ=", "Q===", "QQ==QQ==", "QQ =", "*QQ="] {
            #expect(Base64.decode(bad, options: .protoJSON) == nil, "\(bad.debugDescription)")
        }
        #expect(Base64.decode("", options: .protoJSON) == [])
        #expect(Base64.decode("", options: .strictStandard) == [])
    }

    /// Like Go's non-strict decoders, the unused low bits of a final partial group are ignored.
    @Test func nonCanonicalTrailingBitsAreIgnoredLikeGo() {
        for options in [Base64.Options.strictStandard, .protoJSON, .pem] {
            #expect(Base64.decode("QQ==", options: options) == [0x41])
            for (text, bytes) in [("QR==", [UInt8(0x41)]), ("QX==", [0x41]), ("QUF=", [0x41, 0x41]), ("QUH=", [0x41, 0x41])] {
                #expect(Base64.decode(text, options: options) == bytes, "\(text) \(options)")
            }
        }
        #expect(Base64.decode("QR", options: .protoJSON) == [0x41])
        #expect(Base64.decode("QUF", options: .protoJSON) == [0x41, 0x41])
    }

    /// RFC 4648 §10 test vectors, and round trips for every length up to 64 under every dialect.
    @Test func encodeMatchesRFC4648AndRoundTrips() throws {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded, options: .strictStandard) == Array(plain.utf8))
        }
        for count in 0...64 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255) }
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == Base64.encodedCount(count))
            #expect(text.utf8.count % 4 == 0)
            for options in [Base64.Options.strictStandard, .protoJSON, .pem] {
                #expect(Base64.decode(text, options: options) == bytes, "\(count) \(options)")
            }
            #expect(Base64.maxDecodedCount(text.utf8.count) >= count)
        }
    }

    /// `decode(_:into:)` never writes past the given output, and fails instead.
    @Test func decodeIntoTooSmallOutputFails() {
        let input = Array("QUFBQUFB".utf8)
        var output = [UInt8](repeating: 0xEE, count: 8)
        let tooSmall = input.withUnsafeBytes { text in
            output.withUnsafeMutableBytes { out in
                Base64.decode(text, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<5]), options: .strictStandard)
            }
        }
        #expect(tooSmall == nil)
        #expect(output[5...].allSatisfy { $0 == 0xEE })
        let fits = input.withUnsafeBytes { text in
            output.withUnsafeMutableBytes { out in
                Base64.decode(text, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<6]), options: .strictStandard)
            }
        }
        #expect(fits == 6)
        #expect(Array(output[0..<6]) == Array("AAAAAA".utf8))
        #expect(output[6...].allSatisfy { $0 == 0xEE })
    }
}
