import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

/// Writer → engine → client, for every KAS key algorithm × client key algorithm, through Swift
/// values and through JSON, sequentially and across worker threads.
@Suite struct RoundTripTests {
    static let clientAlgorithms: [KeyAlgorithm] = [.rsa2048, .ecP256, .ecP384, .ecP521]
    static let pairs: [(KeyAlgorithm, KeyAlgorithm)] = KeyAlgorithm.kasAlgorithms.flatMap { kas in
        clientAlgorithms.map { (kas, $0) }
    }

    @Test(arguments: pairs)
    func everyAlgorithmPair(kas: KeyAlgorithm, client: KeyAlgorithm) async throws {
        let clientKey = Fixtures.privateKey(Fixtures.clientKeyName(client))
        var kaos: [KeyAccess] = []
        var deks: [[UInt8]] = []
        for _ in 0..<3 {
            let (kao, dek) = try makeKAO(kas)
            kaos.append(kao)
            deks.append(dek)
        }
        let request = makeRequest(client: try clientKey.publicKey.pem(), kaos: kaos)
        let response = try await engine().rewrap(request)
        #expect(response.sessionPublicKey.isEmpty == client.isRSA, "sessionPublicKey only for EC clients")
        let writer = TDFWriter()
        for index in kaos.indices {
            let result = try #require(response.result(policyID: "policy", keyAccessObjectID: "kao-\(index)"))
            #expect(result.status == "permit", "\(kas) → \(client): \(result.error ?? "")")
            #expect(result.requiredObligations == [])
            let dek = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: clientKey)
            #expect(dek.copyBytes() == deks[index], "\(kas) → \(client)")
        }
        if !client.isRSA {
            // One session key per request: a second request gets another.
            let again = try await engine().rewrap(request)
            #expect(again.sessionPublicKey != response.sessionPublicKey)
        }
    }

    @Test(arguments: [KeyAlgorithm.rsa2048, .ecP256])
    func throughJSON(kas: KeyAlgorithm) async throws {
        let clientKey = Fixtures.privateKey("client-secp256r1")
        let (kao, dek) = try makeKAO(kas)
        let body = RewrapRequestBuilder.json(makeRequest(client: try clientKey.publicKey.pem(), kaos: [kao]))
        let responseJSON = try await engine().rewrap(json: body)
        let response = try ProtoJSON.decode(RewrapResponse.self, from: responseJSON)
        let opened = try TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: "kao-0", clientPrivateKey: clientKey)
        #expect(opened.copyBytes() == dek)
    }

    /// A large mixed batch spread over several threads, while other requests run concurrently:
    /// every DEK comes back to the KAO it belongs to.
    @Test func largeMixedBatchesInParallel() async throws {
        let rsaClient = Fixtures.privateKey("client-rsa2048")
        let ecClient = Fixtures.privateKey("client-secp256r1")
        let algorithms: [KeyAlgorithm] = [.rsa2048, .ecP256, .ecP384, .rsa3072, .ecP521]
        var kaos: [KeyAccess] = []
        var deks: [[UInt8]] = []
        for index in 0..<60 {
            let (kao, dek) = try makeKAO(algorithms[index % algorithms.count])
            kaos.append(kao)
            deks.append(dek)
        }
        let engine = engine { $0.maxConcurrency = 4 }
        let requests = [rsaClient, ecClient].map { client in makeRequest(client: try! client.publicKey.pem(), kaos: kaos) }
        try await withThrowingTaskGroup(of: (Int, RewrapResponse).self) { group in
            for round in 0..<6 {
                group.addTask { (round % 2, try await engine.rewrap(requests[round % 2])) }
            }
            let writer = TDFWriter()
            for try await (which, response) in group {
                let client = which == 0 ? rsaClient : ecClient
                for index in kaos.indices {
                    let dek = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: client)
                    #expect(dek.copyBytes() == deks[index], "KAO \(index)")
                }
            }
        }
    }

    /// Policies and KAOs come back in request order, one result per KAO, ids echoed.
    @Test func resultsKeepRequestOrder() async throws {
        let client = Fixtures.privateKey("client-rsa2048")
        var policies: [(id: String, body: String, kaos: [KeyAccess])] = []
        for p in 0..<4 {
            let body = TDFWriter.policyBase64()
            var kaos: [KeyAccess] = []
            for _ in 0..<(p + 1) { kaos.append(try makeKAO(.ecP256, policy: body).0) }
            policies.append((id: "policy-\(p)", body: body, kaos: kaos))
        }
        let request = RewrapRequestBuilder.request(clientPublicKeyPEM: try client.publicKey.pem(), policies: policies)
        let response = try await engine { $0.maxConcurrency = 3 }.rewrap(request)
        #expect(response.responses.map(\.policyId) == ["policy-0", "policy-1", "policy-2", "policy-3"])
        for (p, result) in response.responses.enumerated() {
            #expect(result.results.map(\.keyAccessObjectId) == (0...p).map { "kao-\($0)" })
            #expect(result.results.allSatisfy { $0.status == "permit" })
        }
    }
}
