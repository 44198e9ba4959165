import Foundation
@testable import RewrapCrypto
import Testing

/// `canonicalECPublicKey(pem:)` (PEM.swift), the fast path of `PublicKey(pem:)`: it takes only the
/// canonical shape, decodes it to the same key OpenSSL's decoder gives, and leaves everything
/// else — including what it refuses — to the generic path, so no answer or error changes.
@Suite struct CanonicalECPEMTests {
    @Test(arguments: Curve.allCases)
    func theCanonicalShapeDecodesToTheSameKey(curve: Curve) throws {
        let key = try PrivateKey.generate(.ec(curve)).publicKey
        let pem = try key.pem()
        let fast = try #require(canonicalECPublicKey(pem: pem), "the canonical PEM takes the fast path")
        let decoded = PublicKey(sharing: fast.0, algorithm: .ec(fast.1))
        #expect(fast.1 == curve)
        #expect(try decoded.spkiDER() == key.spkiDER())
        // The generic path, forced by CRLF line ends, reads the same key.
        let crlf = pem.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(canonicalECPublicKey(pem: crlf) == nil)
        #expect(try PublicKey(pem: crlf).spkiDER() == key.spkiDER())
        #expect(try PublicKey(pem: pem).spkiDER() == key.spkiDER())
    }

    @Test func otherShapesTakeTheGenericPath() throws {
        let ec = try PrivateKey.generate(.ec(.p256)).publicKey.pem()
        let rsa = try PrivateKey.generate(.rsa2048).publicKey.pem()
        #expect(canonicalECPublicKey(pem: rsa) == nil)
        #expect(canonicalECPublicKey(pem: "text before\n" + ec) == nil)
        #expect(canonicalECPublicKey(pem: ec + ec) == nil, "two blocks")
        #expect(canonicalECPublicKey(pem: ec.replacingOccurrences(of: "PUBLIC KEY", with: "EC PUBLIC KEY")) == nil)
        // Both still parse (or not) exactly as OpenSSL's reader decides.
        #expect(try PublicKey(pem: rsa).algorithm == .rsa2048)
        #expect(try PublicKey(pem: "text before\n" + ec).algorithm == .ec(.p256))
    }

    /// A point off the curve in the canonical shape: not decoded by the fast path, and refused by
    /// the generic one with its usual error.
    @Test func anOffCurvePointIsRefusedAsBefore() throws {
        let key = try PrivateKey.generate(.ec(.p256)).publicKey
        var der = Curve.p256.uncompressedSPKIPrefix + (try key.ecPoint())
        der[der.count - 1] ^= 0x01
        let pem = pemArmor(der, label: "PUBLIC KEY")
        #expect(canonicalECPublicKey(pem: pem) == nil)
        #expect(throws: CryptoError.invalidKey("the PUBLIC KEY block is not a valid SubjectPublicKeyInfo")) { try PublicKey(pem: pem) }
    }
}
