import Foundation
@testable import RewrapCrypto
import RewrapWire
import Testing

/// The encoders that now have one implementation each: base64 (PEM armor is RewrapWire's encoder
/// in 64-character lines), hex (`Hex`), and the algorithm list every message is derived from.
@Suite struct SharedEncodingTests {
    /// PEM armor against Foundation's line-wrapped base64, for every length around the 48-byte
    /// line boundary (the same bytes the old hand-written encoder produced).
    @Test func pemArmorMatchesFoundation() {
        for count in [0, 1, 2, 3, 47, 48, 49, 95, 96, 97, 91, 120, 158, 294, 300] {
            let der = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let body = Data(der).base64EncodedString(options: .lineLength64Characters).replacingOccurrences(of: "\r\n", with: "\n")
            let expected = "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----\n"
            #expect(pemArmor(der, label: "PUBLIC KEY") == expected, "\(count) bytes")
        }
    }

    /// An EC public key's PEM (built by `pemArmor`) parses back to the same key, with Go's layout.
    @Test(arguments: Curve.allCases)
    func ecPublicKeyPEMRoundTrips(_ curve: Curve) throws {
        let key = try PrivateKey.generate(.ec(curve)).publicKey
        let pem = try key.pem()
        let lines = pem.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "-----BEGIN PUBLIC KEY-----")
        #expect(lines.dropFirst().dropLast(2).allSatisfy { $0.count <= 64 })
        #expect(pem.hasSuffix("\n-----END PUBLIC KEY-----\n"))
        #expect(try PublicKey(pem: pem).spkiDER() == key.spkiDER())
    }

    @Test func hex() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xAB, 0xFF]
        #expect(Hex.lowercaseString(bytes) == "00017f80abff")
        #expect(bytes.withUnsafeBytes { Hex.lowercase($0) } == Array("00017f80abff".utf8))
        #expect((0..<16).map { Hex.digit(UInt8($0)) } == Array("0123456789abcdef".utf8))
        var text = Array("00017F80abFF".utf8)
        let count = text.count
        #expect(text.withUnsafeMutableBytes { Hex.decodeInPlace($0, count: count) })
        #expect(Array(text[0..<6]) == bytes)
    }

    /// The list in help texts and messages is `kasAlgorithms`, in order, spelled as parsed.
    @Test func algorithmList() {
        #expect(KeyAlgorithm.kasAlgorithmsListed == "rsa:2048, rsa:3072, rsa:4096, ec:secp256r1, ec:secp384r1 or ec:secp521r1")
        for algorithm in KeyAlgorithm.kasAlgorithms {
            #expect(KeyAlgorithm(algorithm.description) == algorithm)
        }
    }
}
