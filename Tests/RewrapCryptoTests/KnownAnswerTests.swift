import RewrapCrypto
import RewrapTestSupport
import Testing

/// The crypto layer's constants against the known-answer vectors (pyca/cryptography).
@Suite struct KnownAnswerTests {
    @Test func saltIsSHA256OfTDF() {
        #expect(hexString(CryptoPrimitives.tdfSalt) == "aa17cf44585fe15fd634c27b9512d842b42af1bac6178d92161edb4e2abf8197")
        #expect(hexString(CryptoPrimitives.tdfSalt) == Fixtures.vectors.salt)
    }
}
