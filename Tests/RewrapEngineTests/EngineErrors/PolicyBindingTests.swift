import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// The policy binding: present, strict base64, HMAC of the DEK over the policy text.
    @Suite struct PolicyBindingTests: EngineErrorSuite {
        @Test func missingPolicyBinding() async throws {
            for algorithm in [KeyAlgorithm.rsa2048, .ecP256] {
                var (kao, _) = try makeKAO(algorithm)
                kao.policyBinding = nil
                #expect(try await Self.single(kao).error == Self.invalidArgument("missing policy binding"), "\(algorithm)")
            }
        }

        @Test(arguments: [
            "not base64!",
            "",  // present but empty: decodes to nothing, cannot match
            "MTk0OWQ0ZjUwYWY5YzE1ZDM1NWVkZjE5YTQ5MGM1N2M3ZmZmZjUzYjk5MTJiZWU4NTFhYzlhNjdmZTZkZGQxMg",  // unpadded
            "MTk0OWQ0ZjUwYWY5YzE1ZDM1NWVkZjE5YTQ5MGM1N2M3ZmZmZjUzYjk5MTJiZWU4NTFhYzlhNjdmZTZkZGQxMg=-",
        ])
        func policyBindingNotStrictBase64(_ hash: String) async throws {
            var (kao, _) = try makeKAO(.rsa2048)
            kao.policyBinding = PolicyBinding(hash: hash)
            #expect(try await Self.single(kao).error == Self.badRequest)
        }

        /// HMAC-SHA256(DEK, policy text), computed with the crypto layer directly.
        static func rawHMAC(_ dek: SecureBytes, policy: String = Fixtures.vectors.policy) throws -> [UInt8] {
            let mac = SecureBytes(count: 32)
            try dek.withUnsafeBytes { (key) throws(CryptoError) in
                try withBytes(Array(policy.utf8)) { (message) throws(CryptoError) in
                    try CryptoWorker().hmacSHA256(key: key, message: message, into: mac.slice(0..<32))
                }
            }
            return mac.copyBytes()
        }

        /// The binding hash is strict standard base64: a raw-form binding that needs `+` or `/`
        /// is refused in the URL-safe alphabet. (The hex form never contains `+` or `/`: base64 of
        /// `[0-9a-f]` only yields sextets below 62.)
        @Test func policyBindingInURLSafeAlphabetIsBadRequest() async throws {
            for _ in 0..<200 {
                let dek = try TDFWriter.makeDEK()
                var kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: Fixtures.kas(.rsa2048))
                let standard = Base64.encode(try Self.rawHMAC(dek))
                let urlSafe = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                guard urlSafe != standard else { continue }
                kao.policyBinding = PolicyBinding(hash: standard)
                #expect(try await Self.single(kao).status == "permit")
                kao.policyBinding = PolicyBinding(hash: urlSafe)
                #expect(try await Self.single(kao).error == Self.badRequest)
                return
            }
            Issue.record("no raw binding with + or / in 200 tries")
        }

        @Test func policyBindingMismatch() async throws {
            for algorithm in [KeyAlgorithm.rsa2048, .ecP256] {
                var (kao, _) = try makeKAO(algorithm)
                // Binding of another DEK; of the right DEK over another policy; a truncated hex form.
                let other = try TDFWriter().policyBinding(dek: try TDFWriter.makeDEK(), policyBase64: Fixtures.vectors.policy)
                kao.policyBinding = other
                #expect(try await Self.single(kao).error == Self.badRequest, "\(algorithm)")
            }
            let dek = try TDFWriter.makeDEK()
            var kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: Fixtures.kas(.rsa2048))
            kao.policyBinding = try TDFWriter().policyBinding(dek: dek, policyBase64: TDFWriter.policyBase64(attributes: []))
            #expect(try await Self.single(kao).error == Self.badRequest)
            let wrongHash = try #require(kao.policyBinding?.hash)
            let hexText = try #require(Base64.decode(wrongHash, options: .strictStandard))
            kao.policyBinding = PolicyBinding(hash: Base64.encode(hexText.prefix(62)))
            #expect(try await Self.single(kao).error == Self.badRequest)
        }

        /// The spec-text form, base64 of the raw 32-byte HMAC, is accepted (harmless superset), as
        /// is uppercase hex (Go's `hex.Decode` accepts it); `alg` is never checked.
        @Test func rawAndUppercaseBindingsAreAccepted() async throws {
            let dek = try TDFWriter.makeDEK()
            var kao = try TDFWriter().keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: Fixtures.kas(.rsa2048))
            let hexHash = try #require(kao.policyBinding?.hash)
            let hexText = try #require(Base64.decode(hexHash, options: .strictStandard))
            #expect(hexText.count == 64)
            let raw = hex(String(decoding: hexText, as: UTF8.self))
            #expect(raw.count == 32)
            // Independent check that the hex form is the HMAC: recompute with the crypto layer.
            #expect(try Self.rawHMAC(dek) == raw)

            for (label, hash, alg) in [
                ("raw 32 bytes", Base64.encode(raw), "HS256"),
                ("uppercase hex", Base64.encode(Array(String(decoding: hexText, as: UTF8.self).uppercased().utf8)), "HS256"),
                ("alg ignored", hexHash, ""),
            ] {
                kao.policyBinding = PolicyBinding(algorithm: alg, hash: hash)
                let response = try await engine().rewrap(makeRequest(client: Self.rsaClientPEM, kaos: [kao]))
                #expect(Self.opens(response, kao: "kao-0", to: dek.copyBytes()), "\(label)")
            }
        }
    }
}
