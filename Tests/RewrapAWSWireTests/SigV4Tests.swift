import Foundation
import RewrapAWSWire
import Testing

/// AWS's published SigV4 test-suite vectors (credentials AKIDEXAMPLE, 2015-08-30, us-east-1,
/// service "service").
@Suite struct SigV4Tests {
    static let signer = SigV4(credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                              region: "us-east-1", service: "service")
    static let baseHeaders = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]

    @Test(arguments: [
        ("get-vanilla", "GET", [(String, String)](), "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("get-vanilla-query-order-key-case", "GET", [("Param2", "value2"), ("Param1", "value1")],
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("post-vanilla", "POST", [], "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ])
    func awsTestSuite(name: String, method: String, query: [(String, String)], signature: String) {
        let request = SigV4.Request(method: method, path: "/", query: query, headers: Self.baseHeaders, body: [])
        #expect(Self.signer.authorization(for: request) ==
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(signature)",
                "\(name)")
    }

    @Test func verifyAcceptsItsOwnSignaturesAndRejectsTampering() throws {
        let signer = SigV4(credentials: .init(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1", service: "kms")
        let now = Date()
        let body = Array(#"{"KeyId":"k"}"#.utf8)
        let headers = signer.signedHeaders(method: "POST", path: "/", headers: [("Host", "localhost"), ("X-Amz-Target", "TrentService.Decrypt")],
                                           body: body, date: now)
        try signer.verify(SigV4.Request(method: "POST", headers: headers, body: body), now: now)
        #expect(throws: SigV4.VerificationError.signatureDoesNotMatch) {
            try signer.verify(SigV4.Request(method: "POST", headers: headers, body: body + [0x20]), now: now)
        }
        #expect(throws: SigV4.VerificationError.requestExpired) {
            try signer.verify(SigV4.Request(method: "POST", headers: headers, body: body), now: now.addingTimeInterval(16 * 60))
        }
        let other = SigV4(credentials: .init(accessKeyID: "OTHER", secretAccessKey: "secret"), region: "us-east-1", service: "kms")
        #expect(throws: SigV4.VerificationError.invalidClientTokenID) {
            try other.verify(SigV4.Request(method: "POST", headers: headers, body: body), now: now)
        }
        #expect(throws: SigV4.VerificationError.incompleteSignature) {
            try signer.verify(SigV4.Request(method: "POST", headers: [("Host", "localhost")], body: body), now: now)
        }
    }
}
