import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

extension EngineErrorTests {
    /// KAO shape: nil KAOs, empty wrapped keys, key types.
    @Suite struct KAOShapeTests: EngineErrorSuite {
        @Test func nilKeyAccessObject() async throws {
            let (good, dek) = try makeKAO(.rsa2048)
            let response = try await engine().rewrap(Self.request([("nil", nil), ("good", good)]))
            #expect(response.result(policyID: "policy", keyAccessObjectID: "nil")?.error
                == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = key access object is nil")
            #expect(Self.opens(response, kao: "good", to: dek))
        }

        @Test func emptyWrappedKey() async throws {
            for algorithm in [KeyAlgorithm.rsa2048, .ecP256] {
                var (kao, _) = try makeKAO(algorithm)
                kao.wrappedKey = []
                let result = try await Self.single(kao)
                #expect(result.error == Self.invalidArgument("wrapped key is empty"), "\(algorithm)")
            }
        }

        @Test func ecWrappedDisabled() async throws {
            let (ec, _) = try makeKAO(.ecP256)
            let (rsa, dek) = try makeKAO(.rsa2048)
            let e = engine { $0.ecWrappedEnabled = false }
            let response = try await e.rewrap(Self.request([("ec", ec), ("rsa", rsa)]))
            #expect(response.result(policyID: "policy", keyAccessObjectID: "ec")?.error == Self.invalidArgument("ec-wrapped not enabled"))
            #expect(Self.opens(response, kao: "rsa", to: dek))
        }

        @Test(arguments: ["hybrid-wrapped", "mlkem-wrapped"])
        func previewKeyTypesAreBadRequest(_ type: String) async throws {
            var (kao, _) = try makeKAO(.rsa2048)
            kao.keyType = type
            #expect(try await Self.single(kao).error == Self.badRequest)
        }

        @Test(arguments: ["", "eccWrapped", "remote", "WRAPPED", "wrapped "])
        func unknownKeyType(_ type: String) async throws {
            var (kao, _) = try makeKAO(.rsa2048)
            kao.keyType = type
            #expect(try await Self.single(kao).error == Self.invalidArgument("unsupported key type"), "\(type)")
        }
    }
}
