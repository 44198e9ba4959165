import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapTestSupport
import RewrapWire

/// What suites checking per-KAO results share: the exact wire strings of spec §4.4 (the Go SDK
/// classifies them by substring), spelled out independently of `KAOError` so a change in the
/// engine's rendering fails the tests, and helpers to build requests and open results. A suite
/// conforms to reach them as `Self.badRequest`, `Self.single(…)`.
public protocol RewrapExpectations {}

/// Parsed once: the protocol extension cannot hold stored properties. (`@usableFromInline`:
/// public default arguments name them.)
@usableFromInline enum Stored {
    @usableFromInline static let rsaClientPEM = Fixtures.pem("client-rsa2048", "public")
    @usableFromInline static let rsaClient = Fixtures.privateKey("client-rsa2048")
}

/// `single` found no result for its KAO.
public struct MissingResult: Error, CustomStringConvertible {
    public var description: String { "the response has no result for policy/kao-0" }
}

extension RewrapExpectations {
    // MARK: Expected wire strings (spec §4.4)

    public static func invalidArgument(_ desc: String) -> String {
        "invalid_argument: request error\nrpc error: code = InvalidArgument desc = \(desc)"
    }

    public static func permissionDenied(_ desc: String) -> String {
        "permission_denied: request error\nrpc error: code = PermissionDenied desc = \(desc)"
    }

    public static func internalError(_ desc: String) -> String {
        "internal: internal error\nrpc error: code = Internal desc = \(desc)"
    }

    public static var badRequest: String { "invalid_argument: request error\nrpc error: code = InvalidArgument desc = bad request" }
    public static var forbidden: String { "permission_denied: request error\nrpc error: code = PermissionDenied desc = forbidden" }
    public static var invalidRequest: String { invalidArgument("invalid request") }

    // MARK: Keys and names

    public static var rsaClientPEM: String { Stored.rsaClientPEM }
    public static var rsaClient: PrivateKey { Stored.rsaClient }
    public static var attributeFQN: String { "https://example.com/attr/classification/value/secret" }
    public static var obligationFQN: String { "https://example.com/obl/drm/value/watermark" }

    public static var secp256k1PublicPEM: String { OddKeys.secp256k1PublicPEM }
    public static var rsa512PublicPEM: String { OddKeys.rsa512PublicPEM }
    public static var ed25519PublicPEM: String { OddKeys.ed25519PublicPEM }
    public static var certificatePEM: String { OddKeys.certificatePEM }

    // MARK: Requests and results

    /// One policy, the given (id, KAO) entries, KAOs possibly nil.
    public static func request(
        client: String = Stored.rsaClientPEM, policy: String = Fixtures.vectors.policy, policyID: String = "policy",
        _ entries: [(String, KeyAccess?)]
    ) -> UnsignedRewrapRequest {
        UnsignedRewrapRequest(
            clientPublicKey: client,
            requests: [.init(keyAccessObjects: entries.map { .init(keyAccessObjectId: $0.0, keyAccessObject: $0.1) },
                             policy: .init(id: policyID, body: policy))])
    }

    /// The result of a one-KAO request.
    public static func single(
        _ kao: KeyAccess?, policy: String = Fixtures.vectors.policy, client: String = Stored.rsaClientPEM,
        engine rewrapEngine: RewrapEngine = engine()
    ) async throws -> KeyAccessRewrapResult {
        let response = try await rewrapEngine.rewrap(request(client: client, policy: policy, [("kao-0", kao)]))
        guard let result = response.result(policyID: "policy", keyAccessObjectID: "kao-0") else { throw MissingResult() }
        return result
    }

    /// Whether `kao` of `policy` in `response` opens to exactly `dek` (compared without printing it).
    public static func opens(
        _ response: RewrapResponse, policy: String = "policy", kao: String, to dek: [UInt8], with client: PrivateKey = Stored.rsaClient
    ) -> Bool {
        guard let opened = try? TDFWriter().unwrap(response, policyID: policy, keyAccessObjectID: kao, clientPrivateKey: client)
        else { return false }
        return opened.copyBytes() == dek
    }

    public static func kasKey(_ key: PrivateKey, kid: String) -> TDFWriter.KASPublicKey {
        TDFWriter.KASPublicKey(kid: kid, key: key.publicKey)
    }

    /// A KAO for a fresh DEK wrapped to any public key.
    public static func kao(to kas: TDFWriter.KASPublicKey, policy: String = Fixtures.vectors.policy, includeKid: Bool = true)
        throws -> (KeyAccess, [UInt8]) {
        let dek = try TDFWriter.makeDEK()
        let kao = try TDFWriter().keyAccess(dek: dek, policyBase64: policy, kas: kas, includeKid: includeKid)
        return (kao, dek.copyBytes())
    }
}
