import Foundation
@testable import RewrapCrypto
import RewrapTestSupport
import Testing

@Suite struct CryptoTests {
    /// RFC 5869 test case 1 (HKDF-SHA256), through the hand-rolled HKDF on a reused HMAC context.
    @Test func hkdfRFC5869() throws {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        let salt = hex("000102030405060708090a0b0c")
        let info = hex("f0f1f2f3f4f5f6f7f8f9")
        var out = [UInt8](repeating: 0, count: 32)
        let worker = CryptoWorker()
        try withBytes(ikm) { (i) throws(CryptoError) in
            try withBytes(salt) { (s) throws(CryptoError) in
                try withBytes(info) { (n) throws(CryptoError) in
                    let r: Result<Void, CryptoError> = out.withUnsafeMutableBytes { o in
                        Result { () throws(CryptoError) in try worker.hkdfSHA256(inputKeyMaterial: i, salt: s, info: n, into: o) }
                    }
                    try r.get()
                }
            }
        }
        #expect(hexString(out) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
        #expect(out == (try CryptoPrimitives.referenceHKDFSHA256(ikm: ikm, salt: salt, info: info, length: 32)))
    }

    @Test func hkdfMatchesOpenSSLKDFOnRandomInputs() throws {
        let worker = CryptoWorker()
        for length in [32, 48, 66] {
            let ikm = try CryptoPrimitives.randomBytes(count: length)
            var out = [UInt8](repeating: 0, count: 32)
            try withBytes(ikm) { (i) throws(CryptoError) in
                try withBytes(CryptoPrimitives.tdfSalt) { (s) throws(CryptoError) in
                    let r: Result<Void, CryptoError> = out.withUnsafeMutableBytes { o in
                        Result { () throws(CryptoError) in try worker.hkdfSHA256(inputKeyMaterial: i, salt: s, into: o) }
                    }
                    try r.get()
                }
            }
            #expect(out == (try CryptoPrimitives.referenceHKDFSHA256(ikm: ikm, salt: CryptoPrimitives.tdfSalt, info: [], length: 32)))
        }
    }

    /// RFC 4231 test case 2.
    @Test func hmacRFC4231() throws {
        var out = [UInt8](repeating: 0, count: 32)
        let worker = CryptoWorker()
        try withBytes(Array("Jefe".utf8)) { (k) throws(CryptoError) in
            try withBytes(Array("what do ya want for nothing?".utf8)) { (m) throws(CryptoError) in
                let r: Result<Void, CryptoError> = out.withUnsafeMutableBytes { o in
                    Result { () throws(CryptoError) in try worker.hmacSHA256(key: k, message: m, into: o) }
                }
                try r.get()
            }
        }
        #expect(hexString(out) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func gcmRoundTripAndTamper() throws {
        let worker = CryptoWorker()
        let key = try CryptoPrimitives.randomBytes(count: 32)
        let nonce = try CryptoPrimitives.randomBytes(count: 12)
        let plaintext = try CryptoPrimitives.randomBytes(count: 32)
        var sealed = [UInt8](repeating: 0, count: 60)
        try withBytes(key) { (k) throws(CryptoError) in
            try withBytes(nonce) { (n) throws(CryptoError) in
                try withBytes(plaintext) { (p) throws(CryptoError) in
                    let r: Result<Void, CryptoError> = sealed.withUnsafeMutableBytes { o in
                        Result { () throws(CryptoError) in try worker.aesGCMSeal(key: k, nonce: n, plaintext: p, into: o) }
                    }
                    try r.get()
                }
            }
        }
        #expect(Array(sealed[0..<12]) == nonce)
        func open(_ box: [UInt8]) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: box.count - 28)
            let ok = key.withUnsafeBytes { k in
                box.withUnsafeBytes { b in out.withUnsafeMutableBytes { o in (try? worker.aesGCMOpen(key: k, sealed: b, into: o)) != nil } }
            }
            return ok ? out : nil
        }
        #expect(open(sealed) == plaintext)
        for position in [0, 11, 12, 43, 44, 59] {
            var tampered = sealed
            tampered[position] ^= 0x01
            #expect(open(tampered) == nil, "flip at \(position)")
        }
    }

    @Test func rsaOAEPRoundTripAllSizes() throws {
        let worker = CryptoWorker()
        for name in ["kas-rsa2048", "kas-rsa3072", "kas-rsa4096"] {
            let key = Fixtures.privateKey(name)
            let message = try CryptoPrimitives.randomBytes(count: 32)
            let ciphertext = try withBytes(message) { (m) throws(CryptoError) in try worker.rsaOAEPEncrypt(m, to: key.publicKey) }
            guard case .rsa(let bits) = key.algorithm else { Issue.record("not RSA"); continue }
            #expect(ciphertext.count == bits / 8)
            var out = [UInt8](repeating: 0, count: 32)
            let length = ciphertext.withUnsafeBytes { c in out.withUnsafeMutableBytes { o in try? worker.rsaOAEPDecrypt(c, with: key, into: o) } }
            #expect(length == 32)
            #expect(out == message)
        }
    }

    @Test func privateKeyFormats() throws {
        #expect(Fixtures.privateKey("kas-rsa2048-pkcs1").algorithm == .rsa2048)
        #expect(Fixtures.privateKey("kas-secp384r1").algorithm == .ecP384)
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBfe8y0S0R8BB0C2uU5BCo2N0tPYy7fJvbS8QfKH5Gl5oAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n"
        #expect(throws: CryptoError.invalidKey("EC private keys must be PKCS#8 (\"BEGIN PRIVATE KEY\"), not SEC1")) {
            try PrivateKey(pem: sec1)
        }
        #expect(throws: CryptoError.invalidKey("expected a PRIVATE KEY PEM block, found PUBLIC KEY")) {
            try PrivateKey(pem: Fixtures.pem("kas-rsa2048", "public"))
        }
        #expect(throws: CryptoError.invalidKey("no PEM block found")) { try PrivateKey(pem: "not a pem") }
    }

    @Test func generatedPEMsRoundTrip() throws {
        for algorithm in [KeyAlgorithm.ecP256, .ecP384, .ecP521] {
            let key = try PrivateKey.generate(algorithm)
            let pem = try key.publicKey.pem()
            let parsed = try PublicKey(pem: pem)
            #expect(try parsed.spkiDER() == key.publicKey.spkiDER())
            let reparsed = try PrivateKey(pem: key.pkcs8PEM())
            #expect(try reparsed.publicKey.spkiDER() == key.publicKey.spkiDER())
        }
    }

    /// The hot path matches SPKI prefixes byte for byte; they must be what OpenSSL emits.
    @Test func spkiPrefixesMatchOpenSSL() throws {
        for curve in Curve.allCases {
            let key = try PrivateKey.generate(.ec(curve)).publicKey
            let der = try key.spkiDER()
            #expect(Array(der.prefix(curve.uncompressedSPKIPrefix.count)) == curve.uncompressedSPKIPrefix, "\(curve)")
            #expect(der.count == curve.uncompressedSPKIPrefix.count + curve.uncompressedPointByteCount)
            // The compressed form parses through OpenSSL's SPKI decoder to the same key.
            let compressed = curve.compressedSPKIPrefix + (try key.ecPoint(compressed: true))
            let parsed = try compressed.withUnsafeBytes { (d) throws(CryptoError) in try PublicKey(spkiDER: d) }
            #expect(try parsed.ecPoint() == key.ecPoint())
        }
    }

    @Test func invalidPointsAreRejected() throws {
        for curve in Curve.allCases {
            let valid = try PrivateKey.generate(.ec(curve)).publicKey.ecPoint()
            var offCurve = valid
            offCurve[offCurve.count - 1] ^= 0x01  // y no longer matches x
            let identity: [UInt8] = [0x00]
            let xOnlyGarbage = [UInt8(0x02)] + [UInt8](repeating: 0xFF, count: curve.coordinateByteCount)  // x ≥ p
            let otherCurve = try PrivateKey.generate(.ec(curve == .p256 ? .p384 : .p256)).publicKey.ecPoint()
            var hybrid = valid
            hybrid[0] = 0x06 | (valid.last! & 1)  // SEC1 hybrid form: valid for OpenSSL, not for OpenTDF
            let kas = try PrivateKey.generate(.ec(curve))
            let worker = CryptoWorker()
            let bad = [("off-curve", offCurve), ("identity", identity), ("x ≥ p", xOnlyGarbage),
                       ("other curve", otherCurve), ("empty", []), ("hybrid", hybrid)]
            for (name, point) in bad {
                #expect(throws: CryptoError.invalidPoint, "\(curve) \(name)") {
                    try withBytes(point) { (p) throws(CryptoError) in _ = try PublicKey(ecPoint: p, curve: curve) }
                }
                // And on the ECDH hot path, which must leave no secret behind in its output.
                let out = SecureBytes(count: curve.coordinateByteCount)
                #expect(throws: CryptoError.invalidPoint, "ECDH \(curve) \(name)") {
                    try withBytes(point) { (p) throws(CryptoError) in try worker.ecdh(kas, peerPoint: p, into: out.slice(0..<out.count)) }
                }
                #expect(out.copyBytes().allSatisfy { $0 == 0 })
            }
            // The worker still works after refusing them.
            let out = SecureBytes(count: curve.coordinateByteCount), expected = SecureBytes(count: curve.coordinateByteCount)
            let peer = try PrivateKey.generate(.ec(curve))
            try withBytes(try peer.publicKey.ecPoint()) { (p) throws(CryptoError) in
                try worker.ecdh(kas, peerPoint: p, into: out.slice(0..<out.count))
            }
            try worker.ecdh(kas, peer: peer.publicKey, into: expected.slice(0..<expected.count))
            #expect(out.copyBytes() == expected.copyBytes())
        }
    }

    @Test func ecdhAgreesBothWays() throws {
        let worker = CryptoWorker()
        for curve in Curve.allCases {
            let a = try PrivateKey.generate(.ec(curve)), b = try PrivateKey.generate(.ec(curve))
            var ab = [UInt8](repeating: 0, count: curve.coordinateByteCount), ba = ab, viaPoint = ab
            let point = try b.publicKey.ecPoint(compressed: true)
            _ = ab.withUnsafeMutableBytes { try? worker.ecdh(a, peer: b.publicKey, into: $0) }
            _ = ba.withUnsafeMutableBytes { try? worker.ecdh(b, peer: a.publicKey, into: $0) }
            _ = point.withUnsafeBytes { p in viaPoint.withUnsafeMutableBytes { try? worker.ecdh(a, peerPoint: p, into: $0) } }
            #expect(ab == ba)
            #expect(ab == viaPoint)
            #expect(ab != [UInt8](repeating: 0, count: ab.count))
        }
    }

    @Test func secureBytesWipe() {
        let secret = SecureBytes(copying: [1, 2, 3, 4])
        secret.wipe()
        #expect(secret.copyBytes() == [0, 0, 0, 0])
    }
}
