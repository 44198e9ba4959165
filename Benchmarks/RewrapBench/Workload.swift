import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapKeyManagement
import RewrapWire

/// Requests generated as the OpenTDF Go SDK writes them, with the DEKs kept to check that every
/// rewrapped key opens to the right value.
struct Workload: Sendable {
    let algorithm: KeyAlgorithm
    let clientAlgorithm: KeyAlgorithm
    let batch: Int
    let clientKey: PrivateKey
    let requests: [UnsignedRewrapRequest]
    /// deks[r][k]: DEK of KAO k of request r.
    let deks: [[[UInt8]]]

    static let variants = 4

    init(algorithm: KeyAlgorithm, clientAlgorithm: KeyAlgorithm, batch: Int, kasKey: PrivateKey, clientKey: PrivateKey) throws {
        self.algorithm = algorithm
        self.clientAlgorithm = clientAlgorithm
        self.batch = batch
        self.clientKey = clientKey
        let writer = TDFWriter()
        let kas = TDFWriter.KASPublicKey(kid: Workload.kid(algorithm), key: kasKey.publicKey)
        let clientPEM = try clientKey.publicKey.pem()
        var requests: [UnsignedRewrapRequest] = []
        var deks: [[[UInt8]]] = []
        for _ in 0..<Self.variants {
            let policy = TDFWriter.policyBase64()
            var kaos: [KeyAccess] = []
            var keys: [[UInt8]] = []
            for _ in 0..<batch {
                let dek = try TDFWriter.makeDEK()
                kaos.append(try writer.keyAccess(dek: dek, policyBase64: policy, kas: kas))
                keys.append(dek.copyBytes())
            }
            requests.append(RewrapRequestBuilder.request(
                clientPublicKeyPEM: clientPEM, policies: [(id: "policy", body: policy, kaos: kaos)]))
            deks.append(keys)
        }
        self.requests = requests
        self.deks = deks
    }

    static func kid(_ algorithm: KeyAlgorithm) -> String { "bench-\(algorithm)" }

    /// Rewraps every variant once and opens every result: `wrong` counts KAOs permitted with a
    /// DEK other than the one wrapped (must be 0 on every path), `failed` those that came back
    /// as errors (0 on local paths; KMS faults may cause some).
    func check(engine: RewrapEngine) async -> (wrong: Int, failed: Int) {
        let writer = TDFWriter()
        var wrong = 0
        var failed = 0
        for (index, request) in requests.enumerated() {
            guard let response = try? await engine.rewrap(request) else {
                failed += batch
                continue
            }
            for kao in 0..<batch {
                let id = "kao-\(kao)"
                guard response.result(policyID: "policy", keyAccessObjectID: id)?.status == "permit" else {
                    failed += 1
                    continue
                }
                let dek = try? writer.unwrap(response, policyID: "policy", keyAccessObjectID: id, clientPrivateKey: clientKey)
                if dek?.copyBytes() != deks[index][kao] { wrong += 1 }
            }
        }
        return (wrong, failed)
    }
}
