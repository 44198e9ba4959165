import Foundation
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Synchronization
import Testing

/// Spec §4.4, one test per engine row: the exact per-KAO `error` strings (the Go SDK classifies
/// them by substring) and the top-level `RewrapRequestError`s. Expected strings are spelled out
/// independently of `KAOError` (`RewrapExpectations`), so a change in the engine's rendering
/// fails these tests. One nested suite per concept, one file each (`EngineErrors/`).
@Suite struct EngineErrorTests {
    /// Permits policies whose first attribute contains "allow"; obligations per FQN.
    struct ByAttributeAuthorizer: RewrapAuthorizer {
        var obligations: [String: [String]] = [:]
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            request.resources.map { resource in
                let fqn = resource.attributeFQNs.first ?? ""
                return AuthorizationDecision(permitted: fqn.contains("allow"), requiredObligations: obligations[fqn] ?? [])
            }
        }
    }

    struct ThrowingAuthorizer: RewrapAuthorizer {
        let error: AuthorizationError
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            throw error
        }
    }

    /// Returns fewer decisions than resources.
    struct ShortAuthorizer: RewrapAuthorizer {
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            [.permit]
        }
    }

    final class RecordingAuthorizer: RewrapAuthorizer {
        let calls = Mutex<[AuthorizationRequest]>([])
        func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
            calls.withLock { $0.append(request) }
            return Array(repeating: .permit, count: request.resources.count)
        }
        var recorded: [AuthorizationRequest] { calls.withLock { $0 } }
    }

}

/// The engine-error suites: the shared expectations plus helpers that check as they build.
protocol EngineErrorSuite: RewrapExpectations {}

extension EngineErrorSuite {
    /// PEM text for a DER blob, 64-character lines, as Go writes it.
    static func pemWrap(_ der: [UInt8], label: String = "PUBLIC KEY") -> String {
        var lines: [Substring] = []
        var rest = Substring(Base64.encode(der))
        while !rest.isEmpty {
            lines.append(rest.prefix(64))
            rest = rest.dropFirst(64)
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }

    /// A P-256 SPKI whose point is not on the curve (last byte of Y flipped).
    static func offCurveP256SPKI() throws -> [UInt8] {
        var der = try PrivateKey.generate(.ecP256).publicKey.spkiDER()
        #expect(der.count == 91)
        der[der.count - 1] ^= 0x01
        return der
    }

    /// A well-formed DER SPKI claiming P-256 but carrying a 97-byte P-384 point.
    static func p384PointUnderP256Header() throws -> [UInt8] {
        let point = try PrivateKey.generate(.ecP384).publicKey.ecPoint()
        #expect(point.count == 97)
        return hex("3079" + "301306072a8648ce3d020106082a8648ce3d030107" + "036200") + point
    }

    /// The request-level error `body` throws, nil if it succeeds.
    static func rewrapError(_ body: () async throws -> Void) async -> RewrapRequestError? {
        do {
            try await body()
            return nil
        } catch let error as RewrapRequestError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }
}
