import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapTestSupport
import RewrapWire

extension Fixtures {
    /// The writer's view of `algorithm`'s fixture KAS key (kid = the algorithm string).
    public static func kas(_ algorithm: KeyAlgorithm) -> TDFWriter.KASPublicKey {
        TDFWriter.KASPublicKey(kid: algorithm.description, key: publicKey(kasKeyName(algorithm)))
    }
}

/// A request with one policy and the given KAOs, as the Go SDK would send it.
public func makeRequest(client: String, policy: String = Fixtures.vectors.policy, kaos: [KeyAccess], policyID: String = "policy")
    -> UnsignedRewrapRequest {
    RewrapRequestBuilder.request(clientPublicKeyPEM: client, policies: [(id: policyID, body: policy, kaos: kaos)])
}

/// A KAO for a fresh DEK wrapped to `algorithm`'s fixture KAS key; returns the DEK too.
public func makeKAO(_ algorithm: KeyAlgorithm, policy: String = Fixtures.vectors.policy, includeKid: Bool = true)
    throws -> (KeyAccess, [UInt8]) {
    let dek = try TDFWriter.makeDEK()
    let kao = try TDFWriter().keyAccess(dek: dek, policyBase64: policy, kas: Fixtures.kas(algorithm), includeKid: includeKid)
    return (kao, dek.copyBytes())
}

/// An engine over `keys` (the fixture keys unless given), denying attributed policies unless
/// another authorizer is given.
public func engine(
    _ keys: any KeySource = TestKeySource.fixtures, authorizer: any RewrapAuthorizer = DenyAttributedPolicies(),
    configure: (inout RewrapConfiguration) -> Void = { _ in }
) -> RewrapEngine {
    var configuration = RewrapConfiguration()
    configure(&configuration)
    return RewrapEngine(keys: keys, authorizer: authorizer, configuration: configuration)
}
