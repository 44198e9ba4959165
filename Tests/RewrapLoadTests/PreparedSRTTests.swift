import RewrapCrypto
import Testing
@testable import RewrapAuth
@testable import RewrapLoad

/// `PreparedSRT` (PreparedRequest.swift): tokens made from a prepared payload head are ordinary
/// SRTs to the KAS's own reader, for every length of request body (the padding to a multiple of
/// three bytes must hold whatever the length).
@Suite struct PreparedSRTTests {
    @Test func preparedTokensReadBackAsTheRequestBody() throws {
        let key = try PrivateKey.generate(.ec(.p256))
        let proofKey = ProofKey(key: key.publicKey, thumbprint: try key.publicKey.jwkThumbprint(), algorithm: .es256)
        for length in 0..<7 {
            let body = #"{"clientPublicKey":"a\"b\\c\u{e9}"# + String(repeating: "x", count: length) + #"","requests":[]}"#
            let prepared = PreparedSRT(requestBody: body, key: key, algorithm: .es256)
            let token = try prepared.token(issuedAt: 1_700_000_000)
            let read = try SignedRequestToken.requestBody(from: token, proofKey: proofKey, now: 1_700_000_010)
            #expect(read == Array(body.utf8), "length \(length)")
            // Expired past its 60 s lifetime and the skew, as a KAS judges it.
            #expect(throws: SignedRequestTokenError.unableToVerify) {
                try SignedRequestToken.requestBody(from: token, proofKey: proofKey, now: 1_700_000_000 + 121)
            }
        }
        // Signed by another key: refused.
        let other = try PrivateKey.generate(.ec(.p256))
        let forged = try PreparedSRT(requestBody: "{}", key: other, algorithm: .es256).token(issuedAt: 1_700_000_000)
        #expect(throws: SignedRequestTokenError.unableToVerify) {
            try SignedRequestToken.requestBody(from: forged, proofKey: proofKey, now: 1_700_000_000)
        }
    }
}
